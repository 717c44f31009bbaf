-- The port of a cluster's nodes' SSH servers for the agentless SSH probe (issue 14). NULL: the
-- server's [scheduler] ssh_port; 0: SSH is not probed for this cluster.
ALTER TABLE clusters ADD COLUMN ssh_port integer CHECK (ssh_port BETWEEN 0 AND 65535);
