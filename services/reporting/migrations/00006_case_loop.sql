-- +goose Up

-- The loop of a follow-up case: its lifecycle after opening, fed by the consumer
-- reporting-case-loop. Its events may come in any order, also against the opened and
-- resolved events of reporting-feedback: every column is merged so that the order does not
-- matter (the earliest first contact, the latest due times and reopening, the highest
-- escalation level, the latest follow-up answer); the counts add up, once per event
-- through the inbox. No member is named.
ALTER TABLE cases
    -- the first contact: a recorded one, or else a resolution that reached the customer.
    ADD COLUMN first_contact_at     timestamptz,
    -- due times only move later (a wait ends), so the latest known is the one in force.
    ADD COLUMN first_contact_due_at timestamptz,
    -- the latest reopening; resolved_at is kept only while it is later than this.
    ADD COLUMN reopened_at          timestamptz,
    ADD COLUMN reopens              bigint   NOT NULL DEFAULT 0,
    -- closed as a duplicate of another case: neither open nor resolved.
    ADD COLUMN merged_at            timestamptz,
    ADD COLUMN escalation_level     smallint NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 3),
    ADD COLUMN reminded             boolean  NOT NULL DEFAULT false,
    -- the latest follow-up survey answer.
    ADD COLUMN follow_up_at         timestamptz,
    ADD COLUMN follow_up_kind       text     NOT NULL DEFAULT '',
    ADD COLUMN follow_up_score      smallint NOT NULL DEFAULT 0,
    ADD COLUMN follow_up_satisfied  boolean  NOT NULL DEFAULT false,
    ADD COLUMN follow_up_solved     text     NOT NULL DEFAULT '' CHECK (follow_up_solved IN ('', 'yes', 'no')),
    ADD COLUMN goodwill_points      bigint   NOT NULL DEFAULT 0,
    ADD COLUMN goodwill_coupon      boolean  NOT NULL DEFAULT false,
    -- the latest start and end of a wait for the customer: a case waiting is not overdue.
    ADD COLUMN waiting_at           timestamptz,
    ADD COLUMN resumed_at           timestamptz;

-- Cases resolved before the loop was followed: the resolution is their first contact when
-- its outcome reached the customer (as domain.CaseResolved counts it from now on).
UPDATE cases SET first_contact_at = resolved_at
WHERE resolved_at IS NOT NULL
  AND outcome IN ('CONTACTED_RESOLVED', 'CONTACTED_UNRESOLVED', 'REFERRAL_GIVEN', 'REFERRAL_DECLINED');

-- GetFollowUpStats reads the cases opened in a period.
CREATE INDEX cases_opened ON cases (opened_at);
-- A merged case is not open.
DROP INDEX cases_open;
CREATE INDEX cases_open ON cases (due_at) WHERE resolved_at IS NULL AND merged_at IS NULL;

-- +goose Down
DROP INDEX cases_open;
CREATE INDEX cases_open ON cases (due_at) WHERE resolved_at IS NULL;
DROP INDEX cases_opened;
ALTER TABLE cases
    DROP COLUMN first_contact_at, DROP COLUMN first_contact_due_at, DROP COLUMN reopened_at,
    DROP COLUMN reopens, DROP COLUMN merged_at, DROP COLUMN escalation_level, DROP COLUMN reminded,
    DROP COLUMN follow_up_at, DROP COLUMN follow_up_kind, DROP COLUMN follow_up_score,
    DROP COLUMN follow_up_satisfied, DROP COLUMN follow_up_solved, DROP COLUMN goodwill_points,
    DROP COLUMN goodwill_coupon, DROP COLUMN waiting_at, DROP COLUMN resumed_at;
