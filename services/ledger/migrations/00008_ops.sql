-- +goose Up

-- Manual adjustments of members' available balances, once per idempotency key (scoped to
-- the caller). The id is the id of the ledger transaction that booked it; who made it and
-- the balance before and after are kept with it (and in the audit log).
CREATE TABLE adjustments (
    id              uuid        PRIMARY KEY,
    member_id       uuid        NOT NULL REFERENCES members (id),
    direction       text        NOT NULL CHECK (direction IN ('credit', 'debit')),
    points          bigint      NOT NULL CHECK (points > 0),
    reason_code     text        NOT NULL,
    note            text        NOT NULL,
    balance_before  bigint      NOT NULL CHECK (balance_before >= 0),
    balance_after   bigint      NOT NULL CHECK (balance_after >= 0),
    actor           text        NOT NULL,
    key_id          text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    idempotency_key text        NOT NULL UNIQUE,
    request_hash    text        NOT NULL
);

-- The audit log read newest first, by everyone's changes or one actor's.
CREATE INDEX audit_log_recent ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC, id DESC);

-- The append-only triggers fire even for a session in replica mode
-- (session_replication_role = replica), which would otherwise skip them.
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_update;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

-- +goose Down
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;
DROP INDEX audit_log_actor;
DROP INDEX audit_log_recent;
DROP TABLE adjustments;
