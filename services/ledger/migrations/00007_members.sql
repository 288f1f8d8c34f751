-- +goose Up

-- The profile earning rules read: segment tags and string attributes. The earning
-- migration adds the same columns with the same definitions.
ALTER TABLE members ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE members ADD COLUMN IF NOT EXISTS attributes jsonb NOT NULL DEFAULT '{}';

-- Staff search members by the start of their name or email, case-insensitively.
CREATE INDEX members_name_prefix ON members (lower(display_name) text_pattern_ops);
CREATE INDEX members_email_prefix ON members (lower(email) text_pattern_ops);

-- What a till or shop may name a member by: loyalty cards (several per member), email,
-- phone. value is normalised (domain.ParseIdentifier): a card's letters upper-cased
-- without spaces or dashes, an email lower-cased, a phone as + and digits. Each
-- identifier belongs to one member.
CREATE TABLE member_identifiers (
    kind      text        NOT NULL CHECK (kind IN ('card', 'email', 'phone')),
    value     text        NOT NULL,
    member_id uuid        NOT NULL REFERENCES members (id),
    added_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX member_identifiers_member ON member_identifiers (member_id);
-- Staff search by the start of an identifier.
CREATE INDEX member_identifiers_prefix ON member_identifiers (value text_pattern_ops);

-- The identifier an unmatched purchase named, normalised, so that a member who later
-- holds it is offered the purchase ('' when the reference is no identifier).
ALTER TABLE unmatched_purchases
    ADD COLUMN identifier_kind  text NOT NULL DEFAULT '',
    ADD COLUMN identifier_value text NOT NULL DEFAULT '';
CREATE INDEX unmatched_purchases_identifier ON unmatched_purchases (identifier_kind, identifier_value)
    WHERE claimed_at IS NULL AND identifier_kind <> '';

-- Purchases claimed by a member after the fact, once each: the receipt's key is the
-- primary key, the claim call's scoped idempotency key a unique key of its own.
CREATE TABLE purchase_claims (
    store_id        text        NOT NULL,
    transaction_id  text        NOT NULL,
    member_id       uuid        NOT NULL REFERENCES members (id),
    points          bigint      NOT NULL,
    ledger_tx_id    uuid,
    channel         text        NOT NULL,
    actor           text        NOT NULL,
    claimed_at      timestamptz NOT NULL,
    idempotency_key text        NOT NULL UNIQUE,
    request_hash    text        NOT NULL,
    PRIMARY KEY (store_id, transaction_id)
);

-- Consents with their evidence: every grant and withdrawal, kept. The member's
-- survey_consent and marketing_consent follow the latest record of each purpose. An
-- erasure clears the evidence (which may identify the person) and keeps the facts.
CREATE TABLE consent_records (
    id              uuid        PRIMARY KEY,
    member_id       uuid        NOT NULL REFERENCES members (id),
    purpose         text        NOT NULL CHECK (purpose IN ('survey', 'marketing')),
    granted         boolean     NOT NULL,
    wording         text        NOT NULL DEFAULT '',
    wording_version text        NOT NULL DEFAULT '',
    channel         text        NOT NULL DEFAULT '',
    actor           text        NOT NULL,
    key_id          text        NOT NULL DEFAULT '',
    evidence        text        NOT NULL DEFAULT '',
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX consent_records_member ON consent_records (member_id, recorded_at DESC, id DESC);

-- +goose Down
DROP TABLE consent_records;
DROP TABLE purchase_claims;
DROP INDEX unmatched_purchases_identifier;
ALTER TABLE unmatched_purchases DROP COLUMN identifier_kind, DROP COLUMN identifier_value;
DROP TABLE member_identifiers;
DROP INDEX members_email_prefix;
DROP INDEX members_name_prefix;
