-- A scan that crashed or hung every replica that ran it is failed as quarantined (issue 18).
ALTER TABLE scans ADD COLUMN quarantined boolean NOT NULL DEFAULT false;
