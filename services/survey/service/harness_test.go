package service_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// API keys of the test callers, one per role the tests need.
const (
	adminKey     = "test-key-admin"
	serviceKey   = "test-key-service"
	marketingKey = "test-key-marketing"
	posKey       = "test-key-pos" // a role no survey method allows
	testSecret   = "test-secret-0123456789abcdefghijklmnop"
	publicURL    = "https://survey.example.test"
)

// env is one running survey service with its own database and NATS namespace, and
// clients for it.
type env struct {
	t   *testing.T
	cfg service.Config
	db  *pgxpool.Pool
	js  jetstream.JetStream

	admin, service, marketing, pos, anonymous surveyv1.SurveyServiceClient
	baseURL                                   string
	http                                      *http.Client

	mu          sync.Mutex
	invitations []*surveyv1.InvitationCreated
	responses   []*surveyv1.ResponseSubmitted
}

// start runs a survey service for the test; change adjusts its configuration.
func start(t *testing.T, change ...func(*service.Config)) *env {
	t.Helper()
	ctx := context.Background()
	dsn := testkit.Database(t)
	natsURL := testkit.NATS(t)
	ns := testkit.Namespace(t)

	cfg := service.Config{
		Base: svc.Base{
			DatabaseURL: dsn, NATSURL: natsURL, Namespace: ns,
			GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DBMaxConns: 4,
			APIKeys: strings.Join([]string{
				"admin:admin:" + grpcx.HashKey(adminKey),
				"svc:service:" + grpcx.HashKey(serviceKey),
				"mkt:marketing:" + grpcx.HashKey(marketingKey),
				"till:pos:" + grpcx.HashKey(posKey),
			}, ","),
		},
		PublicURL:       publicURL,
		TokenSecret:     testSecret,
		ContactInterval: service.DefaultContactInterval,
		LinkTTL:         service.DefaultLinkTTL,
		PendingTTL:      service.DefaultPendingTTL,
	}
	for _, c := range change {
		c(&cfg)
	}
	e := &env{t: t, cfg: cfg, http: &http.Client{Timeout: 10 * time.Second}}

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	// Subscribed before the service starts, so no event it emits is missed.
	sub, err := nc.Subscribe(ns+"survey.>", e.collect)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	s, err := service.New(ctx, cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service stopped with: %v", err)
		}
	})

	if e.db, err = pg.Connect(ctx, dsn, service.Schema, 2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.db.Close)

	client := func(key string) surveyv1.SurveyServiceClient {
		opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		if key != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(grpcx.APIKeyCredentials(key)))
		}
		conn, err := grpc.NewClient(s.GRPCAddr(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return surveyv1.NewSurveyServiceClient(conn)
	}
	e.admin, e.service, e.marketing, e.pos, e.anonymous =
		client(adminKey), client(serviceKey), client(marketingKey), client(posKey), client("")
	e.baseURL = "http://" + s.HTTPAddr()
	return e
}

func testLogger() *slog.Logger {
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func (e *env) collect(m *nats.Msg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case strings.HasSuffix(m.Subject, "survey.invitation.created"):
		var ev surveyv1.InvitationCreated
		if err := proto.Unmarshal(m.Data, &ev); err == nil {
			e.invitations = append(e.invitations, &ev)
		}
	case strings.HasSuffix(m.Subject, "survey.response.submitted"):
		var ev surveyv1.ResponseSubmitted
		if err := proto.Unmarshal(m.Data, &ev); err == nil {
			e.responses = append(e.responses, &ev)
		}
	}
}

// invitationFor waits for the invitation.created event of a member.
func (e *env) invitationFor(member string) *surveyv1.InvitationCreated {
	e.t.Helper()
	var found *surveyv1.InvitationCreated
	eventually(e.t, 10*time.Second, "invitation.created for "+member, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, ev := range e.invitations {
			if ev.GetMemberId() == member {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// responseFor waits for the response.submitted event of an invitation.
func (e *env) responseFor(invitationID string) *surveyv1.ResponseSubmitted {
	e.t.Helper()
	var found *surveyv1.ResponseSubmitted
	eventually(e.t, 10*time.Second, "response.submitted for "+invitationID, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, ev := range e.responses {
			if ev.GetInvitationId() == invitationID {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

func (e *env) invitationEvents(member string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.invitations {
		if ev.GetMemberId() == member {
			n++
		}
	}
	return n
}

// publish sends an event the way a producer does, with its headers.
func (e *env) publish(subject, msgID, contentType, eventType string, data []byte) {
	e.t.Helper()
	msg := &nats.Msg{Subject: e.cfg.Base.Namespace + subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(bus.HeaderMsgID, msgID)
	msg.Header.Set(bus.HeaderContentType, contentType)
	if eventType != "" {
		msg.Header.Set(bus.HeaderEventType, eventType)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.js.PublishMsg(ctx, msg); err != nil {
		e.t.Fatalf("publish %s: %v", subject, err)
	}
}

func (e *env) publishProto(subject, msgID string, m proto.Message) {
	e.t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	e.publish(subject, msgID, bus.ContentTypeProto, string(m.ProtoReflect().Descriptor().FullName()), data)
}

// enroll publishes a member's enrolment and waits until the survey has applied it.
func (e *env) enroll(member, locale string, consent bool) {
	e.t.Helper()
	id := uuid.NewString()
	e.publishProto("ledger.member.enrolled", id, &ledgerv1.MemberEnrolled{
		MemberId: member, DisplayName: "Erika Mustermann", Email: "erika@example.test",
		Locale: locale, SurveyConsent: consent, EnrolledAt: timestamppb.Now(),
	})
	e.waitHandled(service.ConsumerMembers, id)
}

func (e *env) erase(member string) {
	e.t.Helper()
	id := uuid.NewString()
	e.publishProto("ledger.member.erased", id, &ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.Now()})
	e.waitHandled(service.ConsumerMembers, id)
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
	e.publishProto("pos.purchase.recorded."+p.GetStoreId(), p.GetEventId(), p)
	e.waitHandled(service.ConsumerPOS, p.GetEventId())
}

func (e *env) contact(c *touchpointv1.ContactRecorded) {
	e.t.Helper()
	e.publishProto("touchpoint.contact.recorded.service_call", c.GetEventId(), c)
	e.waitHandled(service.ConsumerTouchpoint, c.GetEventId())
}

// waitHandled waits until consumer has committed the event (its inbox row).
func (e *env) waitHandled(consumer, eventID string) {
	e.t.Helper()
	eventually(e.t, 10*time.Second, consumer+" handled "+eventID, func() bool {
		return e.count(`SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = $2`, consumer, eventID) == 1
	})
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (e *env) invitationsOf(member string) int {
	e.t.Helper()
	return e.count(`SELECT count(*) FROM invitations WHERE member_id = $1`, member)
}

// tokenOf returns the token of an invitation's link.
func tokenOf(t *testing.T, url string) string {
	t.Helper()
	_, token, ok := strings.Cut(url, "/s/")
	if !ok || token == "" {
		t.Fatalf("url %q has no token", url)
	}
	return token
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}
