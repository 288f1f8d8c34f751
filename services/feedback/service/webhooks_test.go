package service_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/pkg/webhook"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"

	"github.com/treue/treue/services/feedback/service"
)

const keyCRM = "key-crm"

// hooksEnv is a feedback service whose webhooks retry fast, with a loopback receiver
// allowed over http.
type hooksEnv struct {
	*env
	hooks feedbackv1.WebhookServiceClient
}

func startHooks(t *testing.T) *hooksEnv {
	t.Helper()
	e := testkit.NewEnv(t, append(callers, testkit.Caller{Name: "crm-sync", Role: "service", Key: keyCRM})...)
	cfg := service.Config{Base: e.Base()}
	cfg.Base.DBMaxConns = 8
	cfg.Webhooks = service.WebhookConfig{
		MaxAttempts: 3, Backoff: 100 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Interval: 50 * time.Millisecond, Timeout: 2 * time.Second, Lease: 10 * time.Second, AllowLoopbackHTTP: true,
	}
	s := testkit.Start(t, service.New, cfg).Service
	conn := e.Conn(s.GRPCAddr(), "")
	return &hooksEnv{
		env:   &env{Env: e, t: t, db: e.DB(service.Schema), client: feedbackv1.NewFeedbackServiceClient(conn)},
		hooks: feedbackv1.NewWebhookServiceClient(conn),
	}
}

// call is one request a receiver got.
type call struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a webhook endpoint on loopback answering status.
type receiver struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	calls  []call
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.status.Store(http.StatusNoContent)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.calls = append(r.calls, call{header: req.Header.Clone(), body: body, at: time.Now()})
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// waitCalls waits until the receiver got n calls.
func (r *receiver) waitCalls(t *testing.T, n int) []call {
	t.Helper()
	testkit.Eventually(t, 15*time.Second, "webhook calls", func() bool { return len(r.got()) >= n })
	return r.got()
}

// payload is a webhook's JSON body.
type payload struct {
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

func decode(t *testing.T, c call) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal(c.body, &p); err != nil {
		t.Fatalf("body %s: %v", c.body, err)
	}
	if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", p.Timestamp, err)
	}
	return p
}

// independentSignatures computes the call's v1 signature under secret without
// pkg/webhook, from the specification.
func independentSignature(t *testing.T, secret string, c call) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(c.header.Get("webhook-id") + "." + c.header.Get("webhook-timestamp") + "."))
	m.Write(c.body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// wantSigned checks a call against secret with both verifiers.
func wantSigned(t *testing.T, secret string, c call) {
	t.Helper()
	if _, err := webhook.Verify(secret, c.header, c.body, time.Now(), webhook.DefaultTolerance); err != nil {
		t.Errorf("verify: %v (headers %v)", err, c.header)
	}
	if want := independentSignature(t, secret, c); !slicesContains(strings.Fields(c.header.Get("webhook-signature")), want) {
		t.Errorf("signatures %q lack %s", c.header.Get("webhook-signature"), want)
	}
	if ts := c.header.Get("webhook-timestamp"); ts == "" || c.header.Get("webhook-id") == "" {
		t.Errorf("headers %v", c.header)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (h *hooksEnv) subscribe(url string, types ...string) *feedbackv1.CreateSubscriptionResponse {
	h.t.Helper()
	resp, err := h.hooks.CreateSubscription(as(keyAdmin), &feedbackv1.CreateSubscriptionRequest{Url: url, EventTypes: types})
	if err != nil {
		h.t.Fatal(err)
	}
	if !strings.HasPrefix(resp.GetSecret(), "whsec_") {
		h.t.Fatalf("secret %q", resp.GetSecret())
	}
	return resp
}

func (h *hooksEnv) deliveries(subID string, failedOnly bool) []*feedbackv1.Delivery {
	h.t.Helper()
	var out []*feedbackv1.Delivery
	req := &feedbackv1.ListDeliveriesRequest{SubscriptionId: subID, FailedOnly: failedOnly, PageSize: 2}
	for {
		resp, err := h.hooks.ListDeliveries(as(keyAdmin), req)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, resp.GetDeliveries()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func TestWebhooksDeliverSignedCaseAndResponseEvents(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	all, resolvedOnly, disabled := newReceiver(t), newReceiver(t), newReceiver(t)
	subAll := h.subscribe(all.URL+"/hooks", "feedback.case.*", "survey.response.submitted")
	subResolved := h.subscribe(resolvedOnly.URL, "feedback.case.resolved")
	subOff := h.subscribe(disabled.URL, "*")
	if _, err := h.hooks.DisableSubscription(as(keyAdmin), &feedbackv1.DisableSubscriptionRequest{SubscriptionId: subOff.GetSubscription().GetSubscriptionId()}); err != nil {
		t.Fatal(err)
	}

	r := h.submit(2)
	c := h.waitCase(r.GetResponseId())
	if _, err := h.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{CaseId: c.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED}); err != nil {
		t.Fatal(err)
	}

	calls := all.waitCalls(t, 3)
	byType := map[string]payload{}
	ids := map[string]bool{}
	for _, cl := range calls {
		wantSigned(t, subAll.GetSecret(), cl)
		p := decode(t, cl)
		byType[p.Type] = p
		ids[cl.header.Get("webhook-id")] = true
		if cl.header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", cl.header.Get("Content-Type"))
		}
		// Another subscriber's secret does not verify it.
		if _, err := webhook.Verify(subResolved.GetSecret(), cl.header, cl.body, time.Now(), webhook.DefaultTolerance); err == nil {
			t.Error("a call verifies under another subscription's secret")
		}
	}
	if len(ids) != 3 {
		t.Errorf("webhook ids %v, want 3 distinct", ids)
	}
	if p := byType["survey.response.submitted"]; p.Data["response_id"] != r.GetResponseId() || p.Data["comment"] != r.GetComment() {
		t.Errorf("response payload %v", p)
	}
	if p := byType["feedback.case.opened"]; p.Data["case_id"] != c.GetCaseId() || p.Data["kind"] != "CASE_KIND_CALLBACK" {
		t.Errorf("opened payload %v", p)
	}
	if p := byType["feedback.case.resolved"]; p.Data["case_id"] != c.GetCaseId() || p.Data["outcome"] != "CASE_OUTCOME_CONTACTED_RESOLVED" || p.Data["resolved_by"] != "alice" {
		t.Errorf("resolved payload %v", p)
	}

	// The filter: one call, the resolution.
	rc := resolvedOnly.waitCalls(t, 1)
	wantSigned(t, subResolved.GetSecret(), rc[0])
	if p := decode(t, rc[0]); p.Type != "feedback.case.resolved" {
		t.Errorf("filtered subscription got %s", p.Type)
	}
	if got := rc[0].header.Get("webhook-id"); !ids[got] {
		t.Errorf("the resolution's webhook-id %s is not the one the other subscriber got", got)
	}

	// The delivery log: three delivered, each with one 204 attempt and the event id.
	// (A call is recorded once the receiver has answered it.)
	var ds []*feedbackv1.Delivery
	testkit.Eventually(t, 5*time.Second, "three deliveries recorded", func() bool {
		ds = h.deliveries(subAll.GetSubscription().GetSubscriptionId(), false)
		for _, d := range ds {
			if d.GetStatus() == feedbackv1.DeliveryStatus_DELIVERY_STATUS_PENDING {
				return false
			}
		}
		return len(ds) == 3
	})
	for _, d := range ds {
		if d.GetStatus() != feedbackv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED || d.GetAttempts() != 1 || !ids[d.GetEventId()] ||
			len(d.GetAttemptLog()) != 1 || d.GetAttemptLog()[0].GetStatusCode() != 204 || d.GetDeliveredAt() == nil {
			t.Errorf("delivery %v", d)
		}
	}
	// Nothing more arrives: one call per event and subscription; the disabled one got none.
	time.Sleep(500 * time.Millisecond)
	if n := len(all.got()); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
	if n := len(resolvedOnly.got()); n != 1 {
		t.Errorf("filtered subscription: %d calls, want 1", n)
	}
	if n := len(disabled.got()); n != 0 || len(h.deliveries(subOff.GetSubscription().GetSubscriptionId(), false)) != 0 {
		t.Errorf("disabled subscription: %d calls", n)
	}

	// Listing shows no secret and the disabled one inactive.
	list, err := h.hooks.ListSubscriptions(as(keyAdmin), &feedbackv1.ListSubscriptionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetSubscriptions()) != 3 || strings.Contains(list.String(), "whsec_") {
		t.Errorf("list %v", list)
	}
	for _, s := range list.GetSubscriptions() {
		if s.GetActive() != (s.GetSubscriptionId() != subOff.GetSubscription().GetSubscriptionId()) {
			t.Errorf("subscription %v", s)
		}
	}
}

func TestWebhookRetriesThenFailsAndReplays(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusServiceUnavailable)
	sub := h.subscribe(rcv.URL, "survey.response.submitted")
	subID := sub.GetSubscription().GetSubscriptionId()

	r := h.submit(9)
	calls := rcv.waitCalls(t, 3)
	var failed []*feedbackv1.Delivery
	testkit.Eventually(t, 10*time.Second, "the delivery FAILED", func() bool {
		failed = h.deliveries(subID, true)
		return len(failed) == 1
	})
	d := failed[0]
	if d.GetAttempts() != 3 || d.GetLastStatusCode() != 503 || !strings.Contains(d.GetLastError(), "503") || len(d.GetAttemptLog()) != 3 {
		t.Errorf("failed delivery %v", d)
	}
	for i, a := range d.GetAttemptLog() {
		if a.GetAttempt() != int32(i+1) || a.GetStatusCode() != 503 || a.GetDurationMs() < 0 || a.GetAttemptedAt() == nil {
			t.Errorf("attempt %d: %v", i, a)
		}
	}
	// Back-off: the second attempt at least 100ms after the first, the third 200ms after it.
	if gap := calls[1].at.Sub(calls[0].at); gap < 90*time.Millisecond {
		t.Errorf("second attempt %s after the first, want the back-off of 100ms", gap)
	}
	if gap := calls[2].at.Sub(calls[1].at); gap < 190*time.Millisecond {
		t.Errorf("third attempt %s after the second, want the back-off of 200ms", gap)
	}
	for _, c := range calls {
		wantSigned(t, sub.GetSecret(), c)
		if c.header.Get("webhook-id") != d.GetEventId() {
			t.Errorf("webhook-id %s, want the event id %s on every attempt", c.header.Get("webhook-id"), d.GetEventId())
		}
	}
	time.Sleep(400 * time.Millisecond)
	if n := len(rcv.got()); n != 3 {
		t.Errorf("%d calls after FAILED, want 3", n)
	}

	// The receiver recovers: replaying the failed ones delivers.
	rcv.status.Store(http.StatusOK)
	resp, err := h.hooks.ReplayFailed(as(keyAdmin), &feedbackv1.ReplayFailedRequest{SubscriptionId: subID, Since: timestamppb.New(time.Now().Add(-time.Hour))})
	if err != nil || resp.GetReplayed() != 1 {
		t.Fatalf("replay failed = %v, %v", resp, err)
	}
	calls = rcv.waitCalls(t, 4)
	if p := decode(t, calls[3]); p.Data["response_id"] != r.GetResponseId() {
		t.Errorf("replayed %v", p)
	}
	testkit.Eventually(t, 5*time.Second, "delivered", func() bool {
		ds := h.deliveries(subID, false)
		return len(ds) == 1 && ds[0].GetStatus() == feedbackv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED
	})
	if len(h.deliveries(subID, true)) != 0 {
		t.Error("a delivered delivery is listed as failed")
	}
	// A replay of one delivery sends it again, with the same id and body.
	if _, err := h.hooks.ReplayDelivery(as(keyAdmin), &feedbackv1.ReplayDeliveryRequest{DeliveryId: d.GetDeliveryId()}); err != nil {
		t.Fatal(err)
	}
	calls = rcv.waitCalls(t, 5)
	if calls[4].header.Get("webhook-id") != d.GetEventId() || string(calls[4].body) != string(calls[0].body) {
		t.Errorf("replayed call %v %s", calls[4].header, calls[4].body)
	}
	wantSigned(t, sub.GetSecret(), calls[4])

	_, err = h.hooks.ReplayDelivery(as(keyAdmin), &feedbackv1.ReplayDeliveryRequest{DeliveryId: uuid.NewString()})
	testkit.WantCode(t, err, codes.NotFound)
}

func TestWebhookSecretRotationSignsWithBoth(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	rcv := newReceiver(t)
	sub := h.subscribe(rcv.URL, "*")
	subID := sub.GetSubscription().GetSubscriptionId()
	h.submit(8)
	first := rcv.waitCalls(t, 1)[0]
	if n := len(strings.Fields(first.header.Get("webhook-signature"))); n != 1 {
		t.Errorf("%d signatures before rotation", n)
	}

	rot, err := h.hooks.RotateSecret(as(keyAdmin), &feedbackv1.RotateSecretRequest{SubscriptionId: subID})
	if err != nil {
		t.Fatal(err)
	}
	if rot.GetSecret() == sub.GetSecret() || !strings.HasPrefix(rot.GetSecret(), "whsec_") {
		t.Fatalf("rotated secret %q", rot.GetSecret())
	}
	if until := rot.GetSubscription().GetPreviousSecretUntil().AsTime(); time.Until(until) < 23*time.Hour || time.Until(until) > 25*time.Hour {
		t.Errorf("previous secret valid until %v, want in 24h", until)
	}
	h.submit(1) // a response and its case: two calls
	calls := rcv.waitCalls(t, 3)
	for _, c := range calls[1:] {
		if n := len(strings.Fields(c.header.Get("webhook-signature"))); n != 2 {
			t.Errorf("%d signatures after rotation, want 2", n)
		}
		wantSigned(t, rot.GetSecret(), c)
		wantSigned(t, sub.GetSecret(), c)
	}
}

func TestWebhookServiceValidatesAndChecksRoles(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	for _, tc := range []struct {
		url   string
		types []string
		field string
	}{
		{"http://example.com/hook", []string{"*"}, "url"},
		{"ftp://127.0.0.1/hook", []string{"*"}, "url"},
		{"https://user:pw@example.com/hook", []string{"*"}, "url"},
		{"https://example.com/hook", []string{"feedback..case"}, "event_types[0]"},
		{"https://example.com/hook", []string{"*", "feedback.case.*x"}, "event_types[1]"},
	} {
		_, err := h.hooks.CreateSubscription(as(keyAdmin), &feedbackv1.CreateSubscriptionRequest{Url: tc.url, EventTypes: tc.types})
		testkit.WantCode(t, err, codes.InvalidArgument)
		if f := badFields(err); len(f) != 1 || f[0] != tc.field {
			t.Errorf("%s %v: fields %v, want %s", tc.url, tc.types, f, tc.field)
		}
	}
	if _, err := h.hooks.CreateSubscription(as(keyAdmin), &feedbackv1.CreateSubscriptionRequest{Url: "https://hooks.example.com/treue", EventTypes: []string{"feedback.case.*"}}); err != nil {
		t.Errorf("https: %v", err)
	}
	for _, key := range []string{keyAlice, keyMarket, keyAuditor, keyCRM} {
		_, err := h.hooks.CreateSubscription(as(key), &feedbackv1.CreateSubscriptionRequest{Url: "https://x.example.com/h", EventTypes: []string{"*"}})
		testkit.WantCode(t, err, codes.PermissionDenied)
		_, err = h.hooks.ListDeliveries(as(key), &feedbackv1.ListDeliveriesRequest{SubscriptionId: uuid.NewString()})
		testkit.WantCode(t, err, codes.PermissionDenied)
	}
	_, err := h.hooks.RotateSecret(as(keyAdmin), &feedbackv1.RotateSecretRequest{SubscriptionId: uuid.NewString()})
	testkit.WantCode(t, err, codes.NotFound)
}

func TestUpdateCaseFromCRM(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	r := h.submit(0)
	c := h.waitCase(r.GetResponseId())
	req := &feedbackv1.UpdateCaseFromCRMRequest{
		IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "salesforce",
		ExternalReference: "500Qy00000abcd", Note: "Called back, voucher sent", Status: "resolved",
		Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
	}
	first, err := h.hooks.UpdateCaseFromCRM(as(keyCRM), req)
	if err != nil {
		t.Fatal(err)
	}
	if fc := first.GetCase(); fc.GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED || fc.GetResolvedBy() != "crm-sync" ||
		fc.GetResolutionNote() != req.GetNote() || fc.GetOutcome() != req.GetOutcome() {
		t.Errorf("case after the update %v", fc)
	}
	if l := first.GetLinks(); len(l) != 1 || l[0].GetExternalSystem() != "salesforce" || l[0].GetExternalReference() != "500Qy00000abcd" {
		t.Errorf("links %v", l)
	}
	// A retry returns the first result and resolves nothing twice.
	again, err := h.hooks.UpdateCaseFromCRM(as(keyCRM), req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.GetUpdate().GetReceivedAt().AsTime().Equal(first.GetUpdate().GetReceivedAt().AsTime()) ||
		again.GetCase().GetResolvedAt().AsTime() != first.GetCase().GetResolvedAt().AsTime() {
		t.Errorf("retry %v, first %v", again, first)
	}
	testkit.WaitEvent(h.Env, testkit.Subject(&feedbackv1.CaseResolved{}), func(e *feedbackv1.CaseResolved) bool { return e.GetCaseId() == c.GetCaseId() })
	time.Sleep(300 * time.Millisecond)
	var n int
	for _, e := range h.resolved() {
		if e.GetCaseId() == c.GetCaseId() {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d CaseResolved events, want 1", n)
	}

	// The key with another request.
	reused := proto.Clone(req).(*feedbackv1.UpdateCaseFromCRMRequest)
	reused.Note = "another note"
	_, err = h.hooks.UpdateCaseFromCRM(as(keyCRM), reused)
	testkit.WantReason(t, err, "IDEMPOTENCY_KEY_REUSED")

	// A note and a new reference without a status; the history shows both updates.
	if _, err := h.hooks.UpdateCaseFromCRM(as(keyAdmin), &feedbackv1.UpdateCaseFromCRMRequest{
		IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "salesforce",
		ExternalReference: "500Qy00000wxyz", Note: "Customer confirmed by phone",
	}); err != nil {
		t.Fatal(err)
	}
	_, err = h.hooks.ListCrmUpdates(as(keyAlice), &feedbackv1.ListCrmUpdatesRequest{CaseId: c.GetCaseId()})
	testkit.WantCode(t, err, codes.PermissionDenied)
	hist, err := h.hooks.ListCrmUpdates(as(keyCRM), &feedbackv1.ListCrmUpdatesRequest{CaseId: c.GetCaseId()})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.GetLinks()) != 1 || hist.GetLinks()[0].GetExternalReference() != "500Qy00000wxyz" {
		t.Errorf("links %v", hist.GetLinks())
	}
	if u := hist.GetUpdates(); len(u) != 2 || u[0].GetNote() != "Called back, voucher sent" || u[0].GetStatus() != "resolved" ||
		u[0].GetUpdatedBy() != "crm-sync" || u[1].GetNote() != "Customer confirmed by phone" || u[1].GetUpdatedBy() != "root" {
		t.Errorf("updates %v", u)
	}

	// A status the service does not know.
	_, err = h.hooks.UpdateCaseFromCRM(as(keyCRM), &feedbackv1.UpdateCaseFromCRMRequest{
		IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "salesforce", ExternalReference: "x", Status: "escalated",
	})
	testkit.WantReason(t, err, "UNSUPPORTED_STATUS")
	// Resolved without an outcome, an unknown case, a resolved case again.
	_, err = h.hooks.UpdateCaseFromCRM(as(keyCRM), &feedbackv1.UpdateCaseFromCRMRequest{
		IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "salesforce", ExternalReference: "x", Status: "resolved",
	})
	testkit.WantCode(t, err, codes.InvalidArgument)
	_, err = h.hooks.UpdateCaseFromCRM(as(keyCRM), &feedbackv1.UpdateCaseFromCRMRequest{
		IdempotencyKey: "crm-" + uuid.NewString(), CaseId: uuid.NewString(), ExternalSystem: "salesforce", ExternalReference: "x",
	})
	testkit.WantCode(t, err, codes.NotFound)
	_, err = h.hooks.UpdateCaseFromCRM(as(keyCRM), &feedbackv1.UpdateCaseFromCRMRequest{
		IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "salesforce", ExternalReference: "x",
		Status: "resolved", Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
	})
	testkit.WantReason(t, err, "ALREADY_RESOLVED")
	// A move the case's status does not allow: a resolved case is not acknowledged.
	_, err = h.hooks.UpdateCaseFromCRM(as(keyCRM), &feedbackv1.UpdateCaseFromCRMRequest{
		IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "salesforce", ExternalReference: "x", Status: "acknowledged",
	})
	testkit.WantReason(t, err, "ILLEGAL_TRANSITION")
	// A failed update stored nothing: still two updates.
	if hist, _ = h.hooks.ListCrmUpdates(as(keyAdmin), &feedbackv1.ListCrmUpdatesRequest{CaseId: c.GetCaseId()}); len(hist.GetUpdates()) != 2 {
		t.Errorf("%d updates after refused ones, want 2", len(hist.GetUpdates()))
	}

	// Roles: marketing and auditors may not update from a CRM.
	for _, key := range []string{keyMarket, keyAuditor, keyAlice} {
		_, err := h.hooks.UpdateCaseFromCRM(as(key), &feedbackv1.UpdateCaseFromCRMRequest{
			IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "salesforce", ExternalReference: "x",
		})
		testkit.WantCode(t, err, codes.PermissionDenied)
	}
}

func TestWebhookErasureRedactsDeliveries(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusInternalServerError)
	sub := h.subscribe(rcv.URL, "survey.response.submitted")
	subID := sub.GetSubscription().GetSubscriptionId()
	member := uuid.NewString()
	r := h.submit(8, withMember(member))
	other := h.submit(8)
	rcv.waitCalls(t, 2)
	if p := decode(t, rcv.got()[0]); p.Data["member_id"] == nil {
		t.Fatalf("payload without the member: %v", p)
	}
	sent := h.publish(&ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.Now()})
	h.WaitHandled("feedback-webhooks-members", sent)
	testkit.Eventually(t, 10*time.Second, "both deliveries FAILED", func() bool { return len(h.deliveries(subID, true)) == 2 })

	rcv.status.Store(http.StatusOK)
	n := len(rcv.got())
	if _, err := h.hooks.ReplayFailed(as(keyAdmin), &feedbackv1.ReplayFailedRequest{SubscriptionId: subID}); err != nil {
		t.Fatal(err)
	}
	calls := rcv.waitCalls(t, n+2)[n:]
	var redacted, kept int
	for _, c := range calls {
		wantSigned(t, sub.GetSecret(), c)
		body := string(c.body)
		switch {
		case strings.Contains(body, member) || strings.Contains(body, r.GetComment()) && strings.Contains(body, r.GetResponseId()):
			t.Errorf("an erased member's data was sent: %s", body)
		case strings.Contains(body, other.GetResponseId()):
			kept++
		case strings.Contains(body, `"redacted": true`) || strings.Contains(body, `"redacted":true`):
			if p := decode(t, c); p.Type != "survey.response.submitted" || len(p.Data) != 0 {
				t.Errorf("redacted body %s", body)
			}
			redacted++
		}
	}
	if redacted != 1 || kept != 1 {
		t.Errorf("%d redacted and %d kept bodies, want 1 and 1", redacted, kept)
	}
}

// A burst of responses reaches a subscriber, each once, within seconds; the test logs
// the rate.
func TestWebhookBurst(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	rcv := newReceiver(t)
	sub := h.subscribe(rcv.URL, "survey.response.submitted")
	const n = 300
	start := time.Now()
	want := map[string]bool{}
	for range n {
		want[h.submit(8).GetResponseId()] = true
	}
	rcv.waitCalls(t, n)
	took := time.Since(start)
	t.Logf("%d webhook calls in %s (%.0f/s), published and delivered", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	time.Sleep(300 * time.Millisecond)
	calls := rcv.got()
	if len(calls) != n {
		t.Errorf("%d calls, want %d", len(calls), n)
	}
	for _, c := range calls {
		p := decode(t, c)
		id, _ := p.Data["response_id"].(string)
		if !want[id] {
			t.Errorf("unexpected or repeated response %q", id)
		}
		delete(want, id)
	}
	wantSigned(t, sub.GetSecret(), calls[0])
}

// A CRM moves a case through its lifecycle; a note without a status is a case note.
func TestUpdateCaseFromCRMMovesTheCase(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	rcv := newReceiver(t)
	sub := h.subscribe(rcv.URL, "feedback.case.*")
	c := h.waitCase(h.submit(1).GetResponseId())
	update := func(status, note string) *feedbackv1.UpdateCaseFromCRMResponse {
		t.Helper()
		resp, err := h.hooks.UpdateCaseFromCRM(as(keyCRM), &feedbackv1.UpdateCaseFromCRMRequest{
			IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "hubspot",
			ExternalReference: "T-" + c.GetCaseId()[:8], Note: note, Status: status,
		})
		if err != nil {
			t.Fatalf("%s: %v", status, err)
		}
		return resp
	}
	for _, step := range []struct {
		status, note string
		want         feedbackv1.CaseStatus
	}{
		{"acknowledged", "ticket taken", feedbackv1.CaseStatus_CASE_STATUS_ACKNOWLEDGED},
		{"contacted", "called the customer", feedbackv1.CaseStatus_CASE_STATUS_CONTACTED},
		{"waiting", "customer sends the receipt", feedbackv1.CaseStatus_CASE_STATUS_WAITING},
		{"resumed", "", feedbackv1.CaseStatus_CASE_STATUS_CONTACTED},
		{"", "receipt received by mail", feedbackv1.CaseStatus_CASE_STATUS_CONTACTED},
	} {
		if got := update(step.status, step.note).GetCase().GetStatus(); got != step.want {
			t.Errorf("after %q: status %v, want %v", step.status, got, step.want)
		}
	}
	got, err := h.client.GetCase(as(keyAdmin), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
	if err != nil {
		t.Fatal(err)
	}
	if n := got.GetCase().GetNotes(); len(n) != 1 || n[0].GetText() != "receipt received by mail" || n[0].GetBy() != "crm-sync" {
		t.Errorf("notes %v", n)
	}
	var notes []string
	for _, e := range got.GetCase().GetHistory() {
		if e.GetBy() == "crm-sync" {
			notes = append(notes, e.GetAction()+":"+e.GetNote())
		}
	}
	if want := "acknowledge:ticket taken contact:called the customer wait:customer sends the receipt resume:"; strings.Join(notes, " ") != want {
		t.Errorf("history by the CRM %q, want %q", strings.Join(notes, " "), want)
	}
	// Every move reached the subscriber as a signed webhook, one per event.
	calls := rcv.waitCalls(t, 6)
	types := map[string]int{}
	for _, cl := range calls {
		wantSigned(t, sub.GetSecret(), cl)
		p := decode(t, cl)
		types[p.Type]++
		if !strings.Contains(string(cl.body), `"case_id":"`+c.GetCaseId()+`"`) {
			t.Errorf("%s payload %s does not name the case", p.Type, cl.body)
		}
	}
	for _, want := range []string{"feedback.case.opened", "feedback.case.acknowledged", "feedback.case.contacted",
		"feedback.case.waiting", "feedback.case.resumed", "feedback.case.note_added"} {
		if types[want] != 1 {
			t.Errorf("%d calls of %s, want 1 (all: %v)", types[want], want, types)
		}
	}
}

// TestWebhookCounters: every recorded call is counted by the delivery's state after it.
// Not parallel: the counters are process-wide.
func TestWebhookCounters(t *testing.T) {
	m := testkit.CaptureMetrics()
	outcome := func(s string) int64 {
		return m.Sum(t, "treue.feedback.webhook.attempts", attribute.String("outcome", s))
	}
	pending, failed, delivered := outcome("pending"), outcome("failed"), outcome("delivered")
	h := startHooks(t)
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusBadGateway)
	subID := h.subscribe(rcv.URL, "survey.response.submitted").GetSubscription().GetSubscriptionId()
	h.submit(5)
	var ds []*feedbackv1.Delivery
	testkit.Eventually(t, 10*time.Second, "FAILED", func() bool { ds = h.deliveries(subID, true); return len(ds) == 1 })
	rcv.status.Store(http.StatusOK)
	if _, err := h.hooks.ReplayDelivery(as(keyAdmin), &feedbackv1.ReplayDeliveryRequest{DeliveryId: ds[0].GetDeliveryId()}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "delivered", func() bool { return len(h.deliveries(subID, true)) == 0 })
	testkit.Eventually(t, 5*time.Second, "counted", func() bool { return outcome("delivered")-delivered == 1 })
	if p, f := outcome("pending")-pending, outcome("failed")-failed; p != 2 || f != 1 {
		t.Errorf("counted %d retried and %d failed calls, want 2 and 1", p, f)
	}
}

// The same CRM update sent five times at once resolves the case once, and every caller
// gets the first result.
func TestUpdateCaseFromCRMConcurrentRetries(t *testing.T) {
	t.Parallel()
	h := startHooks(t)
	c := h.waitCase(h.submit(4).GetResponseId())
	req := &feedbackv1.UpdateCaseFromCRMRequest{
		IdempotencyKey: "crm-" + uuid.NewString(), CaseId: c.GetCaseId(), ExternalSystem: "zendesk",
		ExternalReference: "4711", Note: "solved by phone", Status: "resolved", Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED,
	}
	const n = 5
	results := make([]*feedbackv1.UpdateCaseFromCRMResponse, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = h.hooks.UpdateCaseFromCRM(as(keyCRM), req)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !results[i].GetUpdate().GetReceivedAt().AsTime().Equal(results[0].GetUpdate().GetReceivedAt().AsTime()) ||
			results[i].GetCase().GetStatus() != feedbackv1.CaseStatus_CASE_STATUS_RESOLVED {
			t.Errorf("call %d: %v, call 0: %v", i, results[i], results[0])
		}
	}
	testkit.WaitEvent(h.Env, testkit.Subject(&feedbackv1.CaseResolved{}), func(e *feedbackv1.CaseResolved) bool { return e.GetCaseId() == c.GetCaseId() })
	time.Sleep(300 * time.Millisecond)
	var resolved int
	for _, e := range h.resolved() {
		if e.GetCaseId() == c.GetCaseId() {
			resolved++
		}
	}
	if resolved != 1 {
		t.Errorf("%d resolutions, want 1", resolved)
	}
	if n := h.db.Count(`SELECT count(*) FROM crm_updates WHERE case_id = $1`, c.GetCaseId()); n != 1 {
		t.Errorf("%d updates stored, want 1", n)
	}
}
