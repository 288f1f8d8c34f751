-- +goose Up

-- What customers' comments talk about, per UTC day, store and topic (feedback's
-- taxonomy): the answers whose comment named the topic, in all and by kind (NPS by class
-- with the scores' sum, CSAT and CES with the favourable answers). Fed by
-- feedback.response.tagged; the inbox makes sure each response counts once. It names no
-- member, so an erasure leaves it as it is.
CREATE TABLE topic_mentions_daily (
    day             date   NOT NULL,
    -- '' for responses that named no store.
    store_id        text   NOT NULL,
    topic           text   NOT NULL,
    mentions        bigint NOT NULL DEFAULT 0,
    promoters       bigint NOT NULL DEFAULT 0,
    passives        bigint NOT NULL DEFAULT 0,
    detractors      bigint NOT NULL DEFAULT 0,
    nps_score_sum   bigint NOT NULL DEFAULT 0,
    csat_responses  bigint NOT NULL DEFAULT 0,
    csat_score_sum  bigint NOT NULL DEFAULT 0,
    csat_favourable bigint NOT NULL DEFAULT 0,
    ces_responses   bigint NOT NULL DEFAULT 0,
    ces_score_sum   bigint NOT NULL DEFAULT 0,
    ces_favourable  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, store_id, topic)
);

-- +goose Down
DROP TABLE topic_mentions_daily;
