-- +goose Up
-- Inbox rows are pruned after a retention period. processed_at grows with the insert
-- order, so a BRIN index finds old rows at almost no cost to the inserts.
CREATE INDEX inbox_processed_at ON inbox USING brin (processed_at);

-- +goose Down
DROP INDEX inbox_processed_at;
