-- +goose Up
-- Coupon attempts and failures per API key, store and terminal, shared by every replica:
-- one row per (scope, subject), updated with one upsert per attempt. Fixed windows: the
-- attempt budget per minute, the failures (unknown codes) per failure window, and a
-- lock when the failures reach their limit.
CREATE TABLE coupon_attempts (
    scope          text NOT NULL CHECK (scope IN ('key', 'store', 'terminal')),
    subject        text NOT NULL,
    attempt_window timestamptz NOT NULL,
    attempts       integer NOT NULL,
    failure_window timestamptz NOT NULL,
    failures       integer NOT NULL,
    locked_until   timestamptz,
    PRIMARY KEY (scope, subject)
);

-- +goose Down
DROP TABLE coupon_attempts;
