-- +goose Up

-- A completed redemption keeps its coupon code sealed (AES-256-GCM under the service's
-- key, bound to the redemption id) until sealed_code_until, so that a retry of a Redeem
-- whose response was lost can show the code again. The code is never stored in clear;
-- a background job wipes the ciphertext once the window has passed.
ALTER TABLE redemptions
    ADD COLUMN sealed_code       bytea,
    ADD COLUMN sealed_code_until timestamptz,
    -- A settler working on an abandoned redemption claims it until then, so that other
    -- replicas leave it alone meanwhile.
    ADD COLUMN settle_claimed_until timestamptz,
    ADD CONSTRAINT redemptions_sealed_code_check CHECK (
        (sealed_code IS NULL) = (sealed_code_until IS NULL)
        AND (sealed_code IS NULL OR status = 'completed'));

CREATE INDEX redemptions_sealed_code_until_idx ON redemptions (sealed_code_until)
    WHERE sealed_code IS NOT NULL;
-- The settler's look-up: redemptions still requested, oldest first. Few rows at any time.
CREATE INDEX redemptions_requested_idx ON redemptions (created_at)
    WHERE status = 'requested';

-- +goose Down
DROP INDEX redemptions_requested_idx;
DROP INDEX redemptions_sealed_code_until_idx;
ALTER TABLE redemptions
    DROP CONSTRAINT redemptions_sealed_code_check,
    DROP COLUMN settle_claimed_until,
    DROP COLUMN sealed_code_until,
    DROP COLUMN sealed_code;
