-- +goose Up

-- Every goodwill grant a resolution made, one per case ever: a case reopened and
-- resolved again cannot grant a second (the ledger books one per case, so a second
-- grant would silently come to nothing). Goodwill granted before this table existed is
-- taken from the ledger's credits the service has heard of (below).
--
-- A grant with a coupon reward is also a call queue: the resolution writes the wish
-- (reward_status pending) in its transaction, and a worker asks the rewards service for
-- the coupon (GrantGoodwillCoupon, idempotency key goodwill:<case id>), emails its code
-- to the member and records the outcome here. The code itself is never stored.
CREATE TABLE goodwill_grants (
    case_id          uuid        PRIMARY KEY REFERENCES cases (case_id),
    member_id        text        NOT NULL,
    points           bigint      NOT NULL CHECK (points >= 0),
    reward_id        text        NOT NULL DEFAULT '',
    reason           text        NOT NULL DEFAULT '',
    granted_by       text        NOT NULL,
    granted_at       timestamptz NOT NULL,
    -- '' without a reward; pending while the worker has to call; emailed, not_emailed
    -- (issued, code not emailed: reward_error says why), refused (by the rewards
    -- service), failed (no answer within the attempts).
    reward_status    text        NOT NULL DEFAULT ''
                     CHECK (reward_status IN ('', 'pending', 'emailed', 'not_emailed', 'refused', 'failed')),
    CHECK ((reward_id = '') = (reward_status = '')),
    attempts         int         NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    coupon_id        text        NOT NULL DEFAULT '',
    reward_name      text        NOT NULL DEFAULT '',
    value_minor      bigint      NOT NULL DEFAULT 0,
    currency         text        NOT NULL DEFAULT '',
    expires_at       timestamptz,
    reward_error     text        NOT NULL DEFAULT '',
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Goodwill granted before this table: the ledger's GOODWILL credits, whose reference is
-- the case (what the ledger booked; a grant it refused was never booked either).
INSERT INTO goodwill_grants (case_id, member_id, points, granted_by, granted_at)
SELECT c.case_id, e.member_id, (e.detail->>'points')::bigint, 'before goodwill_grants', e.at
FROM member_events e
JOIN cases c ON c.case_id::text = e.detail->>'reference'
WHERE e.kind = 'points_credited' AND e.detail->>'reason' = 'GOODWILL'
ON CONFLICT (case_id) DO NOTHING;

-- The worker's look-up: the pending calls, earliest due first.
CREATE INDEX goodwill_grants_due ON goodwill_grants (next_attempt_at) WHERE reward_status = 'pending';

-- +goose Down
DROP TABLE goodwill_grants;
