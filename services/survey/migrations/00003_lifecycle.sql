-- +goose Up

-- An invitation now has a life: it is scheduled when a trigger rule matches (due after
-- the rule's delay), sent when due through a channel, answered, or held back by the
-- contact policy, failed, expired. Invitations from before were sent when created.
ALTER TABLE invitations DROP CONSTRAINT invitations_touchpoint_check;
ALTER TABLE invitations
    ADD CONSTRAINT invitations_touchpoint_check CHECK (touchpoint IN (
        'PURCHASE', 'SERVICE_CALL', 'SALES_CALL', 'WEB_VISIT', 'REWARD_DELIVERED', 'CASE_RESOLVED')),
    ADD COLUMN status text NOT NULL DEFAULT 'SENT' CHECK (status IN (
        'SCHEDULED', 'SENT', 'ANSWERED', 'SUPPRESSED', 'FAILED', 'EXPIRED')),
    -- when it is due to be sent; the link works from then on.
    ADD COLUMN due_at timestamptz,
    ADD COLUMN survey_version int NOT NULL DEFAULT 1,
    -- the trigger rule that made it; NULL for a receipt link and for older invitations.
    ADD COLUMN trigger_id uuid,
    -- the channels to try in order (EMAIL, WEBHOOK, NONE), and the one used (or RECEIPT).
    ADD COLUMN channels text[] NOT NULL DEFAULT '{}',
    ADD COLUMN channel text NOT NULL DEFAULT 'NONE' CHECK (channel IN ('EMAIL', 'WEBHOOK', 'NONE', 'RECEIPT')),
    ADD COLUMN employee_id text NOT NULL DEFAULT '',
    -- where the touchpoint happened: STORE, WEB or ''.
    ADD COLUMN sales_channel text NOT NULL DEFAULT '',
    ADD COLUMN sent_at timestamptz,
    -- delivery attempts so far, and when the next one is due after a failure.
    ADD COLUMN attempts int NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN last_error text NOT NULL DEFAULT '',
    -- the one reminder: due when, sent when.
    ADD COLUMN reminder_due_at timestamptz,
    ADD COLUMN reminded_at timestamptz,
    ADD COLUMN suppressed_reason text,
    ADD COLUMN updated_at timestamptz;
UPDATE invitations SET due_at = created_at, sent_at = created_at;
ALTER TABLE invitations ALTER COLUMN due_at SET DEFAULT now(), ALTER COLUMN due_at SET NOT NULL;
-- The dispatcher's work lists: cheap to poll however many invitations were sent.
CREATE INDEX invitations_due ON invitations (due_at) WHERE status = 'SCHEDULED';
CREATE INDEX invitations_reminder_due ON invitations (reminder_due_at)
    WHERE status = 'SENT' AND reminded_at IS NULL AND reminder_due_at IS NOT NULL;
CREATE INDEX invitations_sent_expiry ON invitations (expires_at) WHERE status = 'SENT';
CREATE INDEX invitations_member_status ON invitations (member_id, status) WHERE member_id IS NOT NULL;

-- What delivery needs to reach the member, and what trigger rules read. email and phone
-- are personal: erasure deletes the row.
ALTER TABLE members
    ADD COLUMN email text NOT NULL DEFAULT '',
    ADD COLUMN phone text NOT NULL DEFAULT '',
    ADD COLUMN time_zone text NOT NULL DEFAULT '',
    ADD COLUMN tier text NOT NULL DEFAULT '',
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}';

-- Feedback cases open for a member (from feedback.case.opened / resolved): no survey
-- while one is open.
CREATE TABLE open_cases (
    case_id   text PRIMARY KEY,
    member_id text        NOT NULL,
    opened_at timestamptz NOT NULL
);
CREATE INDEX open_cases_member ON open_cases (member_id);

-- Every invitation the contact policy held back, with its reason.
CREATE TABLE suppressions (
    id             uuid PRIMARY KEY,
    invitation_id  uuid,
    member_id      text,
    trigger_id     uuid,
    touchpoint     text        NOT NULL,
    touchpoint_key text        NOT NULL DEFAULT '',
    reason         text        NOT NULL CHECK (reason IN ('FREQUENCY_CAP', 'NO_CONSENT', 'OPEN_CASE',
        'RETURNED', 'ERASED', 'NO_CHANNEL', 'SURVEY_RETIRED')),
    suppressed_at  timestamptz NOT NULL
);
CREATE INDEX suppressions_time ON suppressions (suppressed_at DESC, id DESC);
CREATE INDEX suppressions_member ON suppressions (member_id, suppressed_at DESC) WHERE member_id IS NOT NULL;

-- The delivery log: one row per attempt to deliver an invitation or its reminder.
CREATE TABLE deliveries (
    id            uuid PRIMARY KEY,
    invitation_id uuid        NOT NULL REFERENCES invitations (id),
    channel       text        NOT NULL CHECK (channel IN ('EMAIL', 'WEBHOOK')),
    reminder      boolean     NOT NULL DEFAULT false,
    attempt       int         NOT NULL,
    outcome       text        NOT NULL CHECK (outcome IN ('SENT', 'RETRYING', 'FAILED')),
    error         text        NOT NULL DEFAULT '',
    attempted_at  timestamptz NOT NULL
);
CREATE INDEX deliveries_invitation ON deliveries (invitation_id, attempted_at DESC);
CREATE INDEX deliveries_time ON deliveries (attempted_at DESC, id DESC);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE suppressions;
DROP TABLE open_cases;
ALTER TABLE members DROP COLUMN email, DROP COLUMN phone, DROP COLUMN time_zone, DROP COLUMN tier, DROP COLUMN tags;
DROP INDEX invitations_member_status;
DROP INDEX invitations_sent_expiry;
DROP INDEX invitations_reminder_due;
DROP INDEX invitations_due;
ALTER TABLE invitations DROP COLUMN status, DROP COLUMN due_at, DROP COLUMN survey_version,
    DROP COLUMN trigger_id, DROP COLUMN channels, DROP COLUMN channel, DROP COLUMN employee_id,
    DROP COLUMN sales_channel, DROP COLUMN sent_at, DROP COLUMN attempts, DROP COLUMN next_attempt_at,
    DROP COLUMN last_error, DROP COLUMN reminder_due_at, DROP COLUMN reminded_at,
    DROP COLUMN suppressed_reason, DROP COLUMN updated_at;
ALTER TABLE invitations DROP CONSTRAINT invitations_touchpoint_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_touchpoint_check
    CHECK (touchpoint IN ('PURCHASE', 'SERVICE_CALL', 'SALES_CALL', 'WEB_VISIT'));
