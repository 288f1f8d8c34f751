-- +goose Up

-- The members' referral codes, as the ledger announces them (MemberEnrolled,
-- MemberUpdated): referral requests carry them. An erased member's row stays as a
-- tombstone without a code, so that a late MemberUpdated does not bring it back.
CREATE TABLE referral_codes (
    member_id  text        PRIMARY KEY,
    code       text        NOT NULL DEFAULT '',
    erased     boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (erased = (code = ''))
);

-- The answer to the survey a resolved case triggers ("Did we solve your problem?",
-- touchpoint key case:<case id>): linked to its case, one per case. Scores and flags
-- only: the comment travels on the event, and the case's member is the case's.
CREATE TABLE case_follow_ups (
    case_id      uuid        PRIMARY KEY REFERENCES cases (case_id),
    response_id  text        NOT NULL UNIQUE,
    score        int         NOT NULL,
    score_kind   text        NOT NULL,
    satisfied    boolean     NOT NULL,
    solved       text        NOT NULL DEFAULT '' CHECK (solved IN ('', 'yes', 'no')),
    received_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE case_follow_ups;
DROP TABLE referral_codes;
