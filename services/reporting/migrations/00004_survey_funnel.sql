-- +goose Up

-- What became of survey invitations, per UTC day: created, sent, reminded, suppressed
-- by the contact policy (with the reason), failed. Fed by the survey's invitation
-- events; the inbox makes sure each counts once.
CREATE TABLE survey_funnel_daily (
    day    date   NOT NULL,
    step   text   NOT NULL CHECK (step IN ('created', 'sent', 'reminded', 'suppressed', 'failed')),
    -- the suppression's reason (FREQUENCY_CAP, NO_CONSENT, ...); '' for the other steps.
    reason text   NOT NULL,
    count  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, step, reason)
);

-- +goose Down
DROP TABLE survey_funnel_daily;
