-- +goose Up

-- The case lifecycle: open → acknowledged → contacted → resolved → closed, waiting for
-- the customer (SLA clocks paused) from acknowledged/contacted, reopen from resolved or
-- closed. Existing 'open' and 'resolved' rows keep their values.
ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check
    CHECK (status IN ('open', 'acknowledged', 'contacted', 'waiting', 'resolved', 'closed'));
-- A resolved case has its outcome and time; a closed one too unless it was closed as a
-- duplicate merged into another case.
ALTER TABLE cases DROP CONSTRAINT cases_check;

-- The assignee (a staff id; the organisation's migration may have added it already).
ALTER TABLE cases ADD COLUMN IF NOT EXISTS assignee text;

ALTER TABLE cases
    ADD COLUMN acknowledged_at      timestamptz,
    ADD COLUMN contacted_at         timestamptz,
    ADD COLUMN waiting_since        timestamptz,
    -- the status a waiting case resumes to.
    ADD COLUMN waiting_from         text NOT NULL DEFAULT '',
    -- business time spent waiting for the customer, in seconds.
    ADD COLUMN paused               bigint NOT NULL DEFAULT 0 CHECK (paused >= 0),
    -- the SLA targets (business seconds) and the due times they give.
    ADD COLUMN first_contact_sla    bigint NOT NULL DEFAULT 0,
    ADD COLUMN resolution_sla       bigint NOT NULL DEFAULT 0,
    ADD COLUMN first_contact_due_at timestamptz,
    ADD COLUMN escalation_level     int NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 3),
    ADD COLUMN reminded_at          timestamptz,
    ADD COLUMN closed_at            timestamptz,
    ADD COLUMN merged_into          uuid REFERENCES cases (case_id),
    ADD COLUMN root_cause           text NOT NULL DEFAULT '',
    ADD COLUMN priority             int NOT NULL DEFAULT 0,
    ADD COLUMN task_type            text NOT NULL DEFAULT '',
    ADD CONSTRAINT cases_resolution_check CHECK (
        (status <> 'resolved' OR (resolved_at IS NOT NULL AND outcome IS NOT NULL))
        AND (status <> 'closed' OR closed_at IS NOT NULL)
        AND (status <> 'waiting' OR waiting_since IS NOT NULL));

-- Resolution SLA of existing cases: what their due time gave (24x7).
UPDATE cases SET resolution_sla = greatest(0, extract(epoch FROM due_at - submitted_at))::bigint;

-- Open cases still being worked, by due time (the sweep and the overdue queue).
CREATE INDEX cases_active_due ON cases (due_at) WHERE status IN ('open', 'acknowledged', 'contacted');
CREATE INDEX cases_active_first_contact ON cases (first_contact_due_at)
    WHERE status IN ('open', 'acknowledged') AND contacted_at IS NULL;
CREATE INDEX cases_assignee_due ON cases (assignee, due_at);

-- Every move of a case: transitions, reassignments, merges, reminders, escalations.
CREATE TABLE case_history (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id  uuid        NOT NULL REFERENCES cases (case_id),
    action   text        NOT NULL,
    from_status text     NOT NULL,
    to_status   text     NOT NULL,
    by_whom  text        NOT NULL,
    at       timestamptz NOT NULL,
    note     text        NOT NULL DEFAULT ''
);
CREATE INDEX case_history_case ON case_history (case_id, id);

-- Agents' notes on a case. A merged duplicate's notes move to the primary case.
CREATE TABLE case_notes (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id uuid        NOT NULL REFERENCES cases (case_id),
    by_whom text        NOT NULL,
    at      timestamptz NOT NULL,
    text    text        NOT NULL CHECK (text <> '')
);
CREATE INDEX case_notes_case ON case_notes (case_id, id);

-- +goose Down
DROP TABLE case_notes;
DROP TABLE case_history;
DROP INDEX cases_assignee_due;
DROP INDEX cases_active_first_contact;
DROP INDEX cases_active_due;
ALTER TABLE cases DROP CONSTRAINT cases_resolution_check;
UPDATE cases SET status = 'open' WHERE status IN ('acknowledged', 'contacted', 'waiting');
UPDATE cases SET status = 'resolved' WHERE status = 'closed' AND resolved_at IS NOT NULL;
UPDATE cases SET status = 'resolved', outcome = 'NO_ACTION_NEEDED', resolved_at = closed_at WHERE status = 'closed';
ALTER TABLE cases
    DROP COLUMN acknowledged_at, DROP COLUMN contacted_at, DROP COLUMN waiting_since,
    DROP COLUMN waiting_from, DROP COLUMN paused, DROP COLUMN first_contact_sla,
    DROP COLUMN resolution_sla, DROP COLUMN first_contact_due_at, DROP COLUMN escalation_level,
    DROP COLUMN reminded_at, DROP COLUMN closed_at, DROP COLUMN merged_into,
    DROP COLUMN root_cause, DROP COLUMN priority, DROP COLUMN task_type;
ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check CHECK (status IN ('open', 'resolved'));
ALTER TABLE cases ADD CONSTRAINT cases_check CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND outcome IS NOT NULL));
