package service_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
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
