-- Foundation: users, sessions, API tokens, the audit log, login throttling and the cluster registry.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Server-side sessions; the cookie holds a random secret, the table only its SHA-256.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    address      text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user_idx ON sessions(user_id);

-- API tokens for integrations; only the SHA-256 of the secret is kept (hash index: one probe per request).
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    token_hash   bytea NOT NULL,
    prefix       text NOT NULL,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE UNIQUE INDEX api_tokens_hash_uidx ON api_tokens(token_hash);
CREATE INDEX api_tokens_user_idx ON api_tokens(user_id);

-- Failed logins, counted per account and per address to throttle guessing.
CREATE TABLE login_failures (
    id        bigserial PRIMARY KEY,
    username  text NOT NULL,
    address   text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username_idx ON login_failures(username, at);
CREATE INDEX login_failures_address_idx ON login_failures(address, at);

-- Every state-changing action. Never holds secrets.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    address     text
);
CREATE INDEX audit_log_at_idx ON audit_log(at);

-- The cluster registry. Credentials are AES-256-GCM ciphertext (see src/secrets.rs); every other
-- column is non-secret metadata. A cluster deleted without its history keeps its row (deleted_at set)
-- so scans and findings that reference it stay readable; its name is free to reuse.
CREATE TABLE clusters (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL,
    server_url         text NOT NULL,
    auth_kind          text NOT NULL,
    labels             jsonb NOT NULL DEFAULT '{}'::jsonb,
    cluster_group      text,
    enabled            boolean NOT NULL DEFAULT true,
    credentials        bytea NOT NULL,
    credentials_key_id text NOT NULL,
    insecure_skip_tls_verify boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    last_checked_at    timestamptz,
    last_reachable     boolean,
    last_server_version text,
    last_error         text
);
CREATE UNIQUE INDEX clusters_name_live_uidx ON clusters(name) WHERE deleted_at IS NULL;
CREATE INDEX clusters_labels_idx ON clusters USING gin (labels);
