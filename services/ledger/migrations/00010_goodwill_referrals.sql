-- +goose Up

-- Goodwill: points the feedback service grants when a case is resolved, booked from
-- program:goodwill (minus all goodwill ever granted) within a monthly budget.
INSERT INTO accounts (name) VALUES ('program:goodwill') ON CONFLICT DO NOTHING;

-- What each month's goodwill bookings used of the budget. Every booking locks its
-- month's row, so the budget cannot be overspent by batches running at once.
CREATE TABLE goodwill_budgets (
    month  date  PRIMARY KEY,
    used   int8  NOT NULL DEFAULT 0 CHECK (used >= 0)
);

-- Every grant decided, once: booked (with its transaction), refused for the budget, or
-- of a member unknown or erased. A redelivered grant finds its row and changes nothing.
CREATE TABLE goodwill_grants (
    grant_id        text        PRIMARY KEY,
    case_id         text        NOT NULL,
    member_id       text        NOT NULL,
    points          int8        NOT NULL CHECK (points > 0),
    outcome         text        NOT NULL CHECK (outcome IN ('booked', 'budget_exhausted', 'member_gone')),
    transaction_id  uuid        REFERENCES transactions (id),
    month           date        NOT NULL,
    decided_at      timestamptz NOT NULL,
    CHECK ((outcome = 'booked') = (transaction_id IS NOT NULL))
);

-- Referral codes: one per member, 8 characters of Crockford's base32 (no I, L, O, U),
-- unique. Enrolment draws them in Go (and draws again on a collision); this default
-- serves rows written by SQL alone, and the backfill of the members enrolled before.
-- +goose StatementBegin
CREATE FUNCTION new_referral_code() RETURNS text LANGUAGE sql VOLATILE AS $$
    -- 8 random bytes of a v4 UUID (not the version and variant bytes 6 and 8), 5 bits each.
    SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (get_byte(x.b, p.i) & 31) + 1, 1), '' ORDER BY p.o)
    FROM (SELECT uuid_send(gen_random_uuid()) AS b) x,
         unnest(ARRAY[0, 1, 2, 3, 4, 5, 10, 11]) WITH ORDINALITY AS p(i, o)
$$;
-- +goose StatementEnd

ALTER TABLE members ADD COLUMN referral_code text;
UPDATE members SET referral_code = new_referral_code();
-- Draw again for the (unlikely) duplicates until there are none.
-- +goose StatementBegin
DO $$
BEGIN
    LOOP
        UPDATE members SET referral_code = new_referral_code()
        WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY referral_code ORDER BY id) AS n FROM members) d WHERE d.n > 1);
        EXIT WHEN NOT FOUND;
    END LOOP;
END
$$;
-- +goose StatementEnd
ALTER TABLE members ALTER COLUMN referral_code SET DEFAULT new_referral_code(),
    ALTER COLUMN referral_code SET NOT NULL;
CREATE UNIQUE INDEX members_referral_code ON members (referral_code);

-- +goose Down
DROP INDEX members_referral_code;
ALTER TABLE members DROP COLUMN referral_code;
DROP FUNCTION new_referral_code();
DROP TABLE goodwill_grants;
DROP TABLE goodwill_budgets;
DELETE FROM accounts WHERE name = 'program:goodwill';
