-- +goose Up
-- The bus's tables, created in every service's schema.

-- Events written in the same transaction as the state change they describe; the relay
-- publishes them to JetStream and deletes them once JetStream has acked.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    event_id   uuid        NOT NULL,
    subject    text        NOT NULL,
    event_type text        NOT NULL,
    payload    bytea       NOT NULL,
    headers    jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per (consumer, event) handled: the row and the event's effects commit together,
-- so a redelivered event is recognised and skipped.
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer could not handle, with the error; listable and replayable.
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    consumer     text        NOT NULL,
    stream       text        NOT NULL,
    stream_seq   bigint      NOT NULL,
    subject      text        NOT NULL,
    event_id     text        NOT NULL,
    event_type   text        NOT NULL,
    content_type text        NOT NULL,
    headers      jsonb       NOT NULL DEFAULT '{}',
    payload      bytea       NOT NULL,
    error        text        NOT NULL,
    deliveries   int         NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    replayed_at  timestamptz,
    UNIQUE (consumer, stream, stream_seq)
);

-- +goose Down
DROP TABLE dead_letters;
DROP TABLE inbox;
DROP TABLE outbox;
