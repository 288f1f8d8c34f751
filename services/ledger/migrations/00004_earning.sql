-- +goose Up

-- What earning rules may know of a member (members exposes setting them).
ALTER TABLE members ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE members ADD COLUMN IF NOT EXISTS attributes jsonb NOT NULL DEFAULT '{}';

-- Campaigns group rules under a window, target stores and channels, and a points budget
-- (0: unlimited). spent_points only ever grows by a conditional UPDATE that keeps it
-- within the budget, so concurrent batches can never overspend it; the CHECK is the
-- last line of defence.
CREATE TABLE campaigns (
    id            uuid        PRIMARY KEY,
    name          text        NOT NULL,
    starts_at     timestamptz,
    ends_at       timestamptz,
    stores        text[]      NOT NULL DEFAULT '{}',
    channels      text[]      NOT NULL DEFAULT '{}',
    active        boolean     NOT NULL,
    budget_points bigint      NOT NULL CHECK (budget_points >= 0),
    spent_points  bigint      NOT NULL DEFAULT 0 CHECK (spent_points >= 0),
    exhausted_at  timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT campaigns_within_budget CHECK (budget_points = 0 OR spent_points <= budget_points)
);

-- Rules: their current version and state. Every update is a new row of rule_versions.
CREATE TABLE rules (
    id              uuid        PRIMARY KEY,
    current_version integer     NOT NULL,
    state           text        NOT NULL CHECK (state IN ('draft', 'active', 'inactive')),
    updated_at      timestamptz NOT NULL
);

-- Rule versions, immutable (the triggers refuse changes): a credit names the version
-- that produced it, and that version must stay as it was.
CREATE TABLE rule_versions (
    rule_id    uuid        NOT NULL REFERENCES rules (id),
    version    integer     NOT NULL CHECK (version > 0),
    definition jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL DEFAULT '',
    PRIMARY KEY (rule_id, version)
);
-- +goose StatementBegin
CREATE FUNCTION rule_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rule_versions are immutable: update a rule by adding a version' USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER rule_versions_no_update BEFORE UPDATE OR DELETE ON rule_versions
    FOR EACH ROW EXECUTE FUNCTION rule_versions_immutable();

-- When each version was live: purchases claimed late are credited with the versions that
-- were live when they happened. An open period has no end.
CREATE TABLE rule_live_periods (
    rule_id    uuid        NOT NULL,
    version    integer     NOT NULL,
    live_from  timestamptz NOT NULL,
    live_until timestamptz,
    FOREIGN KEY (rule_id, version) REFERENCES rule_versions (rule_id, version)
);
CREATE INDEX rule_live_periods_rule ON rule_live_periods (rule_id, live_from);
CREATE UNIQUE INDEX rule_live_periods_open ON rule_live_periods (rule_id) WHERE live_until IS NULL;

-- Bumped by every change of rules and campaigns: the service's rule cache checks it once
-- per batch (one row, one index lookup) and reloads only when it moved.
CREATE TABLE earning_epoch (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch bigint  NOT NULL
);
INSERT INTO earning_epoch (epoch) VALUES (0);

-- What each rule awarded each member per period, for caps and custom event limits:
-- d:<date>, m:<yyyy-mm>, all, e:once, e:d:<date>, e:m:<yyyy-mm>, e:y:<yyyy>.
CREATE TABLE earning_usage (
    member_id uuid   NOT NULL,
    rule_id   uuid   NOT NULL,
    period    text   NOT NULL,
    amount    bigint NOT NULL,
    PRIMARY KEY (member_id, rule_id, period)
);

-- The breakdown of every credit by rule version (the base rate has rule_id "base"), so
-- that ExplainTransaction shows any past credit and a return takes back what its lines
-- earned. One row per credit, its parts as a JSON array (one row per part would cost a
-- dozen rows per purchase on the hot path; json, not jsonb: written on every credit, read
-- rarely). The credit is one ledger transaction.
CREATE TABLE credit_breakdowns (
    transaction_id uuid  PRIMARY KEY,
    reference      text  NOT NULL,
    parts          json  NOT NULL
);
CREATE INDEX credit_breakdowns_reference ON credit_breakdowns (reference);

-- +goose Down
DROP TABLE credit_breakdowns;
DROP TABLE earning_usage;
DROP TABLE earning_epoch;
DROP TABLE rule_live_periods;
DROP TABLE rule_versions;
DROP FUNCTION rule_versions_immutable();
DROP TABLE rules;
DROP TABLE campaigns;
ALTER TABLE members DROP COLUMN IF EXISTS attributes;
ALTER TABLE members DROP COLUMN IF EXISTS tags;
