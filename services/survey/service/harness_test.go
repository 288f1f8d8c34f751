package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	testSecret = "test-secret-0123456789abcdefghijklmnop"
	publicURL  = "https://survey.example.test"
)

// env is one running survey service in its own world, and clients for it.
type env struct {
	*testkit.Env
	t   testing.TB
	db  *testkit.DB
	api string // gRPC address

	admin, service, marketing, pos, anonymous surveyv1.SurveyServiceClient
	baseURL                                   string
	http                                      *http.Client
}

// start runs a survey service for the test; change adjusts its configuration.
func start(t testing.TB, change ...func(*service.Config)) *env {
	t.Helper()
	e := &env{Env: testkit.NewEnv(t), t: t, http: &http.Client{Timeout: 10 * time.Second}}
	cfg := service.Config{
		Base:            e.Base(),
		PublicURL:       publicURL,
		TokenSecret:     testSecret,
		ContactInterval: service.DefaultContactInterval,
		LinkTTL:         service.DefaultLinkTTL,
		PendingTTL:      service.DefaultPendingTTL,
	}
	cfg.Base.HTTPAddr = "127.0.0.1:0"
	for _, c := range change {
		c(&cfg)
	}
	s := testkit.Start(t, service.New, cfg).Service
	e.db = e.DB(service.Schema)
	e.api = s.GRPCAddr()
	client := func(role string) surveyv1.SurveyServiceClient {
		return surveyv1.NewSurveyServiceClient(e.Conn(s.GRPCAddr(), role))
	}
	// pos may only issue receipt links.
	e.admin, e.service, e.marketing, e.pos, e.anonymous =
		client("admin"), client("service"), client("marketing"), client("pos"), client("")
	e.baseURL = "http://" + s.HTTPAddr()
	return e
}

// invitationFor waits for the invitation.created event of a member.
func (e *env) invitationFor(member string) *surveyv1.InvitationCreated {
	e.t.Helper()
	return testkit.WaitEvent(e.Env, subject[*surveyv1.InvitationCreated](), func(ev *surveyv1.InvitationCreated) bool {
		return ev.GetMemberId() == member
	})
}

// responseFor waits for the response.submitted event of an invitation.
func (e *env) responseFor(invitationID string) *surveyv1.ResponseSubmitted {
	e.t.Helper()
	return testkit.WaitEvent(e.Env, subject[*surveyv1.ResponseSubmitted](), func(ev *surveyv1.ResponseSubmitted) bool {
		return ev.GetInvitationId() == invitationID
	})
}

func (e *env) invitationEvents(member string) int {
	n := 0
	for _, ev := range testkit.Events[*surveyv1.InvitationCreated](e.Env, subject[*surveyv1.InvitationCreated]()) {
		if ev.GetMemberId() == member {
			n++
		}
	}
	return n
}

// enroll publishes a member's enrolment and waits until the survey has applied it.
func (e *env) enroll(member, locale string, consent bool) {
	e.t.Helper()
	e.WaitHandled(service.ConsumerMembers, e.publish(uuid.NewString(), &ledgerv1.MemberEnrolled{
		MemberId: member, DisplayName: "Erika Mustermann", Email: "erika@example.test",
		Locale: locale, SurveyConsent: consent, EnrolledAt: timestamppb.Now(),
	}))
}

func (e *env) erase(member string) {
	e.t.Helper()
	e.WaitHandled(service.ConsumerMembers,
		e.publish(uuid.NewString(), &ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.Now()}))
}

func purchase(store, member string) *posv1.PurchaseRecorded {
	return &posv1.PurchaseRecorded{
		EventId: uuid.NewString(), StoreId: store, TransactionId: "T-" + uuid.NewString()[:8], MemberId: member,
		OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 1299,
		Lines:   []*posv1.Line{{Sku: "SKU-1", Quantity: 1, AmountMinor: 1299}},
		Channel: commonv1.Channel_CHANNEL_STORE,
	}
}

// buy publishes a purchase (its event id as Nats-Msg-Id) and waits until it is handled.
func (e *env) buy(p *posv1.PurchaseRecorded) {
	e.t.Helper()
	e.WaitHandled(service.ConsumerPOS, e.publish(p.GetEventId(), p))
}

func (e *env) contact(c *touchpointv1.ContactRecorded) {
	e.t.Helper()
	e.WaitHandled(service.ConsumerTouchpoint, e.publish(c.GetEventId(), c))
}

func (e *env) invitationsOf(member string) int64 {
	e.t.Helper()
	return e.db.Count(`SELECT count(*) FROM invitations WHERE member_id = $1`, member)
}

// tokenOf returns the token of an invitation's link.
func tokenOf(t testing.TB, url string) string {
	t.Helper()
	_, token, ok := strings.Cut(url, "/s/")
	if !ok || token == "" {
		t.Fatalf("url %q has no token", url)
	}
	return token
}
