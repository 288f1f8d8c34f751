-- +goose Up

-- A coupon given free as goodwill on a feedback case (GrantGoodwillCoupon) is a
-- redemption of no points and no hold, marked with its case, so that it stays countable
-- with the others and its code is sealed for the retry window like theirs.
ALTER TABLE redemptions
    ADD COLUMN goodwill_case_id text NOT NULL DEFAULT '',
    ADD COLUMN goodwill_reason  text NOT NULL DEFAULT '',
    DROP CONSTRAINT redemptions_points_check,
    ADD CONSTRAINT redemptions_points_check CHECK (points > 0 OR (points = 0 AND goodwill_case_id <> '')),
    DROP CONSTRAINT redemptions_completed_check,
    ADD CONSTRAINT redemptions_completed_check CHECK (
        status <> 'completed' OR (coupon_id IS NOT NULL AND (hold_id IS NOT NULL OR goodwill_case_id <> '')));

-- +goose Down
DELETE FROM coupons WHERE redemption_id IN (SELECT redemption_id FROM redemptions WHERE goodwill_case_id <> '');
DELETE FROM redemptions WHERE goodwill_case_id <> '';
ALTER TABLE redemptions
    DROP CONSTRAINT redemptions_completed_check,
    ADD CONSTRAINT redemptions_completed_check CHECK (
        status <> 'completed' OR (hold_id IS NOT NULL AND coupon_id IS NOT NULL)),
    DROP CONSTRAINT redemptions_points_check,
    ADD CONSTRAINT redemptions_points_check CHECK (points > 0),
    DROP COLUMN goodwill_reason,
    DROP COLUMN goodwill_case_id;
