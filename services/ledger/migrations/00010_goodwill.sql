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

-- +goose Down
DROP TABLE goodwill_grants;
DROP TABLE goodwill_budgets;
DELETE FROM accounts WHERE name = 'program:goodwill';
