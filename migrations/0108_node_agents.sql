-- Node agents (issue 14). An agent token is scoped to ingest for one cluster: created and revoked
-- by an admin, shown once, only its SHA-256 kept.
CREATE TABLE agent_tokens (
    id           uuid PRIMARY KEY,
    cluster_id   uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX agent_tokens_cluster_idx ON agent_tokens(cluster_id, created_at DESC);

-- Each node's reports; a report id is accepted once (a retry or a replay is recognized). Scans read
-- each node's newest; older ones are pruned as new ones arrive.
CREATE TABLE node_reports (
    cluster_id   uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    report_id    uuid NOT NULL,
    node         text NOT NULL,
    token_id     uuid REFERENCES agent_tokens(id) ON DELETE SET NULL,
    collected_at timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    agent_version text NOT NULL,
    facts        jsonb NOT NULL,
    PRIMARY KEY (cluster_id, report_id)
);
CREATE INDEX node_reports_node_idx ON node_reports(cluster_id, node, collected_at DESC);
