-- Push mode (issue 14): a cluster the server cannot reach runs `palisade agent --mode cluster`,
-- which pushes its snapshot with the cluster's agent token. The server holds no credentials for
-- such a cluster and never connects to it; its scans judge the newest pushed snapshot.
ALTER TABLE clusters ADD COLUMN mode text NOT NULL DEFAULT 'pull' CHECK (mode IN ('pull', 'push'));
ALTER TABLE clusters ALTER COLUMN credentials DROP NOT NULL;
ALTER TABLE clusters ALTER COLUMN credentials_key_id DROP NOT NULL;
ALTER TABLE clusters ADD CONSTRAINT clusters_pull_has_credentials
    CHECK (mode = 'push' OR (credentials IS NOT NULL AND credentials_key_id IS NOT NULL));

-- Snapshots pushed by cluster agents, gzip-compressed JSON. A report id is accepted once; a report
-- collected before the cluster's newest is stale. The newest few are kept.
CREATE TABLE cluster_reports (
    cluster_id    uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    report_id     uuid NOT NULL,
    token_id      uuid REFERENCES agent_tokens(id) ON DELETE SET NULL,
    collected_at  timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    agent_version text NOT NULL,
    raw_bytes     bigint NOT NULL,
    gzip          bytea NOT NULL,
    PRIMARY KEY (cluster_id, report_id)
);
CREATE INDEX cluster_reports_newest_idx ON cluster_reports(cluster_id, collected_at DESC);
