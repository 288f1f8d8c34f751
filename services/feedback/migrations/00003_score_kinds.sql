-- +goose Up

-- Responses carry the kind of their score (NPS, CSAT, CES) and the employee they are
-- attributed to; a case keeps both. Cases opened before: '' (NPS).
ALTER TABLE cases ADD COLUMN score_kind text NOT NULL DEFAULT '' CHECK (score_kind IN ('', 'NPS', 'CSAT', 'CES'));
ALTER TABLE cases ADD COLUMN employee_id text NOT NULL DEFAULT '';

-- A dissatisfied CSAT (1-2) or a hard CES (1-3) asks for a call-back like a detractor.
-- The NPS rules are unchanged: a CSAT or CES response has no NPS class.
INSERT INTO routing_rules (name, priority, condition, case_kind, team, due_in) VALUES
    ('dissatisfied-callback', 110,
     '(response.score_kind == "CSAT" && response.score <= 2) || (response.score_kind == "CES" && response.score <= 3)',
     'CALLBACK', 'customer-service', interval '48 hours');

-- +goose Down
DELETE FROM routing_rules WHERE name = 'dissatisfied-callback';
ALTER TABLE cases DROP COLUMN employee_id;
ALTER TABLE cases DROP COLUMN score_kind;
