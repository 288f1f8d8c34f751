-- +goose Up

-- Survey definitions have versions. A version is a draft until published and never
-- changes after that; publishing the next one supersedes it. Invitations are made to the
-- published version and answered in it. spec is the version's questions and texts (the
-- shape of treue.survey.v1.SurveyVersionSpec, in snake_case JSON).
CREATE TABLE survey_versions (
    survey_id    uuid        NOT NULL REFERENCES surveys (id),
    version      int         NOT NULL CHECK (version > 0),
    status       text        NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'SUPERSEDED')),
    spec         jsonb       NOT NULL,
    score_kind   text        NOT NULL CHECK (score_kind IN ('NPS', 'CSAT', 'CES')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    PRIMARY KEY (survey_id, version),
    CHECK ((status = 'DRAFT') = (published_at IS NULL))
);
-- At most one published version and one draft per survey.
CREATE UNIQUE INDEX survey_versions_published ON survey_versions (survey_id) WHERE status = 'PUBLISHED';
CREATE UNIQUE INDEX survey_versions_draft ON survey_versions (survey_id) WHERE status = 'DRAFT';

-- A survey: its name, the version new invitations go to (0: none yet), when it was
-- retired, and the idempotency key of the call that created it with a hash of that
-- call's content (a retry with the same key and content returns the same survey; with
-- other content it is refused). The seeded surveys have no key.
ALTER TABLE surveys
    ADD COLUMN published_version int NOT NULL DEFAULT 0,
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN idempotency_key text UNIQUE,
    ADD COLUMN request_hash text NOT NULL DEFAULT '';
CREATE INDEX surveys_created ON surveys (created_at DESC, id DESC);

-- The seeded NPS survey becomes version 1, published, with follow-up questions by score.
INSERT INTO survey_versions (survey_id, version, status, spec, score_kind, created_at, published_at)
SELECT s.id, 1, 'PUBLISHED', jsonb_build_object(
    'default_locale', s.default_locale,
    'texts', '{"en": {"title": "Your opinion", "intro": "", "thanks": "Thank you! Your answer has been recorded.", "email_subject": "How did we do?"},
               "de": {"title": "Ihre Meinung", "intro": "", "thanks": "Vielen Dank! Ihre Antwort wurde gespeichert.", "email_subject": "Wie waren wir?"}}'::jsonb,
    'score_question_id', 'nps',
    'questions', jsonb_build_array(
        jsonb_build_object('id', 'nps', 'kind', 'NPS', 'required', true, 'texts',
            (SELECT jsonb_object_agg(t.locale, jsonb_build_object(
                'prompt', t.question, 'low_label', t.low_label, 'high_label', t.high_label))
             FROM survey_texts t WHERE t.survey_id = s.id)),
        '{"id": "reason", "kind": "OPEN_TEXT", "required": false,
          "show_if": {"question_id": "nps", "min_score": 0, "max_score": 6},
          "texts": {"en": {"prompt": "What is the main reason for your score?"},
                    "de": {"prompt": "Was ist der Hauptgrund für Ihre Bewertung?"}}}'::jsonb,
        '{"id": "improve", "kind": "OPEN_TEXT", "required": false,
          "show_if": {"question_id": "nps", "min_score": 7, "max_score": 8},
          "texts": {"en": {"prompt": "What could we do better?"},
                    "de": {"prompt": "Was könnten wir besser machen?"}}}'::jsonb,
        '{"id": "praise", "kind": "OPEN_TEXT", "required": false,
          "show_if": {"question_id": "nps", "min_score": 9, "max_score": 10},
          "texts": {"en": {"prompt": "What did you like most?"},
                    "de": {"prompt": "Was hat Ihnen am besten gefallen?"}}}'::jsonb)),
    'NPS', s.created_at, s.created_at
FROM surveys s WHERE s.id = '0192f0c8-5a1e-7000-8000-000000000001';

-- Surveys created before versions (none but the seeded one in practice) keep their texts
-- as a version 1 with the score question alone.
INSERT INTO survey_versions (survey_id, version, status, spec, score_kind, created_at, published_at)
SELECT s.id, 1, 'PUBLISHED', jsonb_build_object(
    'default_locale', s.default_locale,
    'texts', (SELECT jsonb_object_agg(t.locale, jsonb_build_object('title', s.name)) FROM survey_texts t WHERE t.survey_id = s.id),
    'score_question_id', 'nps',
    'questions', jsonb_build_array(jsonb_build_object('id', 'nps', 'kind', 'NPS', 'required', true, 'texts',
        (SELECT jsonb_object_agg(t.locale, jsonb_build_object(
            'prompt', t.question, 'low_label', t.low_label, 'high_label', t.high_label))
         FROM survey_texts t WHERE t.survey_id = s.id)))),
    'NPS', s.created_at, s.created_at
FROM surveys s
WHERE NOT EXISTS (SELECT 1 FROM survey_versions v WHERE v.survey_id = s.id)
  AND EXISTS (SELECT 1 FROM survey_texts t WHERE t.survey_id = s.id);

UPDATE surveys s SET published_version = 1 WHERE EXISTS (SELECT 1 FROM survey_versions v WHERE v.survey_id = s.id);

-- The texts live in the versions now; kind is the score kind of each version.
DROP TABLE survey_texts;
ALTER TABLE surveys DROP COLUMN kind, DROP COLUMN version;

-- A CSAT and a CES survey, published, ready for trigger rules.
INSERT INTO surveys (id, name, default_locale, published_version) VALUES
    ('0192f0c8-5a1e-7000-8000-000000000002', 'Service satisfaction', 'en', 1),
    ('0192f0c8-5a1e-7000-8000-000000000003', 'Ease of the contact', 'en', 1);
INSERT INTO survey_versions (survey_id, version, status, spec, score_kind, created_at, published_at) VALUES
    ('0192f0c8-5a1e-7000-8000-000000000002', 1, 'PUBLISHED', '{
      "default_locale": "en",
      "texts": {"en": {"title": "Your opinion", "intro": "", "thanks": "Thank you! Your answer has been recorded.", "email_subject": "How satisfied were you with our service?"},
                "de": {"title": "Ihre Meinung", "intro": "", "thanks": "Vielen Dank! Ihre Antwort wurde gespeichert.", "email_subject": "Wie zufrieden waren Sie mit unserem Service?"}},
      "score_question_id": "csat",
      "questions": [
        {"id": "csat", "kind": "CSAT", "required": true,
         "texts": {"en": {"prompt": "How satisfied are you with our service?", "low_label": "Very dissatisfied", "high_label": "Very satisfied"},
                   "de": {"prompt": "Wie zufrieden sind Sie mit unserem Service?", "low_label": "Sehr unzufrieden", "high_label": "Sehr zufrieden"}}},
        {"id": "reason", "kind": "OPEN_TEXT", "required": false,
         "show_if": {"question_id": "csat", "min_score": 1, "max_score": 3},
         "texts": {"en": {"prompt": "What is the main reason for your score?"},
                   "de": {"prompt": "Was ist der Hauptgrund für Ihre Bewertung?"}}}
      ]}', 'CSAT', now(), now()),
    ('0192f0c8-5a1e-7000-8000-000000000003', 1, 'PUBLISHED', '{
      "default_locale": "en",
      "texts": {"en": {"title": "Your opinion", "intro": "", "thanks": "Thank you! Your answer has been recorded.", "email_subject": "How easy was it?"},
                "de": {"title": "Ihre Meinung", "intro": "", "thanks": "Vielen Dank! Ihre Antwort wurde gespeichert.", "email_subject": "Wie einfach war es?"}},
      "score_question_id": "ces",
      "questions": [
        {"id": "ces", "kind": "CES", "required": true,
         "texts": {"en": {"prompt": "How easy was it to get what you needed?", "low_label": "Very difficult", "high_label": "Very easy"},
                   "de": {"prompt": "Wie einfach war es, das zu bekommen, was Sie brauchten?", "low_label": "Sehr schwierig", "high_label": "Sehr einfach"}}},
        {"id": "reason", "kind": "OPEN_TEXT", "required": false,
         "show_if": {"question_id": "ces", "min_score": 1, "max_score": 4},
         "texts": {"en": {"prompt": "What is the main reason for your score?"},
                   "de": {"prompt": "Was ist der Hauptgrund für Ihre Bewertung?"}}}
      ]}', 'CES', now(), now());

-- A response records the version it answered, the kind of its score and every answer
-- (by question id: {"score": n} | {"choice_ids": [...]} | {"text": "..."}); the score's
-- range depends on its kind, and only NPS has a class. Attribution travels from the
-- invitation. Erasure clears comment, the answers' texts and locale.
ALTER TABLE responses
    ADD COLUMN survey_version int NOT NULL DEFAULT 1,
    ADD COLUMN score_kind text NOT NULL DEFAULT 'NPS' CHECK (score_kind IN ('NPS', 'CSAT', 'CES')),
    ADD COLUMN answers jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN locale text NOT NULL DEFAULT '',
    ADD COLUMN employee_id text NOT NULL DEFAULT '',
    ADD COLUMN channel text NOT NULL DEFAULT '',
    ADD COLUMN touchpoint_key text NOT NULL DEFAULT '',
    ADD COLUMN trigger_id uuid;
ALTER TABLE responses DROP CONSTRAINT responses_score_check, DROP CONSTRAINT responses_nps_class_check;
ALTER TABLE responses ALTER COLUMN nps_class DROP NOT NULL;
ALTER TABLE responses ADD CONSTRAINT responses_score_check CHECK (
    (score_kind = 'NPS' AND score BETWEEN 0 AND 10 AND nps_class IN ('DETRACTOR', 'PASSIVE', 'PROMOTER'))
    OR (score_kind = 'CSAT' AND score BETWEEN 1 AND 5 AND nps_class IS NULL)
    OR (score_kind = 'CES' AND score BETWEEN 1 AND 7 AND nps_class IS NULL));
-- Responses from before: the score answered "nps", the comment the follow-up of its score.
UPDATE responses r SET
    answers = jsonb_build_object('nps', jsonb_build_object('score', r.score))
        || CASE WHEN r.comment = '' THEN '{}'::jsonb
                ELSE jsonb_build_object(CASE WHEN r.score <= 6 THEN 'reason' WHEN r.score <= 8 THEN 'improve' ELSE 'praise' END,
                                        jsonb_build_object('text', r.comment)) END,
    touchpoint_key = i.trigger_key, locale = coalesce(i.locale, '')
FROM invitations i WHERE i.id = r.invitation_id;
CREATE INDEX responses_survey ON responses (survey_id, survey_version, submitted_at DESC);

-- Answered invitations say so (their status is SENT from before statuses).
UPDATE invitations i SET status = 'ANSWERED'
WHERE EXISTS (SELECT 1 FROM responses r WHERE r.invitation_id = i.id) AND status <> 'ANSWERED';

-- Answers saved on the way, before the member submits; deleted with the submission
-- and on erasure.
CREATE TABLE response_drafts (
    invitation_id uuid PRIMARY KEY REFERENCES invitations (id),
    answers       jsonb       NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE response_drafts;
DROP INDEX responses_survey;
DELETE FROM responses WHERE score_kind <> 'NPS';
ALTER TABLE responses DROP CONSTRAINT responses_score_check;
ALTER TABLE responses ALTER COLUMN nps_class SET NOT NULL;
ALTER TABLE responses ADD CONSTRAINT responses_score_check CHECK (score BETWEEN 0 AND 10),
    ADD CONSTRAINT responses_nps_class_check CHECK (nps_class IN ('DETRACTOR', 'PASSIVE', 'PROMOTER'));
ALTER TABLE responses DROP COLUMN survey_version, DROP COLUMN score_kind, DROP COLUMN answers, DROP COLUMN locale,
    DROP COLUMN employee_id, DROP COLUMN channel, DROP COLUMN touchpoint_key, DROP COLUMN trigger_id;

ALTER TABLE surveys ADD COLUMN kind text NOT NULL DEFAULT 'NPS' CHECK (kind IN ('NPS')),
    ADD COLUMN version int NOT NULL DEFAULT 1;
CREATE TABLE survey_texts (
    survey_id  uuid NOT NULL REFERENCES surveys (id),
    locale     text NOT NULL,
    question   text NOT NULL,
    low_label  text NOT NULL,
    high_label text NOT NULL,
    PRIMARY KEY (survey_id, locale)
);
-- Each NPS survey's texts come back from its published (else latest) version's score
-- question; other surveys and their invitations cannot be kept.
INSERT INTO survey_texts (survey_id, locale, question, low_label, high_label)
SELECT v.survey_id, t.key, t.value ->> 'prompt', coalesce(t.value ->> 'low_label', ''), coalesce(t.value ->> 'high_label', '')
FROM (SELECT DISTINCT ON (survey_id) * FROM survey_versions
      ORDER BY survey_id, (status = 'PUBLISHED') DESC, version DESC) v,
     jsonb_array_elements(v.spec -> 'questions') q,
     jsonb_each(q -> 'texts') t
WHERE v.score_kind = 'NPS' AND q ->> 'id' = v.spec ->> 'score_question_id';
DROP TABLE survey_versions;
DELETE FROM deliveries d USING invitations i
WHERE d.invitation_id = i.id AND NOT EXISTS (SELECT 1 FROM survey_texts t WHERE t.survey_id = i.survey_id);
DELETE FROM invitations i WHERE NOT EXISTS (SELECT 1 FROM survey_texts t WHERE t.survey_id = i.survey_id);
DELETE FROM surveys s WHERE NOT EXISTS (SELECT 1 FROM survey_texts t WHERE t.survey_id = s.id);
DROP INDEX surveys_created;
ALTER TABLE surveys DROP COLUMN published_version, DROP COLUMN retired_at, DROP COLUMN idempotency_key,
    DROP COLUMN request_hash;
