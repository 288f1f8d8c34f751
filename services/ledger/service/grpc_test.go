package service_test

import (
	"context"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	adminv1 "github.com/treue/treue/proto/gen/treue/admin/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/ports/grpcapi"
	"github.com/treue/treue/services/ledger/service"
)

func wantCode(t *testing.T, err error, code codes.Code, what string) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

func wantReason(t *testing.T, err error, reason, what string) {
	t.Helper()
	if status.Code(err) != codes.FailedPrecondition || grpcx.Reason(err) != reason {
		t.Errorf("%s: got %v (reason %q), want FailedPrecondition %s", what, err, grpcx.Reason(err), reason)
	}
}

// TestGRPCAccess checks, for every method, that a malformed request is InvalidArgument
// naming the field, that a call without a key is Unauthenticated, and that a key without
// one of the method's roles is PermissionDenied.
func TestGRPCAccess(t *testing.T) {
	e := started(t)
	m := e.enroll("Hana")
	tests := []struct {
		method         string // the full method name
		valid, invalid proto.Message
		invalidField   string
		deniedRole     string // "" when every role may call it
	}{
		{ledgerv1.LedgerService_Enroll_FullMethodName,
			&ledgerv1.EnrollRequest{IdempotencyKey: "enroll-access-1", DisplayName: "X", Email: "x@example.com"},
			&ledgerv1.EnrollRequest{IdempotencyKey: "enroll-access-1", DisplayName: "X", Email: "not an email"}, "email", "auditor"},
		{ledgerv1.LedgerService_GetMember_FullMethodName,
			&ledgerv1.GetMemberRequest{MemberId: m}, &ledgerv1.GetMemberRequest{MemberId: "42"}, "member_id", ""},
		{ledgerv1.LedgerService_GetBalance_FullMethodName,
			&ledgerv1.GetBalanceRequest{MemberId: m}, &ledgerv1.GetBalanceRequest{MemberId: "42"}, "member_id", "marketing"},
		{ledgerv1.LedgerService_ListTransactions_FullMethodName,
			&ledgerv1.ListTransactionsRequest{MemberId: m}, &ledgerv1.ListTransactionsRequest{MemberId: m, PageSize: 501}, "page_size", "pos"},
		{ledgerv1.LedgerService_EraseMember_FullMethodName,
			&ledgerv1.EraseMemberRequest{MemberId: m, Reason: "access test"}, &ledgerv1.EraseMemberRequest{MemberId: m}, "reason", "service"},
		{ledgerv1.LedgerService_PlaceHold_FullMethodName,
			&ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-access-1", MemberId: m, Points: 1},
			&ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-access-1", MemberId: m}, "points", "pos"},
		{ledgerv1.LedgerService_CaptureHold_FullMethodName,
			&ledgerv1.CaptureHoldRequest{HoldId: uuid.NewString()}, &ledgerv1.CaptureHoldRequest{HoldId: "h1"}, "hold_id", "pos"},
		{ledgerv1.LedgerService_VoidHold_FullMethodName,
			&ledgerv1.VoidHoldRequest{HoldId: uuid.NewString()}, &ledgerv1.VoidHoldRequest{HoldId: "h1"}, "hold_id", "marketing"},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.method), func(t *testing.T) {
			ctx := testkit.Ctx(t)
			// Every call here fails, so no answer is decoded into the placeholder reply.
			call := func(role string, req proto.Message) error {
				return e.Conn(e.cur.Service.GRPCAddr(), role).Invoke(ctx, tt.method, req, &emptypb.Empty{})
			}
			err := call("admin", tt.invalid)
			wantCode(t, err, codes.InvalidArgument, "malformed request")
			if !strings.Contains(status.Convert(err).Message(), tt.invalidField) {
				t.Errorf("InvalidArgument %q does not name the field %s", status.Convert(err).Message(), tt.invalidField)
			}
			wantCode(t, call("", tt.valid), codes.Unauthenticated, "no API key")
			if tt.deniedRole != "" {
				wantCode(t, call(tt.deniedRole, tt.valid), codes.PermissionDenied, "key of role "+tt.deniedRole)
			}
		})
	}
}

func TestEnrollAndGetMember(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	c := e.ledger("pos")
	req := &ledgerv1.EnrollRequest{IdempotencyKey: "enroll-ida-0001", DisplayName: "Ida", Email: "Ida@Example.com", Locale: "de-DE", SurveyConsent: true}
	first, err := c.Enroll(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got := first.GetMember()
	if _, err := uuid.Parse(got.GetMemberId()); err != nil || got.GetEmail() != "ida@example.com" || got.GetLocale() != "de-DE" ||
		!got.GetSurveyConsent() || got.GetMarketingConsent() || got.GetTier() == "" || got.GetEnrolledAt() == nil {
		t.Errorf("enrolled %v", got)
	}
	if id := uuid.MustParse(got.GetMemberId()); id.Version() != 7 {
		t.Errorf("member id %s is UUID version %d, want 7", id, id.Version())
	}
	// Retried: the same member.
	again, err := c.Enroll(ctx, req)
	if err != nil || !proto.Equal(again.GetMember(), got) {
		t.Errorf("retry returned %v, %v; want %v", again.GetMember(), err, got)
	}
	// Same key, different request.
	other := proto.Clone(req).(*ledgerv1.EnrollRequest)
	other.DisplayName = "Someone else"
	_, err = c.Enroll(ctx, other)
	wantReason(t, err, grpcapi.ReasonIdempotencyKeyReused, "same key, different request")
	if n := e.db.Count(`SELECT count(*) FROM members`); n != 1 {
		t.Errorf("%d members, want 1", n)
	}

	read, err := e.ledger("auditor").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: got.GetMemberId()})
	if err != nil || !proto.Equal(read.GetMember(), got) {
		t.Errorf("GetMember = %v, %v; want %v", read.GetMember(), err, got)
	}
	upper, err := e.ledger("auditor").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: strings.ToUpper(got.GetMemberId())})
	if err != nil || upper.GetMember().GetMemberId() != got.GetMemberId() {
		t.Errorf("GetMember by the upper-case id = %v, %v", upper, err)
	}
	_, err = e.ledger("auditor").GetMember(ctx, &ledgerv1.GetMemberRequest{MemberId: uuid.NewString()})
	wantCode(t, err, codes.NotFound, "unknown member")

	testkit.Eventually(t, 10*time.Second, "member.enrolled", func() bool {
		evs := published[*ledgerv1.MemberEnrolled](e)
		return len(evs) == 1 && evs[0].GetMemberId() == got.GetMemberId()
	})
}

func TestBalanceAndHistory(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.enroll("Jan")
	for i, total := range []int64{1000, 2000, 3000, 4000, 5000} {
		e.publishPurchase(purchase("S1", "T"+string(rune('1'+i)), m, total))
	}
	e.waitAvailable(m, 150)
	hold, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-jan-001", MemberId: m, Points: 40, Reference: "reward-1"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.balance(m)
	if b.GetAvailable() != 110 || b.GetHeld() != 40 || b.GetPending() != 0 || b.GetMemberId() != m {
		t.Errorf("balance %v, want 110 available, 40 held", b)
	}
	_, err = e.ledger("pos").GetBalance(ctx, &ledgerv1.GetBalanceRequest{MemberId: uuid.NewString()})
	wantCode(t, err, codes.NotFound, "balance of an unknown member")

	// Six transactions, newest first, in pages of four.
	c := e.ledger("service_agent")
	page1, err := c.ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{MemberId: m, PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1.GetTransactions()) != 4 || page1.GetNextPageToken() == "" {
		t.Fatalf("page 1: %d transactions, token %q", len(page1.GetTransactions()), page1.GetNextPageToken())
	}
	newest := page1.GetTransactions()[0]
	if newest.GetKind() != "hold" || newest.GetPoints() != -40 || newest.GetReference() != "reward-1" ||
		len(newest.GetPostings()) != 1 || newest.GetPostings()[0].GetDestination() != "member:"+m+":hold" {
		t.Errorf("newest transaction %v, want the hold", newest)
	}
	credit := page1.GetTransactions()[1]
	if credit.GetKind() != "credit" || credit.GetPoints() != 50 || credit.GetReason() != ledgerv1.PointsReason_POINTS_REASON_PURCHASE ||
		credit.GetPostings()[0].GetSource() != "program:issued" || credit.GetCreatedAt() == nil {
		t.Errorf("second newest %v, want the last purchase's credit", credit)
	}
	page2, err := c.ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{MemberId: m, PageSize: 4, PageToken: page1.GetNextPageToken()})
	if err != nil {
		t.Fatal(err)
	}
	if len(page2.GetTransactions()) != 2 || page2.GetNextPageToken() != "" {
		t.Errorf("page 2: %d transactions, token %q; want the last 2", len(page2.GetTransactions()), page2.GetNextPageToken())
	}
	seen := map[string]bool{}
	var sum int64
	for _, tx := range append(page1.GetTransactions(), page2.GetTransactions()...) {
		if seen[tx.GetTransactionId()] {
			t.Errorf("transaction %s on two pages", tx.GetTransactionId())
		}
		seen[tx.GetTransactionId()] = true
		sum += tx.GetPoints()
	}
	if sum != 110 {
		t.Errorf("the history's changes add up to %d, want the available balance 110", sum)
	}
	_, err = c.ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{MemberId: m, PageToken: "bogus"})
	wantCode(t, err, codes.InvalidArgument, "bad page token")
	if !strings.Contains(status.Convert(err).Message(), "page_token") {
		t.Errorf("bad page token: %v does not name page_token", err)
	}
	_, err = c.ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{MemberId: uuid.NewString()})
	wantCode(t, err, codes.NotFound, "history of an unknown member")
	_ = hold
}

func TestHolds(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	c := e.ledger("service")
	m := e.memberWithPoints("Kai", 100)

	place := &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-kai-0001", MemberId: m, Points: 30, Reference: "order-1"}
	placed, err := c.PlaceHold(ctx, place)
	if err != nil {
		t.Fatal(err)
	}
	h := placed.GetHold()
	if h.GetStatus() != ledgerv1.HoldStatus_HOLD_STATUS_PLACED || h.GetPoints() != 30 || h.GetMemberId() != m ||
		time.Until(h.GetExpiresAt().AsTime()) < 14*time.Minute {
		t.Errorf("placed %v, want placed with the default 15m TTL", h)
	}
	// Retried with the same key: the same hold, no second reservation.
	again, err := c.PlaceHold(ctx, place)
	if err != nil || again.GetHold().GetHoldId() != h.GetHoldId() {
		t.Errorf("retry = %v, %v; want hold %s", again, err, h.GetHoldId())
	}
	other := proto.Clone(place).(*ledgerv1.PlaceHoldRequest)
	other.Points = 31
	_, err = c.PlaceHold(ctx, other)
	wantReason(t, err, grpcapi.ReasonIdempotencyKeyReused, "same key, other points")
	if b := e.balance(m); b.GetAvailable() != 70 || b.GetHeld() != 30 {
		t.Errorf("balance %v, want 70 available, 30 held", b)
	}
	_, err = c.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-kai-0002", MemberId: m, Points: 71})
	wantReason(t, err, grpcapi.ReasonInsufficientPoints, "more than available")
	_, err = c.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-kai-0003", MemberId: uuid.NewString(), Points: 1})
	wantCode(t, err, codes.NotFound, "hold for an unknown member")

	// Capture, twice.
	captured, err := c.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: h.GetHoldId()})
	if err != nil || captured.GetHold().GetStatus() != ledgerv1.HoldStatus_HOLD_STATUS_CAPTURED {
		t.Fatalf("capture = %v, %v", captured, err)
	}
	capturedAgain, err := c.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: h.GetHoldId()})
	if err != nil || !proto.Equal(capturedAgain.GetHold(), captured.GetHold()) {
		t.Errorf("capturing again = %v, %v; want the captured hold", capturedAgain, err)
	}
	_, err = c.VoidHold(ctx, &ledgerv1.VoidHoldRequest{HoldId: h.GetHoldId()})
	wantReason(t, err, grpcapi.ReasonHoldNotOpen, "void a captured hold")
	if b := e.balance(m); b.GetAvailable() != 70 || b.GetHeld() != 0 {
		t.Errorf("balance after capture %v, want 70 available, 0 held", b)
	}

	// Void, twice; then capture is refused.
	second, err := c.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "hold-kai-0004", MemberId: m, Points: 20, Ttl: durationpb.New(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	id := second.GetHold().GetHoldId()
	voided, err := c.VoidHold(ctx, &ledgerv1.VoidHoldRequest{HoldId: id, Reason: "customer changed their mind"})
	if err != nil || voided.GetHold().GetStatus() != ledgerv1.HoldStatus_HOLD_STATUS_VOIDED {
		t.Fatalf("void = %v, %v", voided, err)
	}
	if _, err := c.VoidHold(ctx, &ledgerv1.VoidHoldRequest{HoldId: id}); err != nil {
		t.Errorf("voiding again: %v", err)
	}
	_, err = c.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: id})
	wantReason(t, err, grpcapi.ReasonHoldNotOpen, "capture a voided hold")
	_, err = c.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: uuid.NewString()})
	wantCode(t, err, codes.NotFound, "capture an unknown hold")
	_, err = c.VoidHold(ctx, &ledgerv1.VoidHoldRequest{HoldId: uuid.NewString()})
	wantCode(t, err, codes.NotFound, "void an unknown hold")
	if b := e.balance(m); b.GetAvailable() != 70 || b.GetHeld() != 0 {
		t.Errorf("balance after void %v, want 70 available", b)
	}

	testkit.Eventually(t, 10*time.Second, "hold events", func() bool {
		placedN := len(published[*ledgerv1.HoldPlaced](e))
		capturedN := len(published[*ledgerv1.HoldCaptured](e))
		voidedEvs := published[*ledgerv1.HoldVoided](e)
		return placedN == 2 && capturedN == 1 && len(voidedEvs) == 1 &&
			voidedEvs[0].GetReason() == "customer changed their mind"
	})
}

// TestConcurrentHoldsCannotOverdraw places 20 holds of 10 points at once on a balance of
// 75: exactly 7 succeed.
func TestConcurrentHoldsCannotOverdraw(t *testing.T) {
	e := started(t, func(c *service.Config) { c.Base.DBMaxConns = 8 })
	m := e.memberWithPoints("Lea", 75)

	c := e.ledger("service")
	var (
		wg                    sync.WaitGroup
		mu                    sync.Mutex
		ok, insufficient, bad int
	)
	start := make(chan struct{})
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := c.PlaceHold(context.Background(), &ledgerv1.PlaceHoldRequest{
				IdempotencyKey: "hold-lea-" + uuid.NewString(), MemberId: m, Points: 10, Reference: string(rune('a' + i)),
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case grpcx.Reason(err) == grpcapi.ReasonInsufficientPoints:
				insufficient++
			default:
				bad++
				t.Errorf("hold: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok != 7 || insufficient != 13 {
		t.Errorf("%d holds placed, %d refused, %d failed; want 7 and 13", ok, insufficient, bad)
	}
	if b := e.balance(m); b.GetAvailable() != 5 || b.GetHeld() != 70 {
		t.Errorf("balance %v, want 5 available, 70 held", b)
	}
}

func TestHoldsExpire(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.memberWithPoints("Mia", 50)
	// A TTL the expirer cannot reach while the test looks at the placed hold; the hold is
	// then made due by hand. A short TTL would race the expirer on a busy machine.
	placed, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{
		IdempotencyKey: "hold-mia-0001", MemberId: m, Points: 20, Ttl: durationpb.New(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if ttl := time.Until(placed.GetHold().GetExpiresAt().AsTime()); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("hold expires in %s, want the requested hour", ttl)
	}
	if e.balance(m).GetHeld() != 20 {
		t.Fatal("hold not placed")
	}
	if _, err := e.db.Exec(ctx, `UPDATE holds SET expires_at = now() - interval '1 millisecond' WHERE id = $1`, placed.GetHold().GetHoldId()); err != nil {
		t.Fatal(err)
	}
	e.waitAvailable(m, 50)
	if b := e.balance(m); b.GetHeld() != 0 {
		t.Errorf("balance %v after expiry, want nothing held", b)
	}
	_, err = e.ledger("service").CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: placed.GetHold().GetHoldId()})
	wantReason(t, err, grpcapi.ReasonHoldNotOpen, "capture an expired hold")
	voided, err := e.ledger("service").VoidHold(ctx, &ledgerv1.VoidHoldRequest{HoldId: placed.GetHold().GetHoldId()})
	if err != nil || voided.GetHold().GetStatus() != ledgerv1.HoldStatus_HOLD_STATUS_EXPIRED {
		t.Errorf("void an expired hold = %v, %v; want it returned, expired", voided, err)
	}
	testkit.Eventually(t, 10*time.Second, "hold.voided (expired)", func() bool {
		evs := published[*ledgerv1.HoldVoided](e)
		return len(evs) == 1 && evs[0].GetReason() == "expired"
	})
}

func TestAdminServiceIsServed(t *testing.T) {
	e := started(t)
	_, err := adminv1.NewAdminServiceClient(e.Conn(e.cur.Service.GRPCAddr(), "")).ListDeadLetters(testkit.Ctx(t), &adminv1.ListDeadLettersRequest{})
	wantCode(t, err, codes.Unauthenticated, "admin API without a key")
	_, err = adminv1.NewAdminServiceClient(e.Conn(e.cur.Service.GRPCAddr(), "pos")).ListDeadLetters(testkit.Ctx(t), &adminv1.ListDeadLettersRequest{})
	wantCode(t, err, codes.PermissionDenied, "admin API as pos")
}
