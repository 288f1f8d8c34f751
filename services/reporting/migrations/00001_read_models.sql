-- +goose Up
-- Read models fed by events. Every table is a projection: it can be rebuilt by replaying
-- the streams into an empty schema.

-- NPS answers counted per UTC day of submission, touchpoint and store. Handlers add to
-- the counts; the inbox makes sure each response is added once.
CREATE TABLE nps_daily (
    day        date   NOT NULL,
    touchpoint text   NOT NULL,
    -- '' when the response names no store (web visits, calls).
    store_id   text   NOT NULL,
    promoters  bigint NOT NULL DEFAULT 0,
    passives   bigint NOT NULL DEFAULT 0,
    detractors bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, touchpoint, store_id)
);

-- Points moved, per UTC day and counter, spread over a few shards so that concurrent
-- writers (replicas of this service) do not queue behind one row. Readers sum the rows.
CREATE TABLE points_daily (
    day        date        NOT NULL,
    counter    text        NOT NULL CHECK (counter IN ('credited', 'returned', 'redeemed', 'expired', 'adjusted_out')),
    shard      smallint    NOT NULL,
    points     bigint      NOT NULL DEFAULT 0,
    movements  bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, counter, shard)
);

-- Follow-up cases, one row per case. Opened and resolved events may arrive in either
-- order; each fills what it knows.
CREATE TABLE cases (
    case_id     text PRIMARY KEY,
    kind        text        NOT NULL DEFAULT '',
    team        text        NOT NULL DEFAULT '',
    touchpoint  text        NOT NULL DEFAULT '',
    store_id    text        NOT NULL DEFAULT '',
    outcome     text        NOT NULL DEFAULT '',
    opened_at   timestamptz,
    due_at      timestamptz,
    resolved_at timestamptz
);
CREATE INDEX cases_open ON cases (due_at) WHERE resolved_at IS NULL;

-- Coupons issued and redeemed per UTC day.
CREATE TABLE coupons_daily (
    day      date   PRIMARY KEY,
    issued   bigint NOT NULL DEFAULT 0,
    redeemed bigint NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE coupons_daily;
DROP TABLE cases;
DROP TABLE points_daily;
DROP TABLE nps_daily;
