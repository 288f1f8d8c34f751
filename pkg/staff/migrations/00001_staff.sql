-- +goose Up
-- Staff accounts for the web pages, their sessions and the failed sign-ins that lock an
-- account or a client address out. Tables are prefixed staff_ because the auth schema is
-- shared with the API key store, which keeps its own migration set.
CREATE TABLE staff_accounts (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
    roles         text[] NOT NULL CHECK (cardinality(roles) > 0),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- Only the SHA-256 of a session id is stored: a copy of this table signs no one in.
CREATE TABLE staff_sessions (
    id_hash      bytea PRIMARY KEY,
    username     text NOT NULL REFERENCES staff_accounts (username) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX staff_sessions_username ON staff_sessions (username);
CREATE INDEX staff_sessions_expires_at ON staff_sessions (expires_at);

-- Failed sign-ins per scope ('user' or 'ip') and key (a user name, known or not, or a
-- client address): in Postgres, so that every replica counts the same attempts.
CREATE TABLE staff_login_failures (
    scope        text NOT NULL CHECK (scope IN ('user', 'ip')),
    key          text NOT NULL,
    failures     integer NOT NULL,
    first_at     timestamptz NOT NULL,
    locked_until timestamptz,
    PRIMARY KEY (scope, key)
);

-- +goose Down
DROP TABLE staff_login_failures;
DROP TABLE staff_sessions;
DROP TABLE staff_accounts;
