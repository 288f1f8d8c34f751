-- +goose Up

-- Debts: a return that takes back points the member already spent records what they
-- owe on member:<id>:debt, against program:debts (minus what all members owe). The next
-- points that become available pay it back first.
INSERT INTO accounts (name) VALUES ('program:debts') ON CONFLICT DO NOTHING;
INSERT INTO accounts (name, member_id, balance)
SELECT 'member:' || id || ':debt', id, 0 FROM members
ON CONFLICT DO NOTHING;

-- One row per debt, to see a member's debt repeat; the member is flagged when it does.
CREATE TABLE debts (
    idempotency_key text        PRIMARY KEY,
    member_id       uuid        NOT NULL,
    points          bigint      NOT NULL CHECK (points > 0),
    reference       text        NOT NULL DEFAULT '',
    at              timestamptz NOT NULL
);
CREATE INDEX debts_member ON debts (member_id, at);
ALTER TABLE members ADD COLUMN IF NOT EXISTS debt_flagged_at timestamptz;

-- Lots: the points of one credit that expire together. Pending lots are in their return
-- window (on member:<id>:pending); the others are available. remaining is what is
-- neither spent (held), taken back nor expired: the remaining of a member's available
-- lots adds up to their available balance, and that of their pending lots to pending.
CREATE TABLE lots (
    id          uuid        PRIMARY KEY,
    member_id   uuid        NOT NULL,
    credit_tx   uuid,
    reference   text        NOT NULL DEFAULT '',
    points      bigint      NOT NULL CHECK (points > 0),
    remaining   bigint      NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    pending     boolean     NOT NULL,
    earned_at   timestamptz NOT NULL,
    matures_at  timestamptz,
    expires_at  timestamptz,
    expired     bigint      NOT NULL DEFAULT 0 CHECK (expired >= 0),
    expired_at  timestamptz,
    notified_at timestamptz,
    CHECK (NOT pending OR matures_at IS NOT NULL)
);
-- A member's lots with points left, for spending; a credit's lots, for its maturation.
CREATE INDEX lots_member_open ON lots (member_id) WHERE remaining > 0;
CREATE INDEX lots_credit ON lots (credit_tx) WHERE pending;
-- The jobs' queues: lots to mature, to expire, to announce.
CREATE INDEX lots_maturing ON lots (matures_at) WHERE pending;
CREATE INDEX lots_expiring ON lots (expires_at) WHERE remaining > 0 AND NOT pending AND expires_at IS NOT NULL;
CREATE INDEX lots_notice ON lots (expires_at) WHERE notified_at IS NULL AND remaining > 0 AND NOT pending AND expires_at IS NOT NULL;

-- Which lots a hold took, and how much of each: a void gives the same lots back.
CREATE TABLE hold_lots (
    hold_id uuid   NOT NULL,
    lot_id  uuid   NOT NULL,
    points  bigint NOT NULL CHECK (points > 0),
    PRIMARY KEY (hold_id, lot_id)
);

-- Balances from before lots: one lot per member that never expires, so that lots add up
-- to the balances from the start (held points come back to it on a void).
INSERT INTO lots (id, member_id, points, remaining, pending, earned_at)
SELECT gen_random_uuid(), a.member_id, a.balance + COALESCE(h.balance, 0), a.balance, false, now()
FROM accounts a
LEFT JOIN accounts h ON h.name = a.name || ':hold'
WHERE a.member_id IS NOT NULL AND a.name = 'member:' || a.member_id AND a.balance + COALESCE(h.balance, 0) > 0;
INSERT INTO hold_lots (hold_id, lot_id, points)
SELECT h.id, l.id, h.points FROM holds h JOIN lots l ON l.member_id = h.member_id
WHERE h.status = 'placed';

-- +goose Down
DROP TABLE hold_lots;
DROP TABLE lots;
ALTER TABLE members DROP COLUMN IF EXISTS debt_flagged_at;
DROP TABLE debts;
DELETE FROM accounts WHERE name LIKE 'member:%:debt' OR name = 'program:debts';
