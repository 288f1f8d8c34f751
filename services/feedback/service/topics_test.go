package service_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/feedback/internal/ports/events"
)

func (e *env) topics() feedbackv1.TopicServiceClient {
	return feedbackv1.NewTopicServiceClient(e.Conn(e.addr, ""))
}

func comment(text, locale string) responseOpt {
	return func(r *surveyv1.ResponseSubmitted) { r.Comment, r.Locale = text, locale }
}

// TestTopicsRouteAndStayOnCases: a detractor's German comment is tagged by the seeded
// taxonomy, a rule on `topics` routes it, and the case keeps its topics; the negated
// comment is not tagged unfriendly and goes the default way.
func TestTopicsRouteAndStayOnCases(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.teams("store-care", "manners")
	e.createRule(spec("rude", 10, `"unfriendly" in topics && score <= 6`, "manners", "CALL_BACK"))
	e.createRule(spec("rest", 20, `score <= 6`, "store-care", "CALL_BACK"))

	rude := e.submit(2, comment("Die Verkäuferin war sehr unfreundlich", "de-DE"))
	polite := e.submit(3, comment("Die Verkäuferin war nicht unfreundlich, aber die Warteschlangen!", "de-DE"))
	english := e.submit(1, comment("We waited ages and the cashier was rude", "en-GB"))

	c := e.waitCase(rude.GetResponseId())
	if c.GetTeam() != "manners" || !slices.Contains(c.GetTopics(), "unfriendly") || !slices.Contains(c.GetTopics(), "staff") {
		t.Errorf("rude comment's case = team %q topics %q; want manners with unfriendly and staff", c.GetTeam(), c.GetTopics())
	}
	p := e.waitCase(polite.GetResponseId())
	if p.GetTeam() != "store-care" || slices.Contains(p.GetTopics(), "unfriendly") || !slices.Contains(p.GetTopics(), "queue") {
		t.Errorf("negated comment's case = team %q topics %q; want store-care with queue, not unfriendly", p.GetTeam(), p.GetTopics())
	}
	en := e.waitCase(english.GetResponseId())
	if en.GetTeam() != "manners" || !slices.Equal(en.GetTopics(), []string{"queue", "staff", "unfriendly"}) {
		t.Errorf("English comment's case = team %q topics %q", en.GetTeam(), en.GetTopics())
	}
	// The dry run tags the sample's comment too.
	dr, err := e.routing().DryRun(as(keyAuditor), &feedbackv1.DryRunRequest{Response: &feedbackv1.SampleResponse{
		Score: 2, Locale: "de-AT", Comment: "Der Kassierer war unhöflich"}})
	if err != nil || dr.GetTeam() != "manners" {
		t.Errorf("dry run of a rude comment = %v, %v; want manners", dr, err)
	}
	dr, err = e.routing().DryRun(as(keyAuditor), &feedbackv1.DryRunRequest{Response: &feedbackv1.SampleResponse{
		Score: 2, Locale: "de-AT", Comment: "Der Kassierer war keineswegs unhöflich"}})
	if err != nil || dr.GetTeam() != "store-care" {
		t.Errorf("dry run of a polite comment = %v, %v; want store-care", dr, err)
	}
	var stored []string
	if err := e.db.QueryRow(context.Background(), `SELECT topics FROM cases WHERE response_id = $1`, rude.GetResponseId()).Scan(&stored); err != nil ||
		!slices.Equal(stored, c.GetTopics()) {
		t.Errorf("stored topics = %q (%v), case says %q", stored, err, c.GetTopics())
	}
}

func TestTopicServiceCRUDAndTagText(t *testing.T) {
	t.Parallel()
	e := start(t)
	tc := e.topics()
	admin := as(keyAdmin)

	list, err := tc.ListTopics(as(keyAuditor), &feedbackv1.ListTopicsRequest{})
	if err != nil || len(list.GetTopics()) != 7 {
		t.Fatalf("seeded topics = %v, %v; want 7", list, err)
	}
	tag := func(text, lang string) []string {
		t.Helper()
		r, err := tc.TagText(as(keyAlice), &feedbackv1.TagTextRequest{Text: text, Language: lang})
		if err != nil {
			t.Fatalf("TagText %q: %v", text, err)
		}
		return r.GetTopics()
	}
	if got := tag("Lange Warteschlangen, das Personal war unhöflich", "de"); !slices.Equal(got, []string{"queue", "staff", "unfriendly"}) {
		t.Errorf("German = %q", got)
	}
	if got := tag("not rude at all", "en"); len(got) != 0 {
		t.Errorf("negated = %q", got)
	}
	if got := tag("The parking lot was full", "en"); len(got) != 0 {
		t.Errorf("before the topic = %q", got)
	}

	// Add a topic; the dry run and routing use it at once.
	set, err := tc.SetTopic(admin, &feedbackv1.SetTopicRequest{Topic: &feedbackv1.Topic{
		Key: "parking", LabelEn: "Parking", LabelDe: "Parken",
		KeywordsEn: []string{"parking lot", "car park"}, KeywordsDe: []string{"parkplatz"}}})
	if err != nil || set.GetTopic().GetKey() != "parking" || !slices.Equal(set.GetTopic().GetKeywordsEn(), []string{"parking lot", "car park"}) {
		t.Fatalf("SetTopic = %v, %v", set, err)
	}
	if got := tag("The parking lot was full", "en"); !slices.Equal(got, []string{"parking"}) {
		t.Errorf("after SetTopic = %q", got)
	}
	if got := tag("Keine Parkplätze", "de"); len(got) != 0 {
		t.Errorf("negated German = %q", got)
	}
	if got := tag("Zu wenige Parkplätze", "fr"); !slices.Equal(got, []string{"parking"}) {
		t.Errorf("other language = %q", got)
	}
	// Replace: the old keywords no longer match.
	if _, err := tc.SetTopic(admin, &feedbackv1.SetTopicRequest{Topic: &feedbackv1.Topic{Key: "parking", KeywordsDe: []string{"parkplatz"}}}); err != nil {
		t.Fatal(err)
	}
	if got := tag("The parking lot was full", "en"); len(got) != 0 {
		t.Errorf("after replacing = %q", got)
	}
	if _, err := tc.DeleteTopic(admin, &feedbackv1.DeleteTopicRequest{Key: "parking"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.DeleteTopic(admin, &feedbackv1.DeleteTopicRequest{Key: "parking"}); status.Code(err) != codes.NotFound {
		t.Errorf("deleting again: %v", err)
	}
	if list, _ := tc.ListTopics(admin, &feedbackv1.ListTopicsRequest{}); len(list.GetTopics()) != 7 {
		t.Errorf("after delete: %d topics", len(list.GetTopics()))
	}

	// Bad input names the field.
	for _, tp := range []*feedbackv1.Topic{
		{Key: "Parking", KeywordsEn: []string{"parking"}},
		{Key: "parking"},
		{Key: "parking", KeywordsEn: []string{"!!"}},
	} {
		_, err := tc.SetTopic(admin, &feedbackv1.SetTopicRequest{Topic: tp})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("SetTopic %v: %v", tp, err)
		}
	}
}

func TestTopicServiceRoles(t *testing.T) {
	t.Parallel()
	e := start(t)
	tc := e.topics()
	for _, key := range []string{keyAlice, keyAuditor, keyMarket, keyPOS, keyPrivacy} {
		_, err := tc.SetTopic(as(key), &feedbackv1.SetTopicRequest{Topic: &feedbackv1.Topic{Key: "x", KeywordsEn: []string{"x"}}})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("SetTopic as %s: %v", key, err)
		}
		if _, err := tc.DeleteTopic(as(key), &feedbackv1.DeleteTopicRequest{Key: "queue"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("DeleteTopic as %s: %v", key, err)
		}
	}
	for _, key := range []string{keyAdmin, keyAlice, keyAuditor} {
		if _, err := tc.ListTopics(as(key), &feedbackv1.ListTopicsRequest{}); err != nil {
			t.Errorf("ListTopics as %s: %v", key, err)
		}
		if _, err := tc.TagText(as(key), &feedbackv1.TagTextRequest{Text: "rude"}); err != nil {
			t.Errorf("TagText as %s: %v", key, err)
		}
	}
	for _, key := range []string{keyMarket, keyPOS, keyPrivacy} {
		if _, err := tc.ListTopics(as(key), &feedbackv1.ListTopicsRequest{}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("ListTopics as %s: %v", key, err)
		}
	}
}

// TestTaggedResponsesAreAnnounced: every routed response whose comment names topics is
// announced once on feedback.response.tagged, whether it opened a case (the event names
// it) or not; a comment without topics is not; the same response delivered again under
// another event id is not announced again.
func TestTaggedResponsesAreAnnounced(t *testing.T) {
	t.Parallel()
	e := start(t)
	tagged := func() map[string][]*feedbackv1.ResponseTagged {
		out := map[string][]*feedbackv1.ResponseTagged{}
		for _, ev := range testkit.Events[*feedbackv1.ResponseTagged](e.Env, testkit.Subject(&feedbackv1.ResponseTagged{})) {
			out[ev.GetResponseId()] = append(out[ev.GetResponseId()], ev)
		}
		return out
	}
	passive := newResponse(7, comment("Lange Warteschlangen an der Kasse", "de-DE"))
	e.publish(passive)
	rude := e.submit(2, comment("Die Verkäuferin war sehr unfreundlich", "de-DE"))
	plain := e.submit(8)
	c := e.waitCase(rude.GetResponseId())
	e.routedTo(plain.GetResponseId())
	// The passive's response again, under another event id.
	again := e.PublishEvent("", passive)
	e.WaitHandled(events.ConsumerSurvey, again)
	marker := e.submit(9, comment("Super freundliches Personal", "de-DE"))

	var got map[string][]*feedbackv1.ResponseTagged
	testkit.Eventually(t, 15*time.Second, "the marker announced", func() bool {
		got = tagged()
		return len(got[marker.GetResponseId()]) == 1
	})
	if p := got[passive.GetResponseId()]; len(p) != 1 || p[0].GetCaseId() != "" || !slices.Equal(p[0].GetTopics(), []string{"queue"}) ||
		p[0].GetScore() != 7 || p[0].GetNpsClass() != commonv1.NpsClass_NPS_CLASS_PASSIVE || p[0].GetStoreId() != "store-17" ||
		p[0].GetScoreKind() != commonv1.ScoreKind_SCORE_KIND_NPS || !p[0].GetSubmittedAt().AsTime().Equal(passive.GetSubmittedAt().AsTime()) {
		t.Errorf("the passive's announcements = %v; want one with queue and no case", p)
	}
	if r := got[rude.GetResponseId()]; len(r) != 1 || r[0].GetCaseId() != c.GetCaseId() || !slices.Equal(r[0].GetTopics(), c.GetTopics()) {
		t.Errorf("the detractor's announcements = %v; want one naming case %s and its topics %q", r, c.GetCaseId(), c.GetTopics())
	}
	if p := got[plain.GetResponseId()]; len(p) != 0 {
		t.Errorf("a comment without topics announced: %v", p)
	}
}
