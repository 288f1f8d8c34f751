package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/domain"
)

// The seeded surveys (migration 00004).
const (
	npsSurvey  = domain.DefaultNPSSurveyID
	csatSurvey = "0192f0c8-5a1e-7000-8000-000000000002"
	cesSurvey  = "0192f0c8-5a1e-7000-8000-000000000003"
)

func (e *env) definitions(role string) surveyv1.DefinitionServiceClient {
	return surveyv1.NewDefinitionServiceClient(e.Conn(e.api, role))
}

func i32(n int32) *int32 { return &n }

func qtext(en, de string) map[string]*surveyv1.QuestionText {
	return map[string]*surveyv1.QuestionText{"en": {Prompt: en}, "de": {Prompt: de}}
}

// deliverySpec is a CSAT survey: the score, for 1-3 a single choice of what went wrong,
// for "late" an open question, and a multiple choice for everyone.
func deliverySpec() *surveyv1.SurveyVersionSpec {
	return &surveyv1.SurveyVersionSpec{
		DefaultLocale: "en",
		Texts: map[string]*surveyv1.SurveyText{
			"en": {Title: "Your delivery", EmailSubject: "How was your delivery?"},
			"de": {Title: "Ihre Lieferung", EmailSubject: "Wie war Ihre Lieferung?"},
		},
		ScoreQuestionId: "csat",
		Questions: []*surveyv1.Question{
			{Id: "csat", Kind: surveyv1.QuestionKind_QUESTION_KIND_CSAT, Required: true, Texts: map[string]*surveyv1.QuestionText{
				"en": {Prompt: "How satisfied are you with the delivery?", LowLabel: "Very dissatisfied", HighLabel: "Very satisfied"},
				"de": {Prompt: "Wie zufrieden sind Sie mit der Lieferung?", LowLabel: "Sehr unzufrieden", HighLabel: "Sehr zufrieden"},
			}},
			{Id: "problem", Kind: surveyv1.QuestionKind_QUESTION_KIND_SINGLE_CHOICE, Required: true,
				Texts:  qtext("What went wrong?", "Was lief schief?"),
				ShowIf: &surveyv1.ShowIf{QuestionId: "csat", MinScore: i32(1), MaxScore: i32(3)},
				Choices: []*surveyv1.Choice{
					{Id: "late", Labels: map[string]string{"en": "It was late", "de": "Sie kam zu spät"}},
					{Id: "damaged", Labels: map[string]string{"en": "Damaged", "de": "Beschädigt"}},
				}},
			{Id: "late_detail", Kind: surveyv1.QuestionKind_QUESTION_KIND_OPEN_TEXT,
				Texts:  qtext("How late?", "Wie spät?"),
				ShowIf: &surveyv1.ShowIf{QuestionId: "problem", AnyOf: []string{"late"}}},
			{Id: "used", Kind: surveyv1.QuestionKind_QUESTION_KIND_MULTIPLE_CHOICE,
				Texts: qtext("What did you use?", "Was haben Sie genutzt?"),
				Choices: []*surveyv1.Choice{
					{Id: "app", Labels: map[string]string{"en": "App"}},
					{Id: "web", Labels: map[string]string{"en": "Web"}},
				}},
		},
	}
}

func TestDefineSurvey(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := testkit.Ctx(t)
	marketing := e.definitions("marketing")
	key := "create-" + uuid.NewString()

	created, err := marketing.CreateSurvey(ctx, &surveyv1.CreateSurveyRequest{IdempotencyKey: key, Name: "Delivery", Spec: deliverySpec()})
	if err != nil {
		t.Fatal(err)
	}
	sv, v := created.GetSurvey(), created.GetVersion()
	if sv.GetSurveyId() == "" || sv.GetName() != "Delivery" || sv.GetPublishedVersion() != 0 || sv.GetLatestVersion() != 1 ||
		v.GetVersion() != 1 || v.GetStatus() != surveyv1.VersionStatus_VERSION_STATUS_DRAFT ||
		v.GetScoreKind() != commonv1.ScoreKind_SCORE_KIND_CSAT || v.GetPublishedAt() != nil || !proto.Equal(v.GetSpec(), deliverySpec()) {
		t.Fatalf("created %v", created)
	}
	id := sv.GetSurveyId()

	// A retry returns the same survey; the same key for other content is refused.
	again, err := marketing.CreateSurvey(ctx, &surveyv1.CreateSurveyRequest{IdempotencyKey: key, Name: "Delivery", Spec: deliverySpec()})
	if err != nil || again.GetSurvey().GetSurveyId() != id || again.GetVersion().GetVersion() != 1 {
		t.Errorf("retry: %v, %v; want survey %s", again, err, id)
	}
	_, err = marketing.CreateSurvey(ctx, &surveyv1.CreateSurveyRequest{IdempotencyKey: key, Name: "Delivery 2", Spec: deliverySpec()})
	wantPrecondition(t, err, "IDEMPOTENCY_KEY_REUSED")
	if n := e.db.Count(`SELECT count(*) FROM surveys WHERE name LIKE 'Delivery%'`); n != 1 {
		t.Errorf("%d surveys named Delivery, want 1", n)
	}

	// Bad definitions are refused, naming the field.
	bad := []struct {
		name   string
		change func(s *surveyv1.SurveyVersionSpec)
		field  string
	}{
		{"condition on a later question", func(s *surveyv1.SurveyVersionSpec) { s.Questions[1].ShowIf.QuestionId = "used" }, "spec.questions[1].show_if.question_id"},
		{"range beyond the scale", func(s *surveyv1.SurveyVersionSpec) { s.Questions[1].ShowIf.MaxScore = i32(6) }, "spec.questions[1].show_if.max_score"},
		{"unknown choice", func(s *surveyv1.SurveyVersionSpec) { s.Questions[2].ShowIf.AnyOf = []string{"lost"} }, "spec.questions[2].show_if.any_of[0]"},
		{"score question is a choice", func(s *surveyv1.SurveyVersionSpec) { s.ScoreQuestionId = "used" }, "spec.score_question_id"},
		{"duplicate question id", func(s *surveyv1.SurveyVersionSpec) { s.Questions[3].Id = "problem" }, "spec.questions[3].id"},
		{"one choice", func(s *surveyv1.SurveyVersionSpec) { s.Questions[3].Choices = s.Questions[3].Choices[:1] }, "spec.questions[3].choices"},
		{"no default texts", func(s *surveyv1.SurveyVersionSpec) { delete(s.Questions[2].Texts, "en") }, "spec.questions[2].texts"},
		{"no kind", func(s *surveyv1.SurveyVersionSpec) { s.Questions[2].Kind = 0 }, "spec.questions[2].kind"},
	}
	for _, tt := range bad {
		spec := deliverySpec()
		tt.change(spec)
		_, err := marketing.CreateSurvey(ctx, &surveyv1.CreateSurveyRequest{IdempotencyKey: uuid.NewString(), Name: "Bad", Spec: spec})
		wantInvalidField(t, err, tt.field)
		_, err = marketing.CreateVersion(ctx, &surveyv1.CreateVersionRequest{SurveyId: id, Spec: spec})
		wantInvalidField(t, err, tt.field)
		if t.Failed() {
			t.Fatalf("case %q", tt.name)
		}
	}

	// A new draft replaces the draft; publishing makes it the version invitations go to.
	spec := deliverySpec()
	spec.Texts["en"].Title = "Your parcel"
	replaced, err := marketing.CreateVersion(ctx, &surveyv1.CreateVersionRequest{SurveyId: id, Spec: spec})
	if err != nil || replaced.GetVersion().GetVersion() != 1 || replaced.GetVersion().GetSpec().GetTexts()["en"].GetTitle() != "Your parcel" {
		t.Fatalf("replace draft: %v, %v", replaced, err)
	}
	published, err := marketing.PublishVersion(ctx, &surveyv1.PublishVersionRequest{SurveyId: id, Version: 1})
	if err != nil || published.GetSurvey().GetPublishedVersion() != 1 ||
		published.GetVersion().GetStatus() != surveyv1.VersionStatus_VERSION_STATUS_PUBLISHED || published.GetVersion().GetPublishedAt() == nil {
		t.Fatalf("publish: %v, %v", published, err)
	}
	_, err = marketing.PublishVersion(ctx, &surveyv1.PublishVersionRequest{SurveyId: id, Version: 1})
	wantPrecondition(t, err, "NOT_DRAFT")
	_, err = marketing.PublishVersion(ctx, &surveyv1.PublishVersionRequest{SurveyId: id, Version: 7})
	if status.Code(err) != codes.NotFound {
		t.Errorf("publish a version that does not exist: %v, want NotFound", err)
	}

	// Version 2: a draft beside the published version 1, then published over it.
	spec.Texts["en"].Title = "Your delivery, v2"
	v2, err := marketing.CreateVersion(ctx, &surveyv1.CreateVersionRequest{SurveyId: id, Spec: spec})
	if err != nil || v2.GetVersion().GetVersion() != 2 || v2.GetSurvey().GetPublishedVersion() != 1 || v2.GetSurvey().GetLatestVersion() != 2 {
		t.Fatalf("version 2: %v, %v", v2, err)
	}
	auditor := e.definitions("auditor")
	got, err := auditor.GetSurvey(ctx, &surveyv1.GetSurveyRequest{SurveyId: id})
	if err != nil || got.GetVersion().GetVersion() != 1 || got.GetVersion().GetStatus() != surveyv1.VersionStatus_VERSION_STATUS_PUBLISHED {
		t.Errorf("get the published version: %v, %v", got, err)
	}
	if _, err := marketing.PublishVersion(ctx, &surveyv1.PublishVersionRequest{SurveyId: id, Version: 2}); err != nil {
		t.Fatal(err)
	}
	got, err = auditor.GetSurvey(ctx, &surveyv1.GetSurveyRequest{SurveyId: id, Version: 1})
	if err != nil || got.GetVersion().GetStatus() != surveyv1.VersionStatus_VERSION_STATUS_SUPERSEDED || got.GetSurvey().GetPublishedVersion() != 2 ||
		got.GetVersion().GetSpec().GetTexts()["en"].GetTitle() != "Your parcel" {
		t.Errorf("version 1 after version 2 was published: %v, %v", got, err)
	}
	if n := e.db.Count(`SELECT count(*) FROM survey_versions WHERE survey_id = $1 AND status = 'PUBLISHED'`, id); n != 1 {
		t.Errorf("%d published versions, want 1", n)
	}

	// Listing: newest first, paged; retired surveys only on request.
	page, err := auditor.ListSurveys(ctx, &surveyv1.ListSurveysRequest{PageSize: 1})
	if err != nil || len(page.GetSurveys()) != 1 || page.GetSurveys()[0].GetSurveyId() != id || page.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", page, err)
	}
	rest, err := auditor.ListSurveys(ctx, &surveyv1.ListSurveysRequest{PageToken: page.GetNextPageToken()})
	if err != nil || len(rest.GetSurveys()) != 4 || rest.GetNextPageToken() != "" {
		t.Fatalf("the rest: %v, %v; want the 4 seeded surveys", rest, err)
	}
	retired, err := marketing.RetireSurvey(ctx, &surveyv1.RetireSurveyRequest{SurveyId: id})
	if err != nil || !retired.GetSurvey().GetRetired() || retired.GetSurvey().GetRetiredAt() == nil {
		t.Fatalf("retire: %v, %v", retired, err)
	}
	_, err = marketing.RetireSurvey(ctx, &surveyv1.RetireSurveyRequest{SurveyId: id})
	wantPrecondition(t, err, "SURVEY_RETIRED")
	_, err = marketing.CreateVersion(ctx, &surveyv1.CreateVersionRequest{SurveyId: id, Spec: spec})
	wantPrecondition(t, err, "SURVEY_RETIRED")
	active, err := auditor.ListSurveys(ctx, &surveyv1.ListSurveysRequest{})
	all, err2 := auditor.ListSurveys(ctx, &surveyv1.ListSurveysRequest{IncludeRetired: true})
	if err != nil || err2 != nil || len(active.GetSurveys()) != 4 || len(all.GetSurveys()) != 5 {
		t.Errorf("list: %d active, %d in all (%v, %v); want 4 and 5", len(active.GetSurveys()), len(all.GetSurveys()), err, err2)
	}

	// Roles: marketing and admin define, service agents and auditors read, others nothing.
	if _, err := e.definitions("service_agent").CreateSurvey(ctx, &surveyv1.CreateSurveyRequest{IdempotencyKey: uuid.NewString(), Name: "x", Spec: deliverySpec()}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("CreateSurvey as service_agent: %v, want PermissionDenied", err)
	}
	if _, err := e.definitions("pos").ListSurveys(ctx, &surveyv1.ListSurveysRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("ListSurveys as pos: %v, want PermissionDenied", err)
	}
	if _, err := e.definitions("admin").CreateSurvey(ctx, &surveyv1.CreateSurveyRequest{IdempotencyKey: "short", Name: "x", Spec: deliverySpec()}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a short idempotency key: %v, want InvalidArgument", err)
	}
	_, err = e.definitions("admin").GetSurvey(ctx, &surveyv1.GetSurveyRequest{SurveyId: uuid.NewString()})
	if status.Code(err) != codes.NotFound {
		t.Errorf("GetSurvey of an unknown survey: %v, want NotFound", err)
	}
}

func TestSeededSurveys(t *testing.T) {
	t.Parallel()
	e := start(t)
	defs := e.definitions("admin")
	for _, tt := range []struct {
		id        string
		kind      commonv1.ScoreKind
		questions []string
		reasonMax int32
	}{
		{npsSurvey, commonv1.ScoreKind_SCORE_KIND_NPS, []string{"nps", "reason", "improve", "praise"}, 6},
		{csatSurvey, commonv1.ScoreKind_SCORE_KIND_CSAT, []string{"csat", "reason"}, 3},
		{cesSurvey, commonv1.ScoreKind_SCORE_KIND_CES, []string{"ces", "reason"}, 4},
	} {
		got, err := defs.GetSurvey(testkit.Ctx(t), &surveyv1.GetSurveyRequest{SurveyId: tt.id})
		if err != nil {
			t.Fatal(err)
		}
		v := got.GetVersion()
		var ids []string
		for _, q := range v.GetSpec().GetQuestions() {
			ids = append(ids, q.GetId())
			if q.GetTexts()["en"].GetPrompt() == "" || q.GetTexts()["de"].GetPrompt() == "" {
				t.Errorf("%s: question %s lacks en or de", tt.id, q.GetId())
			}
		}
		reason := v.GetSpec().GetQuestions()[1]
		if got.GetSurvey().GetPublishedVersion() != 1 || v.GetStatus() != surveyv1.VersionStatus_VERSION_STATUS_PUBLISHED ||
			v.GetScoreKind() != tt.kind || !equalStrings(ids, tt.questions) || reason.GetShowIf().GetMaxScore() != tt.reasonMax ||
			reason.GetTexts()["de"].GetPrompt() != "Was ist der Hauptgrund für Ihre Bewertung?" {
			t.Errorf("%s: %v", tt.id, got)
		}
	}
	nps, _ := defs.GetSurvey(testkit.Ctx(t), &surveyv1.GetSurveyRequest{SurveyId: npsSurvey})
	if p := nps.GetVersion().GetSpec().GetQuestions()[0].GetTexts()["de"].GetPrompt(); p != "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?" {
		t.Errorf("the NPS question in German = %q, want the wording from before", p)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// inviteTo stores an invitation to a survey version as a trigger rule would make it
// (status SENT, due now) and returns its id and token.
func (e *env) inviteTo(surveyID string, version int, status string, dueIn time.Duration) (id, token string) {
	e.t.Helper()
	inv := uuid.New()
	expires := time.Now().Add(time.Hour).Truncate(time.Second)
	if _, err := e.db.Exec(context.Background(), `
		INSERT INTO invitations (id, survey_id, survey_version, member_id, locale, touchpoint, store_id, trigger_event_id,
			trigger_key, expires_at, created_at, status, due_at, employee_id, sales_channel, trigger_id, channel)
		VALUES ($1, $2, $3, $4, 'de-DE', 'SERVICE_CALL', 'S7', $5, $6, $7, now(), $8, now() + $9::interval, 'E-42', 'STORE', $10, 'EMAIL')`,
		inv, surveyID, version, uuid.NewString(), "ev-"+inv.String(), "touchpoint:ev-"+inv.String(), expires, status,
		dueIn.String(), uuid.NewString()); err != nil {
		e.t.Fatal(err)
	}
	signer, err := domain.NewLinkSigner([]byte(testSecret))
	if err != nil {
		e.t.Fatal(err)
	}
	return inv.String(), signer.Sign(inv, expires)
}

func score(n int32) *int32 { return &n }

func TestTypedScoresOnTheEvent(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := testkit.Ctx(t)
	tests := []struct {
		name      string
		survey    string
		answers   []*surveyv1.Answer
		kind      commonv1.ScoreKind
		score     int32
		class     commonv1.NpsClass
		satisfied bool
		lowEffort bool
		comment   string
		kept      []string // question ids recorded
	}{
		{"NPS detractor", npsSurvey, []*surveyv1.Answer{{QuestionId: "nps", Score: score(3)}, {QuestionId: "reason", Text: " Zu lange Wartezeit "},
			{QuestionId: "praise", Text: "hidden, dropped"}},
			commonv1.ScoreKind_SCORE_KIND_NPS, 3, commonv1.NpsClass_NPS_CLASS_DETRACTOR, false, false, "Zu lange Wartezeit", []string{"nps", "reason"}},
		{"NPS promoter", npsSurvey, []*surveyv1.Answer{{QuestionId: "nps", Score: score(10)}, {QuestionId: "praise", Text: "Alles gut"}},
			commonv1.ScoreKind_SCORE_KIND_NPS, 10, commonv1.NpsClass_NPS_CLASS_PROMOTER, false, false, "Alles gut", []string{"nps", "praise"}},
		{"CSAT satisfied", csatSurvey, []*surveyv1.Answer{{QuestionId: "csat", Score: score(4)}},
			commonv1.ScoreKind_SCORE_KIND_CSAT, 4, 0, true, false, "", []string{"csat"}},
		{"CSAT unsatisfied", csatSurvey, []*surveyv1.Answer{{QuestionId: "csat", Score: score(2)}, {QuestionId: "reason", Text: "unfreundlich"}},
			commonv1.ScoreKind_SCORE_KIND_CSAT, 2, 0, false, false, "unfreundlich", []string{"csat", "reason"}},
		{"CES easy", cesSurvey, []*surveyv1.Answer{{QuestionId: "ces", Score: score(6)}, {QuestionId: "reason", Text: "dropped: shown for 1-4 only"}},
			commonv1.ScoreKind_SCORE_KIND_CES, 6, 0, false, true, "", []string{"ces"}},
		{"CES hard", cesSurvey, []*surveyv1.Answer{{QuestionId: "ces", Score: score(1)}, {QuestionId: "reason", Text: "drei Mal verbunden"}},
			commonv1.ScoreKind_SCORE_KIND_CES, 1, 0, false, false, "drei Mal verbunden", []string{"ces", "reason"}},
	}
	for _, tt := range tests {
		id, token := e.inviteTo(tt.survey, 1, "SENT", 0)
		resp, err := e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Answers: tt.answers})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		r := resp.GetResponse()
		if r.GetScoreKind() != tt.kind || r.GetScore() != tt.score || r.GetSurveyVersion() != 1 || r.GetComment() != tt.comment {
			t.Errorf("%s: response %v", tt.name, r)
		}
		ev := e.responseFor(id)
		var kept []string
		for _, a := range ev.GetAnswers() {
			kept = append(kept, a.GetQuestionId())
		}
		if ev.GetScoreKind() != tt.kind || ev.GetScore() != tt.score || ev.GetNpsClass() != tt.class ||
			ev.GetCsatSatisfied() != tt.satisfied || ev.GetCesLowEffort() != tt.lowEffort || ev.GetComment() != tt.comment ||
			ev.GetSurveyVersion() != 1 || ev.GetSurveyId() != tt.survey || ev.GetEmployeeId() != "E-42" ||
			ev.GetChannel() != commonv1.Channel_CHANNEL_STORE || ev.GetTouchpoint() != commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL ||
			ev.GetTouchpointKey() != "touchpoint:ev-"+id || ev.GetTriggerId() == "" || ev.GetLocale() != "de" || ev.GetStoreId() != "S7" ||
			!equalStrings(kept, sorted(tt.kept)) {
			t.Errorf("%s: event %v", tt.name, ev)
		}
		var status string
		var kind string
		if err := e.db.QueryRow(context.Background(), `SELECT i.status, r.score_kind FROM invitations i JOIN responses r ON r.invitation_id = i.id
			WHERE i.id = $1`, id).Scan(&status, &kind); err != nil || status != "ANSWERED" || kind != string(tt.kind.String()[len("SCORE_KIND_"):]) {
			t.Errorf("%s: invitation %s, response kind %s (%v)", tt.name, status, kind, err)
		}
		// One response per invitation.
		_, err = e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Answers: tt.answers})
		wantPrecondition(t, err, "ALREADY_ANSWERED")
	}

	// Answers that break their question's rules name the question.
	for _, tt := range []struct {
		name    string
		survey  string
		score   int32
		answers []*surveyv1.Answer
		field   string
	}{
		{"CSAT out of range", csatSurvey, 0, []*surveyv1.Answer{{QuestionId: "csat", Score: score(7)}}, "answers[csat]"},
		{"CES 0", cesSurvey, 0, []*surveyv1.Answer{{QuestionId: "ces", Score: score(0)}}, "answers[ces]"},
		{"no score", npsSurvey, 0, []*surveyv1.Answer{{QuestionId: "reason", Text: "x"}}, "answers[nps]"},
		{"unknown question", npsSurvey, 0, []*surveyv1.Answer{{QuestionId: "nps", Score: score(3)}, {QuestionId: "colour", Text: "x"}}, "answers[colour]"},
		{"score on a text", npsSurvey, 0, []*surveyv1.Answer{{QuestionId: "nps", Score: score(3)}, {QuestionId: "reason", Score: score(3)}}, "answers[reason]"},
		{"twice the same question", npsSurvey, 0, []*surveyv1.Answer{{QuestionId: "nps", Score: score(3)}, {QuestionId: "nps", Score: score(4)}}, "answers[1].question_id"},
		{"score disagrees", npsSurvey, 9, []*surveyv1.Answer{{QuestionId: "nps", Score: score(3)}}, "score"},
		// The API from before: a score alone answers the score question of the survey.
		{"old API, score out of the CSAT range", csatSurvey, 0, nil, "answers[csat]"},
	} {
		_, token := e.inviteTo(tt.survey, 1, "SENT", 0)
		_, err := e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Score: tt.score, Answers: tt.answers})
		wantInvalidField(t, err, tt.field)
		if t.Failed() {
			t.Fatalf("case %q", tt.name)
		}
	}

	// The old API on a CSAT survey: the comment goes to the follow-up of that score.
	id, token := e.inviteTo(csatSurvey, 1, "SENT", 0)
	if _, err := e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Score: 2, Comment: "zu laut"}); err != nil {
		t.Fatal(err)
	}
	if ev := e.responseFor(id); ev.GetScoreKind() != commonv1.ScoreKind_SCORE_KIND_CSAT || ev.GetComment() != "zu laut" ||
		len(ev.GetAnswers()) != 2 || ev.GetAnswers()[1].GetQuestionId() != "reason" || ev.GetAnswers()[1].GetText() != "zu laut" {
		t.Errorf("old API on CSAT: %v", ev)
	}

	// Only invitations that are due and not held back can be answered.
	for st, reason := range map[string]string{"SUPPRESSED": "LINK_EXPIRED", "FAILED": "LINK_EXPIRED", "EXPIRED": "LINK_EXPIRED", "ANSWERED": "ALREADY_ANSWERED"} {
		_, token := e.inviteTo(npsSurvey, 1, st, 0)
		_, err := e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Score: 5})
		wantPrecondition(t, err, reason)
	}
	_, token = e.inviteTo(npsSurvey, 1, "SCHEDULED", time.Hour)
	_, err := e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Score: 5})
	wantPrecondition(t, err, "NOT_YET_DUE")
	// Scheduled and due (its dispatch a moment late): answerable.
	_, token = e.inviteTo(npsSurvey, 1, "SCHEDULED", -time.Second)
	if _, err := e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Score: 5}); err != nil {
		t.Errorf("a due scheduled invitation: %v", err)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// An invitation made to version 1 is answered in version 1, even once version 2 is
// published: its questions, its rules, its number on the response.
func TestResponseRecordsTheVersionAnswered(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := testkit.Ctx(t)
	inv := e.invite("en") // to the NPS survey's version 1

	// Version 2 asks a required choice instead of the follow-ups.
	defs := e.definitions("marketing")
	got, err := defs.GetSurvey(ctx, &surveyv1.GetSurveyRequest{SurveyId: npsSurvey})
	if err != nil {
		t.Fatal(err)
	}
	spec := got.GetVersion().GetSpec()
	spec.Questions = append(spec.Questions[:1], &surveyv1.Question{
		Id: "where", Kind: surveyv1.QuestionKind_QUESTION_KIND_SINGLE_CHOICE, Required: true, Texts: qtext("Where?", "Wo?"),
		Choices: []*surveyv1.Choice{{Id: "store", Labels: map[string]string{"en": "Store"}}, {Id: "web", Labels: map[string]string{"en": "Web"}}},
	})
	if _, err := defs.CreateVersion(ctx, &surveyv1.CreateVersionRequest{SurveyId: npsSurvey, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if _, err := defs.PublishVersion(ctx, &surveyv1.PublishVersionRequest{SurveyId: npsSurvey, Version: 2}); err != nil {
		t.Fatal(err)
	}

	// v2's question is unknown to v1; v1's follow-up is what counts.
	_, err = e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: tokenOf(t, inv.GetUrl()), Answers: []*surveyv1.Answer{
		{QuestionId: "nps", Score: score(8)}, {QuestionId: "where", ChoiceIds: []string{"store"}},
	}})
	wantInvalidField(t, err, "answers[where]")
	resp, err := e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: tokenOf(t, inv.GetUrl()), Answers: []*surveyv1.Answer{
		{QuestionId: "nps", Score: score(8)}, {QuestionId: "improve", Text: "Mehr Kassen"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetResponse().GetSurveyVersion() != 1 || resp.GetResponse().GetComment() != "Mehr Kassen" {
		t.Errorf("response %v, want version 1", resp.GetResponse())
	}
	ev := e.responseFor(inv.GetInvitationId())
	if ev.GetSurveyVersion() != 1 || ev.GetNpsClass() != commonv1.NpsClass_NPS_CLASS_PASSIVE || ev.GetComment() != "Mehr Kassen" {
		t.Errorf("event %v, want version 1", ev)
	}
	if n := e.db.Count(`SELECT count(*) FROM responses WHERE invitation_id = $1 AND survey_version = 1
		AND answers = '{"nps": {"score": 8}, "improve": {"text": "Mehr Kassen"}}'::jsonb`, inv.GetInvitationId()); n != 1 {
		t.Error("the stored response is not version 1 with its answers")
	}

	// An invitation to version 2 (as the trigger rules make them now) is answered in it.
	id, token := e.inviteTo(npsSurvey, 2, "SENT", 0)
	_, err = e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Answers: []*surveyv1.Answer{{QuestionId: "nps", Score: score(8)}}})
	wantInvalidField(t, err, "answers[where]")
	if _, err := e.service.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Answers: []*surveyv1.Answer{
		{QuestionId: "nps", Score: score(8)}, {QuestionId: "where", ChoiceIds: []string{"web"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if ev := e.responseFor(id); ev.GetSurveyVersion() != 2 || len(ev.GetAnswers()) != 2 || ev.GetAnswers()[1].GetChoiceIds()[0] != "web" {
		t.Errorf("event of version 2: %v", ev)
	}
}
