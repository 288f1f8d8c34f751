-- +goose Up

-- A member's erasure: when and why their personal data was removed. The row stays, its
-- id a pseudonym under which postings, holds, purchases and returns keep balances and
-- programme totals whole.
ALTER TABLE members
    ADD COLUMN erased_at      timestamptz,
    ADD COLUMN erasure_reason text NOT NULL DEFAULT '',
    ADD CONSTRAINT members_erasure_has_reason CHECK ((erased_at IS NULL) = (erasure_reason = ''));

-- The few erased ids, for the check every balance lock makes.
CREATE INDEX members_erased ON members (id) WHERE erased_at IS NOT NULL;

-- +goose Down
DROP INDEX members_erased;
ALTER TABLE members
    DROP CONSTRAINT members_erasure_has_reason,
    DROP COLUMN erasure_reason,
    DROP COLUMN erased_at;
