-- +goose Up

-- Routing rules are data: a CEL condition over the submitted response and the case it
-- opens. The service evaluates the active rules in ascending priority; the first match
-- wins. A response no rule matches opens no case.
CREATE TABLE routing_rules (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    priority   int         NOT NULL,
    condition  text        NOT NULL,
    case_kind  text        NOT NULL CHECK (case_kind IN ('CALLBACK', 'REFERRAL_REQUEST')),
    team       text        NOT NULL CHECK (team <> ''),
    due_in     interval    NOT NULL CHECK (due_in > interval '0'),
    active     boolean     NOT NULL DEFAULT true,
    -- The service caches compiled conditions per (id, version).
    version    int         NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A changed rule gets a new version, so a cached compilation of its old condition is
-- never used again, even when whoever edited it forgot to bump the version.
-- +goose StatementBegin
CREATE FUNCTION routing_rules_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER routing_rules_versioned BEFORE UPDATE ON routing_rules
    FOR EACH ROW EXECUTE FUNCTION routing_rules_bump_version();

INSERT INTO routing_rules (name, priority, condition, case_kind, team, due_in) VALUES
    ('detractor-callback', 100, 'response.nps_class == "DETRACTOR"', 'CALLBACK', 'customer-service', interval '48 hours'),
    ('promoter-referral', 200, 'response.nps_class == "PROMOTER"', 'REFERRAL_REQUEST', 'marketing', interval '168 hours');

-- A case is the follow-up work one response calls for: at most one per response.
CREATE TABLE cases (
    case_id         uuid        PRIMARY KEY,
    response_id     uuid        NOT NULL UNIQUE,
    kind            text        NOT NULL CHECK (kind IN ('CALLBACK', 'REFERRAL_REQUEST')),
    team            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    -- '' once the member is erased (or when the response named none).
    member_id       text        NOT NULL DEFAULT '',
    survey_id       text        NOT NULL DEFAULT '',
    score           int         NOT NULL,
    comment         text        NOT NULL DEFAULT '',
    nps_class       text        NOT NULL,
    touchpoint      text        NOT NULL,
    store_id        text        NOT NULL DEFAULT '',
    rule_id         bigint      NOT NULL,
    rule_version    int         NOT NULL,
    submitted_at    timestamptz NOT NULL,
    opened_at       timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    outcome         text,
    resolution_note text        NOT NULL DEFAULT '',
    resolved_by     text        NOT NULL DEFAULT '',
    resolved_at     timestamptz,
    anonymised_at   timestamptz,
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND outcome IS NOT NULL))
);

-- ListCases: newest first, optionally per team; overdue = open and past due.
CREATE INDEX cases_newest ON cases (opened_at DESC, case_id DESC);
CREATE INDEX cases_team_newest ON cases (team, opened_at DESC, case_id DESC);
CREATE INDEX cases_open_due ON cases (due_at) WHERE status = 'open';
CREATE INDEX cases_member ON cases (member_id) WHERE member_id <> '';

-- Members erased so far: a response that arrives after its member's erasure (events of
-- different subjects are not ordered) still opens its case without personal data.
CREATE TABLE erased_members (
    member_id text        PRIMARY KEY,
    erased_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE erased_members;
DROP TABLE cases;
DROP TABLE routing_rules;
DROP FUNCTION routing_rules_bump_version();
