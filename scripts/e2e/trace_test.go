package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/possim"
)

// spans is what the services of one test exported, in memory.
type spans struct {
	t   *testing.T
	exp *tracetest.InMemoryExporter
}

// installTracing gives each service its own tracer provider, named after it, and the
// test the global one, named "pos" (the till and the member's device); all export to
// one in-memory exporter. A span made with a provider the service was not given would
// name no service of ours.
func installTracing(t *testing.T) (*spans, func(service string, b *svc.Base)) {
	exp := tracetest.NewInMemoryExporter()
	provider := func(service string) *sdktrace.TracerProvider {
		res, err := telemetry.Resource(service)
		must(t, err)
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(exp))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return tp
	}
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(provider("pos"))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	providers := map[string]trace.TracerProvider{}
	for _, name := range []string{"ledger", "survey", "feedback", "rewards", "reporting"} {
		providers[name] = provider(name)
	}
	return &spans{t: t, exp: exp}, func(service string, b *svc.Base) { b.Tracing = providers[service] }
}

func service(s tracetest.SpanStub) string {
	v, _ := s.Resource.Set().Value(semconv.ServiceNameKey)
	return v.AsString()
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func describe(s tracetest.SpanStub) string {
	return fmt.Sprintf("%s/%q (span %s, parent %s)", service(s), s.Name, s.SpanContext.SpanID(), s.Parent.SpanID())
}

// child waits for the one span of svcName named name whose parent is parent, in
// parent's trace, and fails the test listing the trace when there is none.
func (sp *spans) child(parent tracetest.SpanStub, svcName, name string, kind trace.SpanKind) tracetest.SpanStub {
	sp.t.Helper()
	var found []tracetest.SpanStub
	deadline := time.Now().Add(20 * time.Second)
	for {
		found = found[:0]
		for _, s := range sp.exp.GetSpans() {
			if s.SpanContext.TraceID() == parent.SpanContext.TraceID() && s.Parent.SpanID() == parent.SpanContext.SpanID() &&
				service(s) == svcName && s.Name == name {
				found = append(found, s)
			}
		}
		if len(found) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(found) != 1 {
		sp.t.Fatalf("%d spans %s/%q as children of %s, want 1; the trace:\n%s",
			len(found), svcName, name, describe(parent), sp.dump(parent.SpanContext.TraceID()))
	}
	if found[0].SpanKind != kind {
		sp.t.Fatalf("%s is a %s span, want %s", describe(found[0]), found[0].SpanKind, kind)
	}
	return found[0]
}

// queries are the Postgres spans under parent.
func (sp *spans) queries(parent tracetest.SpanStub) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range sp.exp.GetSpans() {
		if s.Parent.SpanID() == parent.SpanContext.SpanID() && s.SpanContext.TraceID() == parent.SpanContext.TraceID() &&
			attr(s, "db.system.name") == "postgresql" {
			out = append(out, s)
		}
	}
	return out
}

// wantQuery fails unless parent has a Postgres child span of its service running a
// statement that contains sql.
func (sp *spans) wantQuery(parent tracetest.SpanStub, sql string) {
	sp.t.Helper()
	for _, q := range sp.queries(parent) {
		if strings.Contains(attr(q, "db.query.text"), sql) {
			if service(q) != service(parent) || q.SpanKind != trace.SpanKindClient {
				sp.t.Fatalf("query span %s: service %s, kind %s", describe(q), service(q), q.SpanKind)
			}
			return
		}
	}
	sp.t.Fatalf("no Postgres span running %q under %s; the trace:\n%s", sql, describe(parent), sp.dump(parent.SpanContext.TraceID()))
}

// dump is a trace as an indented tree, for failure messages.
func (sp *spans) dump(id trace.TraceID) string {
	var in []tracetest.SpanStub
	for _, s := range sp.exp.GetSpans() {
		if s.SpanContext.TraceID() == id {
			in = append(in, s)
		}
	}
	var b strings.Builder
	var walk func(parent trace.SpanID, depth int)
	walk = func(parent trace.SpanID, depth int) {
		for _, s := range in {
			if s.Parent.SpanID() == parent {
				fmt.Fprintf(&b, "%s%s %q\n", strings.Repeat("  ", depth), service(s), s.Name)
				walk(s.SpanContext.SpanID(), depth+1)
			}
		}
	}
	walk(trace.SpanID{}, 0)
	for _, s := range in {
		if !slices.ContainsFunc(in, func(p tracetest.SpanStub) bool { return p.SpanContext.SpanID() == s.Parent.SpanID() }) && s.Parent.SpanID().IsValid() {
			fmt.Fprintf(&b, "(parent not exported) %s %q\n", service(s), s.Name)
		}
	}
	return b.String()
}

// settled waits until every consumer of the world has acked all it was sent and every
// outbox is empty, so that what follows is consumed in batches of its own.
func settled(t *testing.T, sys *system) {
	t.Helper()
	quiet := 0
	testkit.Eventually(t, 30*time.Second, "the system settled", func() bool {
		ctx := testkit.Ctx(t)
		for _, schema := range []string{"ledger", "survey", "feedback", "rewards", "reporting"} {
			if sys.db.Count(`SELECT count(*) FROM `+schema+`.outbox`) > 0 {
				quiet = 0
				return false
			}
		}
		names := sys.JS().StreamNames(ctx)
		for name := range names.Name() {
			if !strings.HasPrefix(name, sys.NS().Stream("")) {
				continue
			}
			st, err := sys.JS().Stream(ctx, name)
			must(t, err)
			cs := st.ListConsumers(ctx)
			for info := range cs.Info() {
				if info.NumPending > 0 || info.NumAckPending > 0 {
					quiet = 0
					return false
				}
			}
			must(t, cs.Err())
		}
		must(t, names.Err())
		quiet++
		return quiet >= 3
	})
}

// tracedConn is a client connection of the "pos" side whose calls are client spans
// carrying their trace context to the server.
func tracedConn(t *testing.T, addr, key string) *grpc.ClientConn {
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcx.APIKeyCredentials(key)), grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestOneTrace follows one purchase from the till through every consumer and the gRPC
// calls between services, and checks the spans form one tree per trace: each span's
// parent, name and service. A hop that drops the trace context (the relay not passing
// it on, a consumer not continuing it, a gRPC client without the handler) breaks it.
func TestOneTrace(t *testing.T) {
	sp, tune := installTracing(t)
	sys := startWith(t, tune)
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	rewardsAdmin := rewardsv1.NewRewardsServiceClient(sys.Conn(sys.rewards, "admin"))
	surveyAPI := surveyv1.NewSurveyServiceClient(sys.Conn(sys.survey, "service"))
	tracer := otel.Tracer("till")

	anna := enrol(t, ledgerAPI, "anna", "en")
	reward, err := rewardsAdmin.CreateReward(ctx, &rewardsv1.CreateRewardRequest{
		Name: "5 EUR off", Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON, PointsPrice: 50, ValueMinor: 500, Currency: "EUR", ValidDays: 30,
	})
	must(t, err)
	settled(t, sys)

	// 1. The till publishes a purchase in a trace of its own.
	tillCtx, till := tracer.Start(ctx, "POS purchase", trace.WithSpanKind(trace.SpanKindProducer))
	purchase := &posv1.PurchaseRecorded{
		EventId: "0192f0c1-2222-7000-8000-000000000001", StoreId: "berlin-01", TransactionId: "T-1",
		MemberId: anna, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 6788,
	}
	subject, err := possim.Subject(purchase)
	must(t, err)
	msg, err := possim.Till{Namespace: sys.NS()}.Msg(subject, purchase.EventId, purchase)
	must(t, err)
	telemetry.Inject(tillCtx, msg.Header)
	_, err = sys.JS().PublishMsg(ctx, msg)
	must(t, err)
	till.End()
	var root tracetest.SpanStub
	for _, s := range sp.exp.GetSpans() {
		if s.SpanContext.SpanID() == till.SpanContext().SpanID() {
			root = s
		}
	}

	// The ledger credits the points in a consumer span under the till's, with its
	// statements under it, and publishes what it wrote under that.
	ledgerPOS := sp.child(root, "ledger", "consume ledger-pos", trace.SpanKindConsumer)
	sp.wantQuery(ledgerPOS, "INSERT INTO inbox")
	ledgerPub := sp.child(ledgerPOS, "ledger", "publish outbox", trace.SpanKindProducer)
	sp.child(ledgerPub, "reporting", "consume reporting-ledger", trace.SpanKindConsumer)
	// The survey invites the member, and publishes the invitation under its consumer.
	surveyPOS := sp.child(root, "survey", "consume survey-pos", trace.SpanKindConsumer)
	sp.wantQuery(surveyPOS, "INSERT INTO inbox")
	sp.child(surveyPOS, "survey", "publish outbox", trace.SpanKindProducer)

	// 2. The member answers over the survey's API, in the same trace: a detractor.
	inv := invitation(t, surveyAPI, anna)
	answerCtx, answer := tracer.Start(tillCtx, "member answers", trace.WithSpanKind(trace.SpanKindInternal))
	survey := surveyv1.NewSurveyServiceClient(tracedConn(t, sys.survey, sys.Key("service")))
	_, err = survey.SubmitResponse(answerCtx, &surveyv1.SubmitResponseRequest{Token: inv.Url[strings.LastIndex(inv.Url, "/")+1:], Score: 3, Comment: "Slow"})
	must(t, err)
	answer.End()
	answerSpan := sp.child(root, "pos", "member answers", trace.SpanKindInternal)
	client := sp.child(answerSpan, "pos", "treue.survey.v1.SurveyService/SubmitResponse", trace.SpanKindClient)
	server := sp.child(client, "survey", "treue.survey.v1.SurveyService/SubmitResponse", trace.SpanKindServer)
	surveyPub := sp.child(server, "survey", "publish outbox", trace.SpanKindProducer)
	// Feedback opens a call-back case and publishes it; reporting counts the answer and
	// the case; the ledger pays the bonus.
	feedback := sp.child(surveyPub, "feedback", "consume feedback-survey", trace.SpanKindConsumer)
	sp.wantQuery(feedback, "INSERT INTO inbox")
	feedbackPub := sp.child(feedback, "feedback", "publish outbox", trace.SpanKindProducer)
	sp.child(feedbackPub, "reporting", "consume reporting-feedback", trace.SpanKindConsumer)
	reporting := sp.child(surveyPub, "reporting", "consume reporting-survey", trace.SpanKindConsumer)
	sp.wantQuery(reporting, "INSERT INTO inbox")
	sp.child(surveyPub, "ledger", "consume ledger-survey", trace.SpanKindConsumer)
	testkit.Eventually(t, 20*time.Second, "67 points and the bonus", func() bool { return balance(t, ledgerAPI, anna).Available == 117 })

	// 3. The member redeems at the till, in a trace of its own: rewards holds the points
	// in the ledger over gRPC, and the ledger captures the hold when the redemption's
	// event arrives.
	redeemCtx, redeem := tracer.Start(ctx, "till redeems", trace.WithSpanKind(trace.SpanKindInternal))
	rewardsAPI := rewardsv1.NewRewardsServiceClient(tracedConn(t, sys.rewards, sys.Key("admin")))
	_, err = rewardsAPI.Redeem(redeemCtx, &rewardsv1.RedeemRequest{IdempotencyKey: "trace-redeem-1", MemberId: anna, RewardId: reward.Reward.RewardId})
	must(t, err)
	redeem.End()
	var redeemRoot tracetest.SpanStub
	for _, s := range sp.exp.GetSpans() {
		if s.SpanContext.SpanID() == redeem.SpanContext().SpanID() {
			redeemRoot = s
		}
	}
	if redeemRoot.SpanContext.TraceID() == root.SpanContext.TraceID() {
		t.Fatal("the redemption's trace is the purchase's")
	}
	redeemClient := sp.child(redeemRoot, "pos", "treue.rewards.v1.RewardsService/Redeem", trace.SpanKindClient)
	redeemServer := sp.child(redeemClient, "rewards", "treue.rewards.v1.RewardsService/Redeem", trace.SpanKindServer)
	sp.wantQuery(redeemServer, "redemptions")
	holdClient := sp.child(redeemServer, "rewards", "treue.ledger.v1.LedgerService/PlaceHold", trace.SpanKindClient)
	holdServer := sp.child(holdClient, "ledger", "treue.ledger.v1.LedgerService/PlaceHold", trace.SpanKindServer)
	sp.wantQuery(holdServer, "holds")
	rewardsPub := sp.child(redeemServer, "rewards", "publish outbox", trace.SpanKindProducer)
	capture := sp.child(rewardsPub, "ledger", "consume ledger-rewards", trace.SpanKindConsumer)
	sp.wantQuery(capture, "INSERT INTO inbox")
	sp.child(rewardsPub, "reporting", "consume reporting-rewards", trace.SpanKindConsumer)
	testkit.Eventually(t, 20*time.Second, "hold captured", func() bool {
		b := balance(t, ledgerAPI, anna)
		return b.Available == 67 && b.Held == 0
	})

	// No span of these traces escaped its service's provider: the global one is the
	// test's, and made only the test's own spans.
	ours := []string{"POS purchase", "member answers", "till redeems",
		"treue.survey.v1.SurveyService/SubmitResponse", "treue.rewards.v1.RewardsService/Redeem"}
	for _, s := range sp.exp.GetSpans() {
		if id := s.SpanContext.TraceID(); (id == root.SpanContext.TraceID() || id == redeemRoot.SpanContext.TraceID()) &&
			service(s) == "pos" && (!slices.Contains(ours, s.Name) || s.SpanKind == trace.SpanKindServer) {
			t.Errorf("span %s was made with the global provider, not its service's", describe(s))
		}
	}
}
