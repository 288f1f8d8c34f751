-- +goose Up

-- CSAT and CES answers counted per UTC day of submission, touchpoint, store and kind:
-- how many, the sum of their scores (for the average) and how many were favourable
-- (CSAT satisfied 4-5, CES low effort 5-7). NPS answers stay in nps_daily.
CREATE TABLE scores_daily (
    day        date   NOT NULL,
    touchpoint text   NOT NULL,
    -- '' when the response names no store (web visits, calls).
    store_id   text   NOT NULL,
    kind       text   NOT NULL CHECK (kind IN ('CSAT', 'CES')),
    responses  bigint NOT NULL DEFAULT 0,
    score_sum  bigint NOT NULL DEFAULT 0,
    favourable bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, touchpoint, store_id, kind)
);

-- +goose Down
DROP TABLE scores_daily;
