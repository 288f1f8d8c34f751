-- +goose Up
-- API keys: only the SHA-256 of a secret is stored. A rotated key keeps the hash of its
-- previous secret until previous_expires_at (the grace period a fleet needs to switch).
CREATE TABLE api_keys (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL,
    roles               text[] NOT NULL,
    stores              text[] NOT NULL DEFAULT '{}',
    secret_hash         text NOT NULL UNIQUE,
    previous_hash       text UNIQUE,
    previous_expires_at timestamptz,
    created_at          timestamptz NOT NULL,
    created_by          text NOT NULL,
    expires_at          timestamptz,
    revoked_at          timestamptz,
    rotated_at          timestamptz
);
-- A name is the caller's identity (idempotency keys are scoped by it): one live key each.
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;

-- Every change, written in the transaction of the change: who, what, when, which key.
-- Never a secret or its hash.
CREATE TABLE api_key_audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    actor_key_id uuid,
    action       text NOT NULL CHECK (action IN ('create', 'rotate', 'revoke')),
    key_id       uuid NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX api_key_audit_key ON api_key_audit (key_id, at);

-- Every change wakes every replica's key cache (LISTEN treue_api_keys); a poll is the
-- backstop for a notification lost with a connection.
-- +goose StatementBegin
CREATE FUNCTION api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('treue_api_keys', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER api_keys_changed AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION api_keys_notify();

-- +goose Down
DROP TABLE api_key_audit;
DROP TABLE api_keys;
DROP FUNCTION api_keys_notify();
