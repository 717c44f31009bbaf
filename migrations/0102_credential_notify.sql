-- Tell every Palisade replica when a credential may have changed, so the in-memory credential
-- cache (src/web/auth/cache.rs) is cleared at once: a revoked token, a logged-out session, a
-- disabled user or a changed role stops working on every replica, whoever made the change.
CREATE FUNCTION palisade_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('palisade_credentials', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER users_credentials_changed
    AFTER UPDATE OF username, role, disabled, password_hash OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_credentials_changed();

CREATE TRIGGER api_tokens_credentials_changed
    AFTER UPDATE OF revoked_at, expires_at, role, user_id OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_credentials_changed();

CREATE TRIGGER sessions_credentials_changed
    AFTER UPDATE OF revoked_at, expires_at, user_id OR DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_credentials_changed();
