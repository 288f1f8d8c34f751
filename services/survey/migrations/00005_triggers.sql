-- +goose Up

-- Trigger rules: which touchpoints earn an invitation to which survey, when, and for
-- which share of members. A change is a new version of the rule (version + 1).
CREATE TABLE trigger_rules (
    id              uuid PRIMARY KEY,
    version         int         NOT NULL DEFAULT 1,
    active          boolean     NOT NULL,
    name            text        NOT NULL,
    touchpoints     text[]      NOT NULL DEFAULT '{}',
    condition       text        NOT NULL DEFAULT '',
    survey_id       uuid        NOT NULL,
    delay_seconds   bigint      NOT NULL DEFAULT 0 CHECK (delay_seconds BETWEEN 0 AND 7776000),
    sampling_rate   double precision NOT NULL DEFAULT 1 CHECK (sampling_rate > 0 AND sampling_rate <= 1),
    channels        text[]      NOT NULL DEFAULT '{EMAIL,WEBHOOK}',
    priority        int         NOT NULL DEFAULT 0,
    idempotency_key text UNIQUE,
    -- what the creating request asked for: a retry with the same key must ask the same.
    request_hash    text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Bumped by every change of a rule: evaluators reload the rules when it moved.
CREATE TABLE trigger_rules_epoch (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch bigint  NOT NULL
);
INSERT INTO trigger_rules_epoch (one, epoch) VALUES (true, 1);

-- Today's behaviour without set-up: every consenting member is asked (NPS) at once after
-- any contact.
INSERT INTO trigger_rules (id, version, active, name, touchpoints, condition, survey_id, delay_seconds,
                           sampling_rate, channels, priority, created_at, updated_at)
VALUES ('0192f0c8-5a1e-7000-8000-0000000000a1', 1, true, 'NPS after every contact', '{}', '',
        '0192f0c8-5a1e-7000-8000-000000000001', 0, 1, '{EMAIL,WEBHOOK,NONE}', 0,
        '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');

-- Purchases by touchpoint key pos:<store>:<transaction>: returned_at is set by a return
-- (pos.return.recorded), so that the purchase's trigger arriving later earns nothing; a
-- purchase about to be invited registers its key (returned_at NULL) in the same
-- transaction, so that a return committing meanwhile waits for it on the key and then
-- sees its invitation (and the other way round).
CREATE TABLE purchase_keys (
    trigger_key text PRIMARY KEY,
    returned_at timestamptz
);

-- A touchpoint is held back once: a second report of it (another event id, the ledger's
-- match of a POS purchase) records no second suppression.
CREATE UNIQUE INDEX suppressions_touchpoint_once ON suppressions (touchpoint_key)
    WHERE invitation_id IS NULL AND touchpoint_key <> '';
CREATE INDEX suppressions_reason ON suppressions (reason, suppressed_at DESC, id DESC);

-- What trigger rules read of a parked trigger.
ALTER TABLE pending_triggers
    ADD COLUMN employee_id text NOT NULL DEFAULT '',
    ADD COLUMN sales_channel text NOT NULL DEFAULT '',
    ADD COLUMN amount_minor bigint NOT NULL DEFAULT 0,
    ADD COLUMN currency text NOT NULL DEFAULT '';

-- A member's copy is updated by several kinds of events: the later of each kind wins
-- (as_of stays the one of consent and locale).
ALTER TABLE members
    ADD COLUMN profile_as_of timestamptz,
    ADD COLUMN tier_as_of timestamptz;

-- +goose Down
ALTER TABLE members DROP COLUMN profile_as_of, DROP COLUMN tier_as_of;
ALTER TABLE pending_triggers DROP COLUMN employee_id, DROP COLUMN sales_channel, DROP COLUMN amount_minor,
    DROP COLUMN currency;
DROP INDEX suppressions_reason;
DROP INDEX suppressions_touchpoint_once;
DROP TABLE purchase_keys;
DROP TABLE trigger_rules_epoch;
DROP TABLE trigger_rules;
