-- +goose Up

-- The member's IANA time zone (Europe/Berlin), '' when not known: surveys keep quiet
-- hours in it.
ALTER TABLE members ADD COLUMN time_zone text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE members DROP COLUMN time_zone;
