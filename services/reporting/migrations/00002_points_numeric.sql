-- +goose Up
-- Points counters are numeric: a bigint counter overflowed once absurd credits came in,
-- and every read of the totals failed until the data was dropped. numeric never
-- overflows at these sizes; readers clamp to what the API's int64 can carry.
ALTER TABLE points_daily ALTER COLUMN points TYPE numeric;

-- +goose Down
ALTER TABLE points_daily ALTER COLUMN points TYPE bigint USING LEAST(points, 9223372036854775807);
