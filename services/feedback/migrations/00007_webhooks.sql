-- +goose Up

-- Outbound webhooks. secret (and previous_secret while a rotation lasts) are signing
-- secrets kept in clear: the service needs them to sign every call. They are secrets of
-- the subscriber, not personal data: an erasure does not concern them; whoever can read
-- this table can forge calls to the subscriber.
CREATE TABLE webhook_subscriptions (
    subscription_id       uuid        PRIMARY KEY,
    url                   text        NOT NULL,
    event_types           text[]      NOT NULL,
    description           text        NOT NULL DEFAULT '',
    secret                text        NOT NULL,
    previous_secret       text,
    previous_secret_until timestamptz,
    active                boolean     NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL,
    rotated_at            timestamptz
);

-- One delivery per subscription and event; body is the exact JSON sent (and sent again
-- by a replay). When the member an event names is erased, the body is replaced by one
-- without data ({"type", "timestamp", "data": {}, "redacted": true}).
CREATE TABLE webhook_deliveries (
    delivery_id      uuid        PRIMARY KEY,
    subscription_id  uuid        NOT NULL REFERENCES webhook_subscriptions,
    event_id         text        NOT NULL,
    event_type       text        NOT NULL,
    body             bytea       NOT NULL,
    status           text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts         int         NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    last_status_code int         NOT NULL DEFAULT 0,
    last_error       text        NOT NULL DEFAULT '',
    -- the member the event names ('' for none): an erasure redacts the body.
    member_id        text        NOT NULL DEFAULT '',
    UNIQUE (subscription_id, event_id)
);

CREATE INDEX webhook_deliveries_member ON webhook_deliveries (member_id) WHERE member_id <> '';

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, created_at DESC, delivery_id DESC);

-- Every attempt of a delivery.
CREATE TABLE webhook_attempts (
    delivery_id  uuid        NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
    attempt      int         NOT NULL,
    attempted_at timestamptz NOT NULL,
    status_code  int         NOT NULL,
    error        text        NOT NULL DEFAULT '',
    duration_ms  bigint      NOT NULL,
    PRIMARY KEY (delivery_id, attempted_at, attempt)
);

-- A case's references in external systems (a CRM's ticket).
CREATE TABLE crm_links (
    case_id            uuid        NOT NULL REFERENCES cases,
    external_system    text        NOT NULL,
    external_reference text        NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (case_id, external_system)
);

-- Every update a CRM sent, by its idempotency key; request_hash tells a retry from a
-- reuse of the key. note holds the CRM's note until cases have notes of their own.
CREATE TABLE crm_updates (
    idempotency_key    text        PRIMARY KEY,
    request_hash       text        NOT NULL,
    case_id            uuid        NOT NULL REFERENCES cases,
    external_system    text        NOT NULL,
    external_reference text        NOT NULL,
    note               text        NOT NULL DEFAULT '',
    status             text        NOT NULL DEFAULT '',
    updated_by         text        NOT NULL,
    received_at        timestamptz NOT NULL
);

CREATE INDEX crm_updates_case ON crm_updates (case_id, received_at);

-- +goose Down
DROP TABLE crm_updates;
DROP TABLE crm_links;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
