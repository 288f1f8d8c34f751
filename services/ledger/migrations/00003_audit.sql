-- +goose Up

-- Every administrative change (rules, campaigns, tiers, balances, identifiers, consents):
-- who did it, through which key, when, what, and the object before and after. Append-only:
-- the triggers refuse to change or remove a row, whoever asks.
CREATE TABLE audit_log (
    id          uuid        PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    key_id      text        NOT NULL DEFAULT '',
    action      text        NOT NULL,
    object_kind text        NOT NULL,
    object_id   text        NOT NULL,
    before      jsonb,
    after       jsonb,
    note        text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_object ON audit_log (object_kind, object_id, id DESC);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
