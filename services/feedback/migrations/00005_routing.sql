-- +goose Up

-- Routing rules are managed through RoutingService. A rule's result grows: a task type,
-- a case priority and two SLA targets (first contact, resolution). The rule's ordering
-- number stays `priority` (lower is tried first); the case priority is `case_priority`.
ALTER TABLE routing_rules
    ADD COLUMN task_type         text     NOT NULL DEFAULT 'CALL_BACK'
        CHECK (task_type IN ('CALL_BACK', 'REFERRAL_REQUEST', 'PRODUCT_FEEDBACK', 'REWARD_PROBLEM', 'STORE_FOLLOW_UP')),
    ADD COLUMN case_priority     text     NOT NULL DEFAULT 'NORMAL'
        CHECK (case_priority IN ('LOW', 'NORMAL', 'HIGH', 'URGENT')),
    -- 0: the service's default first-contact target (FEEDBACK_FIRST_CONTACT_SLA).
    ADD COLUMN first_contact_sla interval NOT NULL DEFAULT interval '0' CHECK (first_contact_sla >= interval '0'),
    -- Idempotency of CreateRule: a retried request with the same key returns the rule.
    ADD COLUMN idempotency_key   text     UNIQUE;

UPDATE routing_rules SET task_type = 'REFERRAL_REQUEST' WHERE case_kind = 'REFERRAL_REQUEST';
-- Today's due_in is the resolution target; the first contact gets the service's default.

-- A version is the rule's content: its condition and result. Its ordering (priority) and
-- enabled flag (active) are not content and write no new version; the engine skips a
-- disabled rule and orders by priority without recompiling.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION routing_rules_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.condition, NEW.case_kind, NEW.team, NEW.due_in,
        NEW.task_type, NEW.case_priority, NEW.first_contact_sla)
       IS DISTINCT FROM (OLD.condition, OLD.case_kind, OLD.team, OLD.due_in,
        OLD.task_type, OLD.case_priority, OLD.first_contact_sla)
       AND NEW.version = OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- Every version of a rule's content (condition and result) as it was: a case names the
-- rule id and version that opened it, and GetRule shows the history. Ordering and the
-- enabled flag are not content: changing them writes no version.
CREATE TABLE routing_rule_versions (
    rule_id           bigint      NOT NULL REFERENCES routing_rules (id),
    version           int         NOT NULL,
    condition         text        NOT NULL,
    team              text        NOT NULL,
    task_type         text        NOT NULL,
    case_priority     text        NOT NULL,
    first_contact_sla interval    NOT NULL,
    resolution_sla    interval    NOT NULL,
    created_by        text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, version)
);

-- Existing rules: their current content is the first version kept (version 1 for the
-- seeded rules; a rule edited before keeps its number, which its cases name).
INSERT INTO routing_rule_versions (rule_id, version, condition, team, task_type, case_priority, first_contact_sla, resolution_sla)
SELECT id, version, condition, team, task_type, case_priority, first_contact_sla, due_in
FROM routing_rules;

-- Each new version of a rule is written to the history by the database, so no writer
-- can change a rule without leaving its version behind.
-- +goose StatementBegin
CREATE FUNCTION routing_rules_record_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO routing_rule_versions (rule_id, version, condition, team, task_type, case_priority, first_contact_sla, resolution_sla)
    VALUES (NEW.id, NEW.version, NEW.condition, NEW.team, NEW.task_type, NEW.case_priority, NEW.first_contact_sla, NEW.due_in)
    ON CONFLICT (rule_id, version) DO NOTHING;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER routing_rules_history AFTER INSERT OR UPDATE ON routing_rules
    FOR EACH ROW EXECUTE FUNCTION routing_rules_record_version();

-- The region a store is in (variable `region` of a condition) and, optionally, the team
-- that follows up a STORE_FOLLOW_UP task for it (the store's manager's team).
CREATE TABLE store_regions (
    store_id   text        PRIMARY KEY CHECK (store_id <> ''),
    region     text        NOT NULL CHECK (region <> ''),
    store_team text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The default route: what happens to a response no enabled rule matches. One row.
-- task_type NONE records the response without a case ("routed to no case").
CREATE TABLE routing_default (
    id                boolean     PRIMARY KEY DEFAULT true CHECK (id),
    task_type         text        NOT NULL
        CHECK (task_type IN ('NONE', 'CALL_BACK', 'REFERRAL_REQUEST', 'PRODUCT_FEEDBACK', 'REWARD_PROBLEM', 'STORE_FOLLOW_UP')),
    team              text        NOT NULL DEFAULT '',
    case_priority     text        NOT NULL DEFAULT 'NORMAL' CHECK (case_priority IN ('LOW', 'NORMAL', 'HIGH', 'URGENT')),
    first_contact_sla interval    NOT NULL DEFAULT interval '0',
    resolution_sla    interval    NOT NULL DEFAULT interval '168 hours',
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((task_type = 'NONE') = (team = ''))
);
INSERT INTO routing_default (task_type) VALUES ('NONE');

-- Every response is routed: by a rule, to the default route, or to no case. This is the
-- record of where each went (a response with a case also has its case).
CREATE TABLE routed_responses (
    response_id  text        PRIMARY KEY,
    rule_id      bigint,
    rule_version int,
    task_type    text        NOT NULL,
    team         text        NOT NULL DEFAULT '',
    routed_at    timestamptz NOT NULL
);

-- The members as the ledger announces them, for the `tier` variable of a condition.
-- Erasing a member deletes their row.
CREATE TABLE members (
    member_id  text        PRIMARY KEY,
    tier       text        NOT NULL DEFAULT '',
    locale     text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE members;
DROP TABLE routed_responses;
DROP TABLE routing_default;
DROP TABLE store_regions;
DROP TRIGGER routing_rules_history ON routing_rules;
DROP FUNCTION routing_rules_record_version();
DROP TABLE routing_rule_versions;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION routing_rules_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.priority, NEW.condition, NEW.case_kind, NEW.team, NEW.due_in, NEW.active)
       IS DISTINCT FROM (OLD.name, OLD.priority, OLD.condition, OLD.case_kind, OLD.team, OLD.due_in, OLD.active)
       AND NEW.version = OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
ALTER TABLE routing_rules DROP COLUMN idempotency_key, DROP COLUMN first_contact_sla,
    DROP COLUMN case_priority, DROP COLUMN task_type;
