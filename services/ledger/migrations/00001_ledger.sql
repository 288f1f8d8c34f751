-- +goose Up

-- Members and the idempotency key of the Enroll call that created each.
CREATE TABLE members (
    id                uuid        PRIMARY KEY,
    display_name      text        NOT NULL,
    email             text        NOT NULL,
    locale            text        NOT NULL,
    survey_consent    boolean     NOT NULL,
    marketing_consent boolean     NOT NULL,
    tier              text        NOT NULL,
    enrolled_at       timestamptz NOT NULL,
    idempotency_key   text        NOT NULL UNIQUE,
    request_hash      text        NOT NULL
);

-- Accounts. A member's accounts (member:<id>, member:<id>:hold, member:<id>:pending)
-- keep a stored balance, moved in the transaction that writes their postings; it may
-- never go below zero. Programme accounts (program:*) keep none: every posting would
-- update their one row and writers would queue behind its lock, so their balances are
-- derived from the postings (program_balances).
CREATE TABLE accounts (
    name      text PRIMARY KEY,
    member_id uuid REFERENCES members (id),
    balance   bigint CONSTRAINT accounts_balance_not_negative CHECK (balance >= 0),
    CONSTRAINT accounts_member_has_balance CHECK ((member_id IS NULL) = (balance IS NULL)),
    CONSTRAINT accounts_name_kind CHECK ((member_id IS NULL) = (name LIKE 'program:%'))
) WITH (fillfactor = 70); -- room for HOT updates of the balances

INSERT INTO accounts (name) VALUES
    ('program:issued'), ('program:redeemed'), ('program:expired'), ('program:adjustments');

-- The journal: append-only, one transaction per idempotency key.
CREATE TABLE transactions (
    id              uuid        PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE,
    kind            text        NOT NULL,
    reason          text        NOT NULL DEFAULT '',
    reference       text        NOT NULL DEFAULT '',
    member_id       uuid,
    created_at      timestamptz NOT NULL
);
-- A member's history, newest first: ids are UUIDv7, so their order is creation order.
CREATE INDEX transactions_member_history ON transactions (member_id, id DESC) WHERE member_id IS NOT NULL;

-- Postings carry no foreign keys: a key check takes a KEY SHARE lock on the referenced
-- row, and on program:issued that would serialise every writer. The one code path that
-- writes postings opens accounts first; the tests check that every posting's accounts exist.
CREATE TABLE postings (
    transaction_id uuid     NOT NULL,
    seq            smallint NOT NULL,
    source         text     NOT NULL,
    destination    text     NOT NULL,
    amount         bigint   NOT NULL CHECK (amount > 0),
    CHECK (source <> destination),
    PRIMARY KEY (transaction_id, seq)
);

-- Every account's balance as its postings say.
CREATE VIEW account_balances AS
SELECT account, sum(change)::bigint AS balance
FROM (
    SELECT destination AS account, amount AS change FROM postings
    UNION ALL
    SELECT source, -amount FROM postings
) moves
GROUP BY account;

-- Programme balances, derived from the postings.
CREATE VIEW program_balances AS
SELECT a.name AS account, COALESCE(b.balance, 0)::bigint AS balance
FROM accounts a LEFT JOIN account_balances b ON b.account = a.name
WHERE a.member_id IS NULL;

-- POS purchases, once per (store, transaction) whatever the event id: the insert that
-- wins decides whether points are credited. Lines are kept for returns, as json (not
-- jsonb): they are stored on the hot path and only read rarely.
CREATE TABLE purchases (
    store_id        text        NOT NULL,
    transaction_id  text        NOT NULL,
    event_id        text        NOT NULL,
    member_ref      text        NOT NULL DEFAULT '',
    member_id       uuid,
    occurred_at     timestamptz NOT NULL,
    currency        text        NOT NULL,
    total_minor     bigint      NOT NULL,
    points          bigint      NOT NULL DEFAULT 0,
    points_returned bigint      NOT NULL DEFAULT 0,
    lines           json        NOT NULL DEFAULT '[]',
    ledger_tx_id    uuid,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, transaction_id)
);

-- Purchases that named a member the ledger does not know, kept to be claimed.
CREATE TABLE unmatched_purchases (
    store_id       text        NOT NULL,
    transaction_id text        NOT NULL,
    member_ref     text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    currency       text        NOT NULL,
    total_minor    bigint      NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    claimed_at     timestamptz,
    claimed_by     uuid,
    PRIMARY KEY (store_id, transaction_id)
);

-- POS returns, once per (store, return). points is what the return called for, debited
-- what the member still had, shortfall the rest; orphan marks a return booked from its
-- own amount because its purchase never came.
CREATE TABLE returns (
    store_id                text        NOT NULL,
    return_id               text        NOT NULL,
    original_transaction_id text        NOT NULL,
    event_id                text        NOT NULL,
    member_ref              text        NOT NULL DEFAULT '',
    member_id               uuid,
    occurred_at             timestamptz NOT NULL,
    currency                text        NOT NULL,
    total_minor             bigint      NOT NULL,
    lines                   json        NOT NULL DEFAULT '[]',
    points                  bigint      NOT NULL DEFAULT 0,
    debited                 bigint      NOT NULL DEFAULT 0,
    shortfall               bigint      NOT NULL DEFAULT 0,
    orphan                  boolean     NOT NULL DEFAULT false,
    ledger_tx_id            uuid,
    recorded_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, return_id)
);
-- Returns booked before their purchase, looked up when the purchase comes.
CREATE INDEX returns_orphans ON returns (store_id, original_transaction_id) WHERE orphan;

-- Two-phase redemptions: placed, then captured, voided or expired.
CREATE TABLE holds (
    id              uuid        PRIMARY KEY,
    member_id       uuid        NOT NULL REFERENCES members (id),
    points          bigint      NOT NULL CHECK (points > 0),
    reference       text        NOT NULL DEFAULT '',
    status          text        NOT NULL CHECK (status IN ('placed', 'captured', 'voided', 'expired')),
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    closed_at       timestamptz,
    void_reason     text        NOT NULL DEFAULT '',
    idempotency_key text        NOT NULL UNIQUE,
    request_hash    text        NOT NULL
);
CREATE INDEX holds_open_by_expiry ON holds (expires_at) WHERE status = 'placed';

-- +goose Down
DROP TABLE holds;
DROP TABLE returns;
DROP TABLE unmatched_purchases;
DROP TABLE purchases;
DROP VIEW program_balances;
DROP VIEW account_balances;
DROP TABLE postings;
DROP TABLE transactions;
DROP TABLE accounts;
DROP TABLE members;
