-- +goose Up
-- The member copy gains what an agent needs to reach the customer, and the points the
-- member has as the feedback service last heard them (the sum of ledger.points.credited
-- and .debited it consumed; the ledger's balance is the truth). The erasure deletes the
-- row and the member's loyalty events.
ALTER TABLE members
    ADD COLUMN display_name text   NOT NULL DEFAULT '',
    ADD COLUMN email        text   NOT NULL DEFAULT '',
    ADD COLUMN phone        text   NOT NULL DEFAULT '',
    ADD COLUMN points       bigint NOT NULL DEFAULT 0;

-- The loyalty events of members the feedback service hears (points credited and debited,
-- tier changes), for the customer's timeline. event_key makes each counted once.
CREATE TABLE member_events (
    event_key text        PRIMARY KEY,
    member_id text        NOT NULL,
    at        timestamptz NOT NULL,
    kind      text        NOT NULL,
    detail    jsonb       NOT NULL DEFAULT '{}',
    -- what the event changed the member's points by.
    delta     bigint      NOT NULL DEFAULT 0
);
CREATE INDEX member_events_member ON member_events (member_id, at DESC);

-- The touchpoint reference of each response (pos:<store>:<transaction> names the
-- purchase), shown on the response's case. Erasure deletes the member's.
CREATE TABLE response_touchpoints (
    response_id    text PRIMARY KEY,
    touchpoint_key text NOT NULL
);

-- +goose Down
DROP TABLE response_touchpoints;
DROP TABLE member_events;
ALTER TABLE members DROP COLUMN display_name, DROP COLUMN email, DROP COLUMN phone, DROP COLUMN points;
