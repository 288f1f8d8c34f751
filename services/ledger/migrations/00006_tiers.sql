-- +goose Up

-- The tier programme: how tiers are earned (one row) and the tiers, by rank. No row:
-- no tiers, and every member stays in members.tier's default "standard".
CREATE TABLE tier_programme (
    id            smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    basis         text        NOT NULL CHECK (basis IN ('rolling', 'calendar_year')),
    window_months integer     NOT NULL CHECK (window_months BETWEEN 0 AND 36),
    grace_seconds bigint      NOT NULL CHECK (grace_seconds >= 0),
    currency      text        NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE tiers (
    code            text    PRIMARY KEY,
    name            text    NOT NULL,
    rank            integer NOT NULL UNIQUE,
    min_points      bigint  NOT NULL DEFAULT 0 CHECK (min_points >= 0),
    min_spend_minor bigint  NOT NULL DEFAULT 0 CHECK (min_spend_minor >= 0)
);

-- Qualifying figures per member and calendar month (UTC), added to by purchase batches
-- and taken from by returns: a period's figures are the sum of at most 37 rows.
CREATE TABLE tier_qualifying (
    member_id   uuid   NOT NULL,
    month       date   NOT NULL,
    points      bigint NOT NULL DEFAULT 0,
    spend_minor bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, month)
);

-- A member's tier standing beside members.tier: the downgrade the evaluation scheduled
-- (it happens then unless the figures reach the tier again) and the manual floor.
ALTER TABLE members
    ADD COLUMN IF NOT EXISTS tier_downgrade_due timestamptz,
    ADD COLUMN IF NOT EXISTS manual_tier        text,
    ADD COLUMN IF NOT EXISTS manual_tier_until  timestamptz;

-- +goose Down
ALTER TABLE members
    DROP COLUMN IF EXISTS manual_tier_until,
    DROP COLUMN IF EXISTS manual_tier,
    DROP COLUMN IF EXISTS tier_downgrade_due;
DROP TABLE tier_qualifying;
DROP TABLE tiers;
DROP TABLE tier_programme;
