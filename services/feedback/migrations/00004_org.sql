-- +goose Up

-- Teams work the cases routed to their key (the slug routing rules and cases name them
-- by). Business hours are wall-clock spans per weekday in the team's time zone:
-- {"monday": [["09:00", "12:00"], ["13:00", "17:00"]], ...}; a day without spans is
-- closed. SLA clocks run on them, minus the team's holidays.
CREATE TABLE teams (
    team_id         uuid        PRIMARY KEY,
    key             text        NOT NULL UNIQUE CHECK (key <> ''),
    name            text        NOT NULL CHECK (name <> ''),
    time_zone       text        NOT NULL DEFAULT 'UTC',
    hours           jsonb       NOT NULL,
    assignment      text        NOT NULL DEFAULT 'ROUND_ROBIN' CHECK (assignment IN ('ROUND_ROBIN', 'FEWEST_OPEN')),
    -- The create call's idempotency key (scoped to the caller) and its request's hash.
    idempotency_key text        UNIQUE,
    request_hash    text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_holidays (
    team_id uuid NOT NULL REFERENCES teams ON DELETE CASCADE,
    day     date NOT NULL,
    name    text NOT NULL DEFAULT '',
    PRIMARY KEY (team_id, day)
);

-- Staff work a team's cases. A staff row is the same person as the staff sign-in
-- account with the same email (stored lower case).
CREATE TABLE staff (
    staff_id        uuid        PRIMARY KEY,
    team_id         uuid        NOT NULL REFERENCES teams,
    name            text        NOT NULL CHECK (name <> ''),
    email           text        NOT NULL UNIQUE CHECK (email = lower(email)),
    role            text        NOT NULL CHECK (role IN ('agent', 'team_lead', 'manager')),
    active          boolean     NOT NULL DEFAULT true,
    idempotency_key text        UNIQUE,
    request_hash    text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX staff_team ON staff (team_id, staff_id);

-- Round robin: the agent a team's last case went to (the next is the next active agent
-- by id). The row is locked while a case is assigned, for either strategy, so that two
-- cases opened at once are assigned one after the other.
CREATE TABLE assignment_cursors (
    team_id       uuid PRIMARY KEY REFERENCES teams ON DELETE CASCADE,
    last_staff_id uuid
);

-- The staff id a case is assigned to ('' for nobody).
ALTER TABLE cases ADD COLUMN assignee text NOT NULL DEFAULT '';
CREATE INDEX cases_assignee ON cases (assignee, status) WHERE assignee <> '';

-- Every team the rules and cases name so far becomes a team, open 24x7 in UTC, so that
-- nothing is left without one.
INSERT INTO teams (team_id, key, name, hours)
SELECT gen_random_uuid(), t.team, t.team,
       '{"sunday": [["00:00", "24:00"]], "monday": [["00:00", "24:00"]], "tuesday": [["00:00", "24:00"]],
         "wednesday": [["00:00", "24:00"]], "thursday": [["00:00", "24:00"]], "friday": [["00:00", "24:00"]],
         "saturday": [["00:00", "24:00"]]}'::jsonb
FROM (SELECT team FROM routing_rules UNION SELECT team FROM cases) t
WHERE t.team <> ''
ON CONFLICT (key) DO NOTHING;

-- +goose Down
DROP INDEX cases_assignee;
ALTER TABLE cases DROP COLUMN assignee;
DROP TABLE assignment_cursors;
DROP TABLE staff;
DROP TABLE team_holidays;
DROP TABLE teams;
