package service_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/ports/grpcapi"
	"github.com/treue/treue/services/ledger/service"
)

// ops is an OperationsService client of the current instance as a caller with role.
func (e *env) ops(role string) ledgerv1.OperationsServiceClient {
	return ledgerv1.NewOperationsServiceClient(e.Conn(e.cur.Service.GRPCAddr(), role))
}

func adjustReq(key, member string, dir ledgerv1.AdjustmentDirection, points int64) *ledgerv1.AdjustPointsRequest {
	return &ledgerv1.AdjustPointsRequest{
		IdempotencyKey: key, MemberId: member, Direction: dir, Points: points,
		Reason: ledgerv1.AdjustmentReason_ADJUSTMENT_REASON_GOODWILL, Note: "ticket 4711: late delivery",
	}
}

const (
	credit = ledgerv1.AdjustmentDirection_ADJUSTMENT_DIRECTION_CREDIT
	debit  = ledgerv1.AdjustmentDirection_ADJUSTMENT_DIRECTION_DEBIT
)

// limitInfo is the ErrorInfo of an adjustment refused for its limit.
func limitInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// TestAdjustPoints: credits and debits by hand against program:adjustments, limited per
// role, idempotent, never below zero, announced and audited with the balance before and
// after.
func TestAdjustPoints(t *testing.T) {
	e := started(t, func(c *service.Config) { c.AdjustLimits = map[string]int64{"service_agent": 500, "admin": 100000} })
	ctx := testkit.Ctx(t)
	m := e.memberWithPoints("Ada", 100)
	agent, admin := e.ops("service_agent"), e.ops("admin")

	first, err := agent.AdjustPoints(ctx, adjustReq("adj-credit-1", m, credit, 300))
	if err != nil {
		t.Fatal(err)
	}
	a := first.GetAdjustment()
	if a.GetBalanceBefore() != 100 || a.GetBalanceAfter() != 400 || a.GetActor() != "service_agent" || a.GetPoints() != 300 {
		t.Errorf("adjustment = %v, want 100 → 400 by service_agent", a)
	}
	if got := e.balance(m).GetAvailable(); got != 400 {
		t.Errorf("available = %d, want 400", got)
	}

	// A retry returns the first adjustment and books nothing more.
	again, err := agent.AdjustPoints(ctx, adjustReq("adj-credit-1", m, credit, 300))
	if err != nil || again.GetAdjustment().GetAdjustmentId() != a.GetAdjustmentId() || again.GetAdjustment().GetBalanceAfter() != 400 {
		t.Errorf("retry = %v, %v; want the first adjustment", again, err)
	}
	if got := e.balance(m).GetAvailable(); got != 400 {
		t.Errorf("available after the retry = %d, want 400", got)
	}
	// The same key from another caller is another adjustment: keys are scoped per caller.
	other, err := admin.AdjustPoints(ctx, adjustReq("adj-credit-1", m, credit, 300))
	if err != nil || other.GetAdjustment().GetAdjustmentId() == a.GetAdjustmentId() {
		t.Errorf("admin's adjustment with the agent's key = %v, %v; want a new one", other, err)
	}
	_, err = agent.AdjustPoints(ctx, adjustReq("adj-credit-1", m, credit, 301))
	wantReason(t, err, grpcapi.ReasonIdempotencyKeyReused, "the same key for another request")

	// Limits per role: the agent may adjust 500 at once, the admin more.
	_, err = agent.AdjustPoints(ctx, adjustReq("adj-big-1", m, credit, 501))
	wantCode(t, err, codes.PermissionDenied, "501 points by a service agent")
	if info := limitInfo(err); info.GetReason() != grpcapi.ReasonAdjustmentLimit || info.GetMetadata()["limit"] != "500" ||
		info.GetMetadata()["role"] != "service_agent" || !strings.Contains(status.Convert(err).Message(), "500") {
		t.Errorf("limit refusal = %v (%v), want the role and its limit named", err, info)
	}
	_, err = agent.AdjustPoints(ctx, adjustReq("adj-big-2", m, debit, 501))
	wantCode(t, err, codes.PermissionDenied, "a debit of 501 points by a service agent")
	if _, err := admin.AdjustPoints(ctx, adjustReq("adj-big-3", m, credit, 501)); err != nil {
		t.Errorf("501 points by an admin: %v", err)
	}
	if got := e.balance(m).GetAvailable(); got != 1201 { // 100 + 300 + 300 + 501
		t.Fatalf("available = %d, want 1201", got)
	}

	// A debit never takes the balance below zero; one that empties it is fine.
	_, err = admin.AdjustPoints(ctx, adjustReq("adj-debit-1", m, debit, 1202))
	wantReason(t, err, grpcapi.ReasonInsufficientPoints, "a debit above the balance")
	d, err := admin.AdjustPoints(ctx, adjustReq("adj-debit-2", m, debit, 1201))
	if err != nil || d.GetAdjustment().GetBalanceAfter() != 0 {
		t.Fatalf("debit of the whole balance = %v, %v", d, err)
	}
	// A debit refused for insufficient points kept nothing: its key is free.
	if _, err := admin.AdjustPoints(ctx, adjustReq("adj-debit-1", m, credit, 5)); err != nil {
		t.Errorf("a refused debit's key used again: %v", err)
	}
	if got := e.balance(m).GetAvailable(); got != 5 {
		t.Errorf("available = %d, want 5", got)
	}

	// Refusals before any booking.
	_, err = admin.AdjustPoints(ctx, adjustReq("adj-unknown", uuid.NewString(), credit, 5))
	wantCode(t, err, codes.NotFound, "an unknown member")
	noReason := adjustReq("adj-noreason", m, credit, 5)
	noReason.Reason = ledgerv1.AdjustmentReason_ADJUSTMENT_REASON_UNSPECIFIED
	_, err = admin.AdjustPoints(ctx, noReason)
	wantCode(t, err, codes.InvalidArgument, "no reason code")
	if !strings.Contains(status.Convert(err).Message(), "reason") {
		t.Errorf("no reason code: %v, want the field named", err)
	}
	blank := adjustReq("adj-blank", m, credit, 5)
	blank.Note = "   "
	_, err = admin.AdjustPoints(ctx, blank)
	wantCode(t, err, codes.InvalidArgument, "a blank note")
	for _, role := range []string{"marketing", "pos", "auditor", "service"} {
		_, err = e.ops(role).AdjustPoints(ctx, adjustReq("adj-role-"+role, m, credit, 1))
		wantCode(t, err, codes.PermissionDenied, role+" adjusting")
	}

	// The journal: against program:adjustments, reason adjustment.
	if n := e.db.Count(`SELECT count(*) FROM transactions t JOIN postings p ON p.transaction_id = t.id
		WHERE t.member_id = $1 AND t.reason = 'adjustment' AND 'program:adjustments' IN (p.source, p.destination)`, m); n != 5 {
		t.Errorf("%d adjustment transactions against program:adjustments, want 5", n)
	}
	if n := e.db.Count(`SELECT balance FROM program_balances WHERE account = 'program:adjustments'`); n != -(300 + 300 + 501 - 1201 + 5) {
		t.Errorf("program:adjustments = %d, want %d", n, -(300 + 300 + 501 - 1201 + 5))
	}

	// The events, as today's credits and debits.
	testkit.Eventually(t, 10*time.Second, "the adjustments' events", func() bool {
		credits, debits := 0, 0
		for _, ev := range published[*ledgerv1.PointsCredited](e) {
			if ev.GetMemberId() == m && ev.GetReason() == ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT && ev.GetReference() == "goodwill" {
				credits++
			}
		}
		for _, ev := range published[*ledgerv1.PointsDebited](e) {
			if ev.GetMemberId() == m && ev.GetReason() == ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT && ev.GetPoints() == 1201 {
				debits++
			}
		}
		return credits == 4 && debits == 1
	})

	// The audit log: one entry per adjustment made (not per retry), with the balance
	// before and after, the actor and the note.
	log, err := e.ops("auditor").ListAuditLog(ctx, &ledgerv1.ListAuditLogRequest{ObjectKind: "balance", ObjectId: m})
	if err != nil {
		t.Fatal(err)
	}
	entries := log.GetEntries()
	if len(entries) != 5 {
		t.Fatalf("%d audit entries, want 5: %v", len(entries), entries)
	}
	oldest := entries[len(entries)-1]
	var before, after struct {
		Available  int64 `json:"available"`
		Adjustment struct {
			ID        string `json:"id"`
			Direction string `json:"direction"`
			Points    int64  `json:"points"`
			Reason    string `json:"reason"`
		} `json:"adjustment"`
	}
	if err := errors.Join(json.Unmarshal([]byte(oldest.GetBeforeJson()), &before), json.Unmarshal([]byte(oldest.GetAfterJson()), &after)); err != nil {
		t.Fatal(err)
	}
	if oldest.GetActor() != "service_agent" || oldest.GetAction() != "points.adjust" || before.Available != 100 || after.Available != 400 ||
		after.Adjustment.ID != a.GetAdjustmentId() || after.Adjustment.Points != 300 || after.Adjustment.Direction != "credit" ||
		!strings.Contains(oldest.GetNote(), "ticket 4711") || !strings.HasPrefix(oldest.GetNote(), "goodwill") {
		t.Errorf("first adjustment's audit entry = %v", oldest)
	}
	if newest := entries[0]; !strings.Contains(newest.GetBeforeJson(), `"available": 0`) || !strings.Contains(newest.GetAfterJson(), `"available": 5`) {
		t.Errorf("newest audit entry = %v, want 0 → 5", newest)
	}
	checkInvariants(t, e)
}

// TestListTransactionsFiltersAndRunningBalance: filters by kind, reason and period, pages
// through them, and every transaction carries the member's available balance after it,
// the same whatever the filter.
func TestListTransactionsFiltersAndRunningBalance(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.enroll("Grace")
	ledger, admin := e.ledger("admin"), e.ops("admin")
	for i, total := range []int64{5000, 2000, 700} { // 50, 20, 7 points
		e.publishPurchase(purchase("S1", fmt.Sprintf("T%d", i), m, total))
	}
	e.waitAvailable(m, 77)
	var mid time.Time
	for i := range 3 {
		h, err := ledger.PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: fmt.Sprintf("hold-list-%d", i), MemberId: m, Points: int64(10 + i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			mid = time.Now()
			if _, err := ledger.CaptureHold(ctx, &ledgerv1.CaptureHoldRequest{HoldId: h.GetHold().GetHoldId()}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := ledger.VoidHold(ctx, &ledgerv1.VoidHoldRequest{HoldId: h.GetHold().GetHoldId()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.AdjustPoints(ctx, adjustReq("adj-list-1", m, credit, 25)); err != nil {
		t.Fatal(err)
	}
	e.publishReturn(posReturn("S1", "R1", "T1", m, 1000)) // takes back 10
	e.waitAvailable(m, 77-11+25-10)
	if _, err := admin.AdjustPoints(ctx, adjustReq("adj-list-2", m, debit, 6)); err != nil {
		t.Fatal(err)
	}
	const want = 77 - 11 + 25 - 10 - 6

	list := func(req *ledgerv1.ListTransactionsRequest) []*ledgerv1.Transaction {
		t.Helper()
		req.MemberId = m
		var out []*ledgerv1.Transaction
		for page := 0; ; page++ {
			resp, err := ledger.ListTransactions(ctx, req)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			out = append(out, resp.GetTransactions()...)
			if resp.GetNextPageToken() == "" {
				return out
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	all := list(&ledgerv1.ListTransactionsRequest{PageSize: 2})
	// 3 purchases, 3 holds, 1 capture, 2 voids, 2 adjustments, 1 return.
	if len(all) != 12 {
		t.Fatalf("%d transactions, want 12", len(all))
	}
	if all[0].GetBalanceAfter() != want {
		t.Errorf("newest balance_after = %d, want the available balance %d", all[0].GetBalanceAfter(), want)
	}
	byID := map[string]int64{}
	for i, tx := range all {
		byID[tx.GetTransactionId()] = tx.GetBalanceAfter()
		older := int64(0)
		if i+1 < len(all) {
			older = all[i+1].GetBalanceAfter()
		}
		if tx.GetBalanceAfter() != older+tx.GetPoints() {
			t.Errorf("transaction %d (%s %+d): balance_after %d, want %d + %d", i, tx.GetKind(), tx.GetPoints(), tx.GetBalanceAfter(), older, tx.GetPoints())
		}
	}
	same := func(what string, got []*ledgerv1.Transaction, wantN int, keep func(*ledgerv1.Transaction) bool) {
		t.Helper()
		if len(got) != wantN {
			t.Errorf("%s: %d transactions, want %d", what, len(got), wantN)
		}
		for i, tx := range got {
			if !keep(tx) {
				t.Errorf("%s: %v does not match", what, tx)
			}
			if b, ok := byID[tx.GetTransactionId()]; !ok || b != tx.GetBalanceAfter() {
				t.Errorf("%s: balance_after %d, unfiltered %d", what, tx.GetBalanceAfter(), b)
			}
			if i > 0 && got[i-1].GetTransactionId() <= tx.GetTransactionId() {
				t.Errorf("%s: not newest first", what)
			}
		}
	}
	same("holds", list(&ledgerv1.ListTransactionsRequest{PageSize: 1, Kinds: []string{"hold"}}), 3,
		func(tx *ledgerv1.Transaction) bool { return tx.GetKind() == "hold" })
	same("captures and voids", list(&ledgerv1.ListTransactionsRequest{PageSize: 2, Kinds: []string{"capture", "void"}}), 3,
		func(tx *ledgerv1.Transaction) bool { return tx.GetKind() == "capture" || tx.GetKind() == "void" })
	same("adjustments", list(&ledgerv1.ListTransactionsRequest{PageSize: 1, Reasons: []ledgerv1.PointsReason{ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT}}), 2,
		func(tx *ledgerv1.Transaction) bool {
			return tx.GetReason() == ledgerv1.PointsReason_POINTS_REASON_ADJUSTMENT
		})
	same("debits of returns", list(&ledgerv1.ListTransactionsRequest{Kinds: []string{"debit"}, Reasons: []ledgerv1.PointsReason{ledgerv1.PointsReason_POINTS_REASON_RETURN}}), 1,
		func(tx *ledgerv1.Transaction) bool { return tx.GetKind() == "debit" && tx.GetPoints() == -10 })
	// A period: since the middle hold's capture, then before it.
	var after, before int
	for _, tx := range all {
		if !tx.GetCreatedAt().AsTime().Before(mid) {
			after++
		} else {
			before++
		}
	}
	same("since", list(&ledgerv1.ListTransactionsRequest{PageSize: 3, Since: timestamppb.New(mid)}), after,
		func(tx *ledgerv1.Transaction) bool { return !tx.GetCreatedAt().AsTime().Before(mid) })
	same("until", list(&ledgerv1.ListTransactionsRequest{PageSize: 3, Until: timestamppb.New(mid)}), before,
		func(tx *ledgerv1.Transaction) bool { return tx.GetCreatedAt().AsTime().Before(mid) })
	if after == 0 || before == 0 {
		t.Errorf("the period split %d/%d; want both sides", before, after)
	}

	// A token is bound to its filter; filters that cannot match are refused by name.
	first, err := ledger.ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{MemberId: m, PageSize: 1, Kinds: []string{"hold"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ledger.ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{MemberId: m, PageSize: 1, Kinds: []string{"void"}, PageToken: first.GetNextPageToken()})
	wantCode(t, err, codes.InvalidArgument, "a token with another filter")
	_, err = ledger.ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{MemberId: m, Kinds: []string{"refund"}})
	wantCode(t, err, codes.InvalidArgument, "an unknown kind")
	if !strings.Contains(status.Convert(err).Message(), "kinds[0]") {
		t.Errorf("unknown kind: %v, want the field named", err)
	}
	_, err = ledger.ListTransactions(ctx, &ledgerv1.ListTransactionsRequest{MemberId: m, Since: timestamppb.New(mid), Until: timestamppb.New(mid.Add(-time.Second))})
	wantCode(t, err, codes.InvalidArgument, "a period that ends before it starts")
}

// TestListAuditLog: filters by object, actor, action and period, newest first, paged;
// roles admin and auditor only.
func TestListAuditLog(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	a, b := e.enroll("Ann"), e.enroll("Bob")
	start := time.Now()
	for i := range 3 {
		if _, err := e.ops("admin").AdjustPoints(ctx, adjustReq(fmt.Sprintf("audit-a-%d", i), a, credit, int64(i+1))); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ops("service_agent").AdjustPoints(ctx, adjustReq(fmt.Sprintf("audit-b-%d", i), b, credit, int64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	auditor := e.ops("auditor")
	list := func(req *ledgerv1.ListAuditLogRequest) []*ledgerv1.AuditEntry {
		t.Helper()
		var out []*ledgerv1.AuditEntry
		for {
			resp, err := auditor.ListAuditLog(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, resp.GetEntries()...)
			if resp.GetNextPageToken() == "" {
				return out
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	all := list(&ledgerv1.ListAuditLogRequest{PageSize: 2})
	if len(all) != 6 {
		t.Fatalf("%d entries, want 6", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].GetAt().AsTime().Before(all[i].GetAt().AsTime()) {
			t.Errorf("entry %d is newer than entry %d: not newest first", i, i-1)
		}
	}
	if got := list(&ledgerv1.ListAuditLogRequest{PageSize: 1, Actor: "service_agent"}); len(got) != 3 || got[0].GetObjectId() != b {
		t.Errorf("the agent's entries: %v", got)
	}
	if got := list(&ledgerv1.ListAuditLogRequest{ObjectKind: "balance", ObjectId: a}); len(got) != 3 || got[0].GetActor() != "admin" {
		t.Errorf("Ann's balance's entries: %v", got)
	}
	if got := list(&ledgerv1.ListAuditLogRequest{Action: "rule.create"}); len(got) != 0 {
		t.Errorf("rule.create entries: %v, want none", got)
	}
	if got := list(&ledgerv1.ListAuditLogRequest{Since: timestamppb.New(start.Add(-time.Minute)), Until: timestamppb.New(start.Add(time.Hour))}); len(got) != 6 {
		t.Errorf("%d entries in the period, want 6", len(got))
	}
	if got := list(&ledgerv1.ListAuditLogRequest{Until: timestamppb.New(start.Add(-time.Minute))}); len(got) != 0 {
		t.Errorf("%d entries before the test, want none", len(got))
	}
	first, err := auditor.ListAuditLog(ctx, &ledgerv1.ListAuditLogRequest{PageSize: 1, Actor: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = auditor.ListAuditLog(ctx, &ledgerv1.ListAuditLogRequest{PageSize: 1, Actor: "service_agent", PageToken: first.GetNextPageToken()})
	wantCode(t, err, codes.InvalidArgument, "a token with another filter")
	for _, role := range []string{"service_agent", "marketing", "pos", "service"} {
		_, err := e.ops(role).ListAuditLog(ctx, &ledgerv1.ListAuditLogRequest{})
		wantCode(t, err, codes.PermissionDenied, role+" reading the audit log")
	}
	if _, err := e.ops("admin").ListAuditLog(ctx, &ledgerv1.ListAuditLogRequest{}); err != nil {
		t.Errorf("admin reading the audit log: %v", err)
	}
}

// TestAuditLogIsAppendOnly: the service's own connection (the schema's owner) can neither
// change nor remove an entry, not even in replica mode, which skips ordinary triggers.
func TestAuditLogIsAppendOnly(t *testing.T) {
	e := started(t)
	ctx := testkit.Ctx(t)
	m := e.enroll("Eve")
	if _, err := e.ops("admin").AdjustPoints(ctx, adjustReq("audit-append-1", m, credit, 10)); err != nil {
		t.Fatal(err)
	}
	conn, err := e.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	refused := func(what, sql string) {
		t.Helper()
		_, err := conn.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, "append-only") {
			t.Errorf("%s: %v, want insufficient_privilege (append-only)", what, err)
		}
	}
	for _, mode := range []string{"origin", "replica"} {
		if _, err := conn.Exec(ctx, "SET session_replication_role = "+mode); err != nil {
			t.Fatal(err)
		}
		refused(mode+" UPDATE", `UPDATE audit_log SET note = 'rewritten'`)
		refused(mode+" DELETE", `DELETE FROM audit_log`)
		refused(mode+" TRUNCATE", `TRUNCATE audit_log`)
	}
	if _, err := conn.Exec(ctx, "RESET session_replication_role"); err != nil {
		t.Fatal(err)
	}
	if n := e.db.Count(`SELECT count(*) FROM audit_log WHERE note LIKE 'goodwill%' AND note NOT LIKE '%rewritten%'`); n != 1 {
		t.Errorf("%d entries left as written, want 1", n)
	}
}

// TestAdjustPointsConcurrently: debits racing each other and a hold never overdraw a
// balance, and retries of one key racing each other make one adjustment.
func TestAdjustPointsConcurrently(t *testing.T) {
	e := started(t, func(c *service.Config) { c.Base.DBMaxConns = 8 })
	ctx := testkit.Ctx(t)
	m := e.memberWithPoints("Cy", 100)
	admin := e.ops("admin")

	var wg sync.WaitGroup
	var debited, refused atomic.Int64
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := admin.AdjustPoints(ctx, adjustReq(fmt.Sprintf("race-debit-%d", i), m, debit, 30))
			switch {
			case err == nil:
				debited.Add(30)
			case status.Code(err) == codes.FailedPrecondition:
				refused.Add(1)
			default:
				t.Errorf("debit %d: %v", i, err)
			}
		}()
	}
	wg.Add(1)
	var held atomic.Int64
	go func() {
		defer wg.Done()
		if _, err := e.ledger("service").PlaceHold(ctx, &ledgerv1.PlaceHoldRequest{IdempotencyKey: "race-hold", MemberId: m, Points: 30}); err == nil {
			held.Add(30)
		}
	}()
	wg.Wait()
	if got := debited.Load() + held.Load(); got != 90 || refused.Load() != 8-(90-held.Load())/30 {
		t.Errorf("debited %d and held %d of 100 (%d refused); want 90 together, the rest refused", debited.Load(), held.Load(), refused.Load())
	}
	if b := e.balance(m); b.GetAvailable() != 10 || b.GetHeld() != held.Load() {
		t.Errorf("balance %v, want 10 available", b)
	}

	ids := make(chan string, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := admin.AdjustPoints(ctx, adjustReq("race-retry", m, credit, 7))
			if err != nil {
				t.Errorf("retry: %v", err)
				return
			}
			ids <- resp.GetAdjustment().GetAdjustmentId()
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		} else if id != first {
			t.Errorf("retries answered adjustments %s and %s, want one", first, id)
		}
	}
	if got := e.balance(m).GetAvailable(); got != 17 {
		t.Errorf("available %d after six racing retries of +7, want 17", got)
	}
	checkInvariants(t, e)
}

func TestLoadConfigAdjustLimits(t *testing.T) {
	t.Setenv("LEDGER_ADJUST_LIMITS", "")
	cfg, err := service.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdjustLimits["service_agent"] != 500 || cfg.AdjustLimits["admin"] != 100000 || len(cfg.AdjustLimits) != 2 {
		t.Errorf("default limits %v", cfg.AdjustLimits)
	}
	t.Setenv("LEDGER_ADJUST_LIMITS", "service_agent=50, admin=5000, marketing=10")
	if cfg, err = service.LoadConfig(); err != nil || cfg.AdjustLimits["marketing"] != 10 || cfg.AdjustLimits["service_agent"] != 50 {
		t.Errorf("limits from the environment: %v, %v", cfg.AdjustLimits, err)
	}
	for _, bad := range []string{"admin=0", "admin", "admin=1,admin=2", "admin=lots"} {
		t.Setenv("LEDGER_ADJUST_LIMITS", bad)
		if _, err := service.LoadConfig(); err == nil || !strings.Contains(err.Error(), "LEDGER_ADJUST_LIMITS") {
			t.Errorf("%q: %v, want the variable named", bad, err)
		}
	}
}
