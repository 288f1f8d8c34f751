package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/webhook"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/stack"
)

// feedbackBench is the feedback section: a webhook receiver in this process (plain HTTP
// on loopback, which the service allows only with FEEDBACK_WEBHOOK_ALLOW_LOOPBACK_HTTP)
// that verifies every call's signature and counts calls by webhook-id.
type feedbackBench struct {
	srv *http.Server
	url string

	mu     sync.Mutex
	secret string
	calls  int
	dups   int
	bad    int
	seen   map[string]bool
	// opened counts the distinct feedback.case.opened calls of each case.
	opened map[string]int
}

// startFeedbackBench starts the receiver and returns the feedback service's environment
// for it.
func startFeedbackBench() (*feedbackBench, []string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	b := &feedbackBench{url: "http://" + ln.Addr().String() + "/hooks", seen: map[string]bool{}, opened: map[string]int{}}
	b.srv = &http.Server{Handler: http.HandlerFunc(b.receive), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, []string{"FEEDBACK_WEBHOOK_ALLOW_LOOPBACK_HTTP=true"}, nil
}

func (b *feedbackBench) close() { _ = b.srv.Close() }

// receive is the subscriber's endpoint: a call whose signature does not verify is
// refused (and counted); a webhook-id seen before is a duplicate, acknowledged but not
// counted again.
func (b *feedbackBench) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	id, err := webhook.Verify(b.secret, r.Header, body, time.Now(), webhook.DefaultTolerance)
	if err != nil {
		b.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if b.seen[id] {
		b.dups++
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b.seen[id] = true
	var call struct {
		Type string `json:"type"`
		Data struct {
			CaseID string `json:"case_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &call); err == nil && call.Type == "feedback.case.opened" {
		b.opened[call.Data.CaseID]++
	}
	w.WriteHeader(http.StatusNoContent)
}

// Pools the responses are drawn from, and comments that hit the seeded topic taxonomy
// (migration 00009) in both languages, with some that hit none.
var (
	benchStores         = 40
	detractorCommentsDE = []string{
		"Die Lieferung kam drei Tage zu spät, das Paket war beschädigt.",
		"Der Verkäufer war sehr unfreundlich und hat mich ignoriert.",
		"Viel zu teuer für diese Qualität, und an der Kasse lange warten.",
		"Der Artikel war nach einer Woche kaputt.",
		"Die Filiale war schmutzig und das Personal unhöflich.",
		"Ich bin enttäuscht.",
	}
	detractorCommentsEN = []string{
		"The delivery arrived late and the parcel was damaged.",
		"The cashier was rude and unfriendly.",
		"Way too expensive, and the queue at the till took forever.",
		"Broken after two days, poor quality.",
		"The store was dirty.",
		"Not great.",
	}
	passiveComments = []string{
		"Ok, aber etwas teuer.", "Fine, but I had to wait in line.", "Ganz okay.", "Shipping was slow but fine.", "",
	}
	promoterComments = []string{
		"Super freundliches Personal!", "Great staff, quick checkout.", "Alles bestens.", "Love the new store.", "",
	}
)

// seedFeedbackOrg creates, through the API as an admin would, the organisation the
// responses are routed in: four teams with staff (and staff for the two seeded teams),
// the stores' regions, 20 routing rules before the seeded ones, and one webhook
// subscription to the receiver for every case event. It returns the subscription id.
func (b *feedbackBench) seedOrg(ctx context.Context, s *stack.Stack) (string, error) {
	conn, err := s.Conn("feedback", "admin")
	if err != nil {
		return "", err
	}
	teams := feedbackv1.NewTeamServiceClient(conn)
	routing := feedbackv1.NewRoutingServiceClient(conn)
	hooks := feedbackv1.NewWebhookServiceClient(conn)

	allDay := []*feedbackv1.Span{{Start: "00:00", End: "24:00"}}
	office := []*feedbackv1.Span{{Start: "08:00", End: "18:00"}}
	newTeams := []struct {
		key, name string
		hours     *feedbackv1.BusinessHours
		staff     int
	}{
		{"store-ops-north", "Store operations north", &feedbackv1.BusinessHours{Monday: office, Tuesday: office, Wednesday: office, Thursday: office, Friday: office, Saturday: office}, 4},
		{"store-ops-south", "Store operations south", &feedbackv1.BusinessHours{Monday: office, Tuesday: office, Wednesday: office, Thursday: office, Friday: office, Saturday: office}, 4},
		{"logistics", "Logistics", &feedbackv1.BusinessHours{Monday: office, Tuesday: office, Wednesday: office, Thursday: office, Friday: office}, 3},
		{"vip-care", "VIP care", &feedbackv1.BusinessHours{Monday: allDay, Tuesday: allDay, Wednesday: allDay, Thursday: allDay, Friday: allDay, Saturday: allDay, Sunday: allDay}, 5},
	}
	staffOf := map[string]int{"customer-service": 5, "marketing": 3}
	teamIDs := map[string]string{}
	for i, t := range newTeams {
		strategy := feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_ROUND_ROBIN
		if i%2 == 1 {
			strategy = feedbackv1.AssignmentStrategy_ASSIGNMENT_STRATEGY_FEWEST_OPEN
		}
		resp, err := teams.CreateTeam(ctx, &feedbackv1.CreateTeamRequest{
			IdempotencyKey: "bench-team-" + t.key, Key: t.key, Name: t.name, TimeZone: "Europe/Berlin", Hours: t.hours, Assignment: strategy,
		})
		if err != nil {
			return "", fmt.Errorf("create team %s: %w", t.key, err)
		}
		teamIDs[t.key] = resp.Team.TeamId
		staffOf[t.key] = t.staff
	}
	for _, key := range []string{"customer-service", "marketing"} {
		resp, err := teams.GetTeam(ctx, &feedbackv1.GetTeamRequest{Team: key})
		if err != nil {
			return "", fmt.Errorf("get team %s: %w", key, err)
		}
		teamIDs[key] = resp.Team.TeamId
	}
	for key, n := range staffOf {
		for i := range n {
			role := feedbackv1.StaffRole_STAFF_ROLE_AGENT
			if i == 0 {
				role = feedbackv1.StaffRole_STAFF_ROLE_TEAM_LEAD
			}
			if _, err := teams.AddStaff(ctx, &feedbackv1.AddStaffRequest{
				IdempotencyKey: fmt.Sprintf("bench-staff-%s-%d", key, i), TeamId: teamIDs[key],
				Name: fmt.Sprintf("Agent %d of %s", i+1, key), Email: fmt.Sprintf("agent%d.%s@bench.example", i+1, key), Role: role,
			}); err != nil {
				return "", fmt.Errorf("add staff to %s: %w", key, err)
			}
		}
	}

	regions := make([]*feedbackv1.StoreRegion, benchStores)
	for i := range regions {
		region, team := "north", "store-ops-north"
		if i%2 == 1 {
			region, team = "south", "store-ops-south"
		}
		regions[i] = &feedbackv1.StoreRegion{StoreId: "store-" + strconv.Itoa(i), Region: region, StoreTeam: team}
	}
	if _, err := routing.SetStoreRegions(ctx, &feedbackv1.SetStoreRegionsRequest{Regions: regions}); err != nil {
		return "", fmt.Errorf("store regions: %w", err)
	}

	type rule struct{ name, cond, team, task, prio string }
	rules := []rule{
		{"store-7-detractor", `nps_class == "DETRACTOR" && store_id == "store-7"`, "store-ops-north", "STORE_FOLLOW_UP", "URGENT"},
		{"store-12-detractor", `nps_class == "DETRACTOR" && store_id == "store-12"`, "store-ops-north", "STORE_FOLLOW_UP", "HIGH"},
		{"store-21-detractor", `nps_class == "DETRACTOR" && store_id == "store-21"`, "store-ops-south", "STORE_FOLLOW_UP", "HIGH"},
		{"store-33-detractor", `nps_class == "DETRACTOR" && store_id in ["store-33", "store-35"]`, "store-ops-south", "STORE_FOLLOW_UP", "HIGH"},
		{"delivery-detractor", `nps_class == "DETRACTOR" && "delivery" in topics`, "logistics", "CALL_BACK", "HIGH"},
		{"delivery-passive", `nps_class == "PASSIVE" && "delivery" in topics`, "logistics", "PRODUCT_FEEDBACK", "LOW"},
		{"gold-detractor", `nps_class == "DETRACTOR" && tier == "gold"`, "vip-care", "CALL_BACK", "URGENT"},
		{"silver-detractor", `nps_class == "DETRACTOR" && tier == "silver"`, "vip-care", "CALL_BACK", "HIGH"},
		{"unfriendly-de", `"unfriendly" in topics && language == "de"`, "customer-service", "CALL_BACK", "HIGH"},
		{"unfriendly-en", `"unfriendly" in topics && language == "en"`, "customer-service", "CALL_BACK", "NORMAL"},
		{"staff-north", `"staff" in topics && region == "north" && score <= 6`, "store-ops-north", "STORE_FOLLOW_UP", "NORMAL"},
		{"staff-south", `"staff" in topics && region == "south" && score <= 6`, "store-ops-south", "STORE_FOLLOW_UP", "NORMAL"},
		{"queue-north", `"queue" in topics && region == "north" && nps_class != "PROMOTER"`, "store-ops-north", "STORE_FOLLOW_UP", "NORMAL"},
		{"queue-south", `"queue" in topics && region == "south" && nps_class != "PROMOTER"`, "store-ops-south", "STORE_FOLLOW_UP", "NORMAL"},
		{"cleanliness", `"cleanliness" in topics && score <= 6`, "store-ops-north", "STORE_FOLLOW_UP", "HIGH"},
		{"price-detractor", `"price" in topics && score <= 4`, "marketing", "PRODUCT_FEEDBACK", "NORMAL"},
		{"quality", `"product quality" in topics && nps_class != "PROMOTER"`, "customer-service", "PRODUCT_FEEDBACK", "HIGH"},
		{"zero-score", `score == 0 && comment == ""`, "customer-service", "CALL_BACK", "URGENT"},
		{"web-detractor", `nps_class == "DETRACTOR" && channel == "WEB"`, "logistics", "CALL_BACK", "NORMAL"},
		{"bronze-promoter-en", `nps_class == "PROMOTER" && tier == "bronze" && language == "en" && size(topics) > 0`, "marketing", "REFERRAL_REQUEST", "LOW"},
	}
	for i, r := range rules {
		if _, err := routing.CreateRule(ctx, &feedbackv1.CreateRuleRequest{IdempotencyKey: "bench-rule-" + r.name, Spec: &feedbackv1.RuleSpec{
			Name: r.name, Priority: int32(10 + i), Condition: r.cond, Team: r.team, TaskType: r.task, CasePriority: r.prio,
			FirstContactSla: durationpb.New(4 * time.Hour), ResolutionSla: durationpb.New(72 * time.Hour),
		}}); err != nil {
			return "", fmt.Errorf("create rule %s: %w", r.name, err)
		}
	}

	sub, err := hooks.CreateSubscription(ctx, &feedbackv1.CreateSubscriptionRequest{
		Url: b.url, EventTypes: []string{"feedback.case.*"}, Description: "bench CRM",
	})
	if err != nil {
		return "", fmt.Errorf("create subscription: %w", err)
	}
	b.mu.Lock()
	b.secret = sub.Secret
	b.mu.Unlock()
	return sub.Subscription.SubscriptionId, nil
}

// makeResponses returns n survey responses as the survey publishes them: about 30 %
// detractors (each with a comment, German or English, most of them naming a topic of the
// taxonomy), 30 % passives, 40 % promoters, of members from the pool at stores from the
// pool.
func makeResponses(n int, members []string) ([]*nats.Msg, error) {
	r := mrand.New(mrand.NewPCG(7, 7))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	msgs := make([]*nats.Msg, n)
	now := time.Now()
	for i := range msgs {
		var (
			score   int32
			class   commonv1.NpsClass
			comment string
		)
		switch x := r.IntN(100); {
		case x < 30:
			score, class = int32(r.IntN(7)), commonv1.NpsClass_NPS_CLASS_DETRACTOR
			if r.IntN(2) == 0 {
				comment = pick(detractorCommentsDE)
			} else {
				comment = pick(detractorCommentsEN)
			}
		case x < 60:
			score, class, comment = int32(7+r.IntN(2)), commonv1.NpsClass_NPS_CLASS_PASSIVE, pick(passiveComments)
		default:
			score, class, comment = int32(9+r.IntN(2)), commonv1.NpsClass_NPS_CLASS_PROMOTER, pick(promoterComments)
		}
		locale := "de-DE"
		if r.IntN(3) == 0 {
			locale = "en-GB"
		}
		store, channel := "store-"+strconv.Itoa(r.IntN(benchStores)), commonv1.Channel_CHANNEL_STORE
		if r.IntN(5) == 0 {
			store, channel = "web", commonv1.Channel_CHANNEL_WEB
		}
		id := uuid.Must(uuid.NewV7()).String()
		data, err := proto.Marshal(&surveyv1.ResponseSubmitted{
			ResponseId: id, InvitationId: uuid.NewString(), SurveyId: "nps-after-purchase", SurveyVersion: 1,
			MemberId: members[r.IntN(len(members))], Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE,
			StoreId: store, Channel: channel, EmployeeId: "emp-" + strconv.Itoa(r.IntN(200)),
			Score: score, NpsClass: class, ScoreKind: commonv1.ScoreKind_SCORE_KIND_NPS, Comment: comment, Locale: locale,
			TouchpointKey: fmt.Sprintf("purchase:%s:F%09d", store, i), SubmittedAt: timestamppb.New(now),
		})
		if err != nil {
			return nil, err
		}
		m := &nats.Msg{Subject: "survey.response.submitted", Data: data, Header: nats.Header{}}
		m.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
		m.Header.Set(bus.HeaderEventType, "treue.survey.v1.ResponseSubmitted")
		m.Header.Set(nats.MsgIdHdr, id)
		msgs[i] = m
	}
	return msgs, nil
}

// run measures routing and webhooks: n responses published as fast as one connection
// goes; responses routed per second until every one has its routing record (and so its
// case, written in the same transaction), webhook deliveries per second until every one
// is DELIVERED to the receiver, and checks that no response opened two cases and every
// case's opening was delivered once.
func (b *feedbackBench) run(ctx context.Context, s *stack.Stack, js jetstream.JetStream, ns bus.Namespace, pool *pgxpool.Pool, members []string, n int) error {
	began := time.Now()
	sub, err := b.seedOrg(ctx, s)
	if err != nil {
		return fmt.Errorf("feedback: %w", err)
	}
	msgs, err := makeResponses(n, members)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		m.Subject = ns.Subject(m.Subject)
	}
	count := func(q string, args ...any) (int, error) {
		var c int
		err := pool.QueryRow(ctx, q, args...).Scan(&c)
		return c, err
	}
	before := cpuSnapshot(ctx, s, pool)
	start := time.Now()
	futures := make([]jetstream.PubAckFuture, 0, 4096)
	flush := func() error {
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures = futures[:0]
		return nil
	}
	for _, m := range msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return err
		}
		if futures = append(futures, f); len(futures) == cap(futures) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	published := time.Since(start)

	var routedIn, deliveredIn time.Duration
	var cases, deliveries int
	deadline := time.Now().Add(10 * time.Minute)
	for deliveredIn == 0 {
		if routedIn == 0 {
			routed, err := count(`SELECT count(*) FROM feedback.routed_responses`)
			if err != nil {
				return err
			}
			if routed >= n {
				routedIn = time.Since(start)
				if cases, err = count(`SELECT count(*) FROM feedback.cases`); err != nil {
					return err
				}
			}
		}
		if routedIn != 0 {
			var pending int
			if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status <> 'DELIVERED')
				FROM feedback.webhook_deliveries WHERE subscription_id = $1`, sub).Scan(&deliveries, &pending); err != nil {
				return err
			}
			opened, err := count(`SELECT count(*) FROM feedback.webhook_deliveries WHERE subscription_id = $1 AND event_type = 'feedback.case.opened'`, sub)
			if err != nil {
				return err
			}
			if pending == 0 && opened >= cases {
				deliveredIn = time.Since(start)
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("feedback: not routed and delivered within 10 minutes (routed after %v, %d deliveries)", routedIn, deliveries)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	after := cpuSnapshot(ctx, s, pool)

	var twice int
	if twice, err = count(`SELECT count(*) FROM (SELECT response_id FROM feedback.cases GROUP BY response_id HAVING count(*) > 1) x`); err != nil {
		return err
	}
	b.mu.Lock()
	calls, dups, bad, openedCalls := b.calls, b.dups, b.bad, len(b.opened)
	var openedTwice int
	for _, c := range b.opened {
		if c > 1 {
			openedTwice++
		}
	}
	b.mu.Unlock()
	var problems []error
	if twice > 0 {
		problems = append(problems, fmt.Errorf("%d responses opened more than one case", twice))
	}
	if openedCalls != cases || openedTwice > 0 {
		problems = append(problems, fmt.Errorf("%d cases, %d of them announced by feedback.case.opened calls, %d twice", cases, openedCalls, openedTwice))
	}
	if bad > 0 {
		problems = append(problems, fmt.Errorf("%d calls failed signature verification", bad))
	}

	fmt.Printf("  feedback: %d survey responses published in %v (%.0f/s); 20 routing rules, 6 teams, 1 webhook subscription (feedback.case.*)\n",
		n, published.Round(time.Millisecond), float64(n)/published.Seconds())
	fmt.Printf("  feedback: every response routed and recorded, %d cases opened, in %v: %8.0f responses/s\n",
		cases, routedIn.Round(time.Millisecond), float64(n)/routedIn.Seconds())
	fmt.Printf("  feedback: %d webhook deliveries DELIVERED (%d calls, %d duplicate webhook-ids, every signature verified) %v after the first publish: %8.0f deliveries/s\n",
		deliveries, calls, dups, deliveredIn.Round(time.Millisecond), float64(deliveries)/deliveredIn.Seconds())
	after.printPer(before, n, "survey response", "routed, its case opened and announced by webhook")
	fmt.Printf("  feedback: the section took %v with seeding and checks\n", time.Since(began).Round(100*time.Millisecond))
	return errors.Join(problems...)
}
