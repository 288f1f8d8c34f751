-- +goose Up

-- A rule may be exempt from the frequency cap: the follow-up survey of a resolved case
-- reaches a member surveyed shortly before (the survey that opened the case, most
-- often). Consent, quiet hours, open cases and erasure still apply.
ALTER TABLE trigger_rules ADD COLUMN exempt_from_frequency_cap boolean NOT NULL DEFAULT false;

-- "Did we solve your problem?": the follow-up survey of a resolved feedback case. Its
-- touchpoint key is case:<case id>, so that the feedback service links the answer to the
-- case instead of opening another.
INSERT INTO surveys (id, name, default_locale, published_version) VALUES
    ('0192f0c8-5a1e-7000-8000-000000000004', 'Did we solve your problem?', 'en', 1);
INSERT INTO survey_versions (survey_id, version, status, spec, score_kind, created_at, published_at) VALUES
    ('0192f0c8-5a1e-7000-8000-000000000004', 1, 'PUBLISHED', '{
      "default_locale": "en",
      "texts": {"en": {"title": "Did we solve your problem?", "intro": "You told us about a problem, and we followed it up. Did we solve it?", "thanks": "Thank you! Your answer has been recorded.", "email_subject": "Did we solve your problem?"},
                "de": {"title": "Haben wir Ihr Problem gelöst?", "intro": "Sie haben uns von einem Problem erzählt, und wir haben uns darum gekümmert. Ist es gelöst?", "thanks": "Vielen Dank! Ihre Antwort wurde gespeichert.", "email_subject": "Haben wir Ihr Problem gelöst?"}},
      "score_question_id": "csat",
      "questions": [
        {"id": "solved", "kind": "SINGLE_CHOICE", "required": true,
         "texts": {"en": {"prompt": "Is your problem solved?"},
                   "de": {"prompt": "Ist Ihr Problem gelöst?"}},
         "choices": [{"id": "yes", "labels": {"en": "Yes", "de": "Ja"}},
                     {"id": "no", "labels": {"en": "No", "de": "Nein"}}]},
        {"id": "csat", "kind": "CSAT", "required": true,
         "texts": {"en": {"prompt": "How satisfied are you with how we handled it?", "low_label": "Very dissatisfied", "high_label": "Very satisfied"},
                   "de": {"prompt": "Wie zufrieden sind Sie damit, wie wir es gelöst haben?", "low_label": "Sehr unzufrieden", "high_label": "Sehr zufrieden"}}},
        {"id": "reason", "kind": "OPEN_TEXT", "required": false,
         "show_if": {"question_id": "solved", "any_of": ["no"]},
         "texts": {"en": {"prompt": "What is still missing?"},
                   "de": {"prompt": "Was fehlt noch?"}}}
      ]}', 'CSAT', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');

-- Its rule: an hour after a case is resolved, by email, else the webhook; before the
-- every-contact rule (priority 0), and past the frequency cap.
INSERT INTO trigger_rules (id, version, active, name, touchpoints, condition, survey_id, delay_seconds,
                           sampling_rate, channels, priority, exempt_from_frequency_cap, created_at, updated_at)
VALUES ('0192f0c8-5a1e-7000-8000-0000000000a2', 1, true, 'Did we solve your problem? after a resolved case',
        '{CASE_RESOLVED}', '', '0192f0c8-5a1e-7000-8000-000000000004', 3600, 1, '{EMAIL,WEBHOOK}', 100, true,
        '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
UPDATE trigger_rules_epoch SET epoch = epoch + 1;

-- +goose Down
DELETE FROM trigger_rules WHERE id = '0192f0c8-5a1e-7000-8000-0000000000a2';
UPDATE trigger_rules_epoch SET epoch = epoch + 1;
ALTER TABLE trigger_rules DROP COLUMN exempt_from_frequency_cap;
