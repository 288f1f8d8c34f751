-- +goose Up

-- A response id is what the survey contract says it is: a string of up to 128
-- characters. Storing it as a uuid refused, as a retryable database error, responses
-- the contract accepts.
ALTER TABLE cases ALTER COLUMN response_id TYPE text;

-- +goose Down
ALTER TABLE cases ALTER COLUMN response_id TYPE uuid USING response_id::uuid;
