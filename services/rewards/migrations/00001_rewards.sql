-- +goose Up

-- The catalog. Rewards are created through the API; none are seeded.
CREATE TABLE rewards (
    reward_id    uuid        PRIMARY KEY,
    name         text        NOT NULL CHECK (name <> ''),
    kind         text        NOT NULL CHECK (kind IN ('coupon')),
    points_price bigint      NOT NULL CHECK (points_price > 0),
    value_minor  bigint      NOT NULL CHECK (value_minor > 0),
    currency     text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    valid_days   int         NOT NULL CHECK (valid_days BETWEEN 1 AND 3650),
    active       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A redemption copies the reward's terms when it is requested, so that a retry resumes
-- at the price the member was shown. idempotency_key with request_hash is how a retried
-- Redeem finds its redemption, and how a reused key is told from a retry.
CREATE TABLE redemptions (
    redemption_id   uuid        PRIMARY KEY,
    idempotency_key text        NOT NULL,
    request_hash    bytea       NOT NULL,
    member_id       uuid        NOT NULL,
    reward_id       uuid        NOT NULL REFERENCES rewards,
    points          bigint      NOT NULL CHECK (points > 0),
    value_minor     bigint      NOT NULL,
    currency        text        NOT NULL,
    valid_days      int         NOT NULL,
    status          text        NOT NULL DEFAULT 'requested'
                                CHECK (status IN ('requested', 'completed', 'cancelled')),
    hold_id         uuid,
    coupon_id       uuid,
    cancel_reason   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT redemptions_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT redemptions_completed_check CHECK (
        status <> 'completed' OR (hold_id IS NOT NULL AND coupon_id IS NOT NULL))
);
CREATE INDEX redemptions_member_idx ON redemptions (member_id, created_at);

-- Coupons keep the SHA-256 of their code, never the code (it is shown to the member once).
-- The unique index on code_hash is the tills' lookup; the conditional update on
-- redeemed_at makes a coupon single-use.
CREATE TABLE coupons (
    coupon_id            uuid        PRIMARY KEY,
    code_hash            bytea       NOT NULL CHECK (length(code_hash) = 32),
    redemption_id        uuid        NOT NULL REFERENCES redemptions,
    reward_id            uuid        NOT NULL REFERENCES rewards,
    member_id            uuid        NOT NULL,
    value_minor          bigint      NOT NULL,
    currency             text        NOT NULL,
    issued_at            timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    redeemed_at          timestamptz,
    redeemed_store_id    text,
    redeemed_terminal_id text,
    CONSTRAINT coupons_code_hash_key UNIQUE (code_hash),
    CONSTRAINT coupons_redemption_id_key UNIQUE (redemption_id)
);
CREATE INDEX coupons_member_idx ON coupons (member_id);

-- +goose Down
DROP TABLE coupons;
DROP TABLE redemptions;
DROP TABLE rewards;
