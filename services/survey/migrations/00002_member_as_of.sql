-- +goose Up

-- When the ledger's member was as the copy says (their enrolment or a change of consent),
-- so that a late, older event cannot undo a newer one: a withdrawn consent stays
-- withdrawn. NULL for copies made before it was kept.
ALTER TABLE members ADD COLUMN as_of timestamptz;

-- +goose Down
ALTER TABLE members DROP COLUMN as_of;
