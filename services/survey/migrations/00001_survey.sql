-- +goose Up

-- Survey definitions. A definition never changes once invitations point to it: a new
-- wording is a new version (a new row).
CREATE TABLE surveys (
    id             uuid PRIMARY KEY,
    name           text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('NPS')),
    version        int         NOT NULL DEFAULT 1,
    default_locale text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- A survey's wording per language.
CREATE TABLE survey_texts (
    survey_id  uuid NOT NULL REFERENCES surveys (id),
    locale     text NOT NULL,
    question   text NOT NULL,
    low_label  text NOT NULL,
    high_label text NOT NULL,
    PRIMARY KEY (survey_id, locale)
);

INSERT INTO surveys (id, name, kind, version, default_locale)
VALUES ('0192f0c8-5a1e-7000-8000-000000000001', 'Net Promoter Score', 'NPS', 1, 'en');

INSERT INTO survey_texts (survey_id, locale, question, low_label, high_label) VALUES
    ('0192f0c8-5a1e-7000-8000-000000000001', 'en',
     'How likely are you to recommend us to a friend or colleague?',
     'Not at all likely', 'Extremely likely'),
    ('0192f0c8-5a1e-7000-8000-000000000001', 'de',
     'Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?',
     'Überhaupt nicht wahrscheinlich', 'Äußerst wahrscheinlich');

-- The local copy of the ledger's members: what the survey needs (locale, consent) and the
-- contact policy's state. last_invited_at is updated conditionally, so concurrent
-- triggers for one member cannot both earn an invitation.
CREATE TABLE members (
    member_id       text PRIMARY KEY,
    locale          text        NOT NULL DEFAULT '',
    survey_consent  boolean     NOT NULL,
    last_invited_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Members erased by the ledger: nothing personal, only the pseudonymous id, so that a late
-- enrolment event or trigger cannot bring them back.
CREATE TABLE erased_members (
    member_id text PRIMARY KEY,
    erased_at timestamptz NOT NULL
);

-- Triggers of members not known yet (the enrolment event may come after the purchase);
-- evaluated when the member is enrolled, pruned after a while.
CREATE TABLE pending_triggers (
    trigger_event_id text PRIMARY KEY,
    trigger_key      text        NOT NULL,
    member_id        text        NOT NULL,
    touchpoint       text        NOT NULL,
    store_id         text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    parked_at        timestamptz NOT NULL
);
CREATE INDEX pending_triggers_member ON pending_triggers (member_id);
CREATE INDEX pending_triggers_parked_at ON pending_triggers (parked_at);

-- One invitation per trigger: per event, and per contact (a purchase re-sent under a new
-- event id has the same trigger_key). member_id and locale are cleared on erasure.
CREATE TABLE invitations (
    id               uuid PRIMARY KEY,
    survey_id        uuid        NOT NULL REFERENCES surveys (id),
    member_id        text,
    locale           text,
    touchpoint       text        NOT NULL CHECK (touchpoint IN ('PURCHASE', 'SERVICE_CALL', 'SALES_CALL', 'WEB_VISIT')),
    store_id         text        NOT NULL,
    trigger_event_id text        NOT NULL,
    trigger_key      text        NOT NULL,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    anonymised_at    timestamptz,
    CONSTRAINT invitations_trigger_event_id_key UNIQUE (trigger_event_id),
    CONSTRAINT invitations_trigger_key_key UNIQUE (trigger_key)
);
CREATE INDEX invitations_member ON invitations (member_id, created_at DESC, id DESC) WHERE member_id IS NOT NULL;

-- One response per invitation. The comment is cleared on erasure; the score stays.
CREATE TABLE responses (
    id            uuid PRIMARY KEY,
    invitation_id uuid        NOT NULL REFERENCES invitations (id),
    survey_id     uuid        NOT NULL REFERENCES surveys (id),
    score         smallint    NOT NULL CHECK (score BETWEEN 0 AND 10),
    nps_class     text        NOT NULL CHECK (nps_class IN ('DETRACTOR', 'PASSIVE', 'PROMOTER')),
    comment       text        NOT NULL DEFAULT '',
    submitted_at  timestamptz NOT NULL,
    CONSTRAINT responses_invitation_id_key UNIQUE (invitation_id)
);

-- +goose Down
DROP TABLE responses;
DROP TABLE invitations;
DROP TABLE pending_triggers;
DROP TABLE erased_members;
DROP TABLE members;
DROP TABLE survey_texts;
DROP TABLE surveys;
