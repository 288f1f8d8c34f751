package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
)

// memStore keeps redemptions in memory; its hooks inject the failures under test.
type memStore struct {
	app.Store // the catalog and coupon methods are not used here
	mu        sync.Mutex
	byKey     map[string]*domain.Redemption
	// completeErr, when set, fails the completion; committed says whether it took
	// effect anyway (an error on commit is ambiguous): then the transaction's commit
	// reports the error.
	completeErr error
	committed   bool
	commitErr   error
	codeTaken   int // how many completions report ErrCodeTaken first
	cancelErr   error
	cancels     []string
	// windowPassed hides sealed codes, as the store does once the retry window passed.
	windowPassed bool
	// emitted are the events of the transactions that committed.
	emitted []domain.Event
}

// memTx is a transaction of a memStore: its changes apply at once, its events when
// the function run in it returns nil.
type memTx struct {
	app.Tx // the catalog, sweeping and erasure methods are not used here
	s      *memStore
	events []domain.Event
}

func (s *memStore) InTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	tx := &memTx{s: s}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emitted = append(s.emitted, tx.events...)
	err := s.commitErr
	s.commitErr = nil
	return err
}

func (t *memTx) Emit(_ context.Context, events ...domain.Event) error {
	t.events = append(t.events, events...)
	return nil
}

func (t *memTx) CompleteRedemption(ctx context.Context, c app.Completion) (domain.Redemption, error) {
	return t.s.CompleteRedemption(ctx, c)
}

func (t *memTx) CancelRedemption(ctx context.Context, id, holdID, reason string) (domain.Redemption, error) {
	return t.s.CancelRedemption(ctx, id, holdID, reason)
}

func (t *memTx) ClaimAbandoned(ctx context.Context, olderThan, lease time.Duration, limit int) ([]domain.Redemption, error) {
	return t.s.ClaimAbandoned(ctx, olderThan, lease, limit)
}

func newMemStore() *memStore { return &memStore{byKey: map[string]*domain.Redemption{}} }

func (s *memStore) StartRedemption(_ context.Context, n app.NewRedemption) (domain.Redemption, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byKey[n.IdempotencyKey]; ok {
		return s.read(r), false, nil
	}
	r := &domain.Redemption{
		ID: n.ID, IdempotencyKey: n.IdempotencyKey, RequestHash: n.RequestHash, MemberID: n.MemberID,
		RewardID: n.RewardID, Points: 100, ValueMinor: 500, Currency: "EUR", ValidDays: 90,
		Status: domain.StatusRequested, CreatedAt: time.Now(),
	}
	s.byKey[n.IdempotencyKey] = r
	return *r, true, nil
}

func (s *memStore) find(id string) *domain.Redemption {
	for _, r := range s.byKey {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (s *memStore) CompleteRedemption(_ context.Context, c app.Completion) (domain.Redemption, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.SealedCode == nil || c.ShowFor <= 0 {
		return domain.Redemption{}, errors.New("completion without a sealed code")
	}
	if s.codeTaken > 0 {
		s.codeTaken--
		return domain.Redemption{}, app.ErrCodeTaken
	}
	r := s.find(c.RedemptionID)
	if r.Status != domain.StatusRequested {
		return domain.Redemption{}, app.ErrNotRequested
	}
	if s.completeErr != nil && !s.committed {
		return domain.Redemption{}, s.completeErr
	}
	r.Status, r.HoldID, r.CouponID, r.SealedCode = domain.StatusCompleted, c.HoldID, c.CouponID, c.SealedCode
	r.CouponExpiresAt, r.UpdatedAt = time.Now().Add(90*24*time.Hour), time.Now()
	s.commitErr = s.completeErr
	return s.read(r), nil
}

// read returns a copy of r as the store's reads do.
func (s *memStore) read(r *domain.Redemption) domain.Redemption {
	out := *r
	if s.windowPassed {
		out.SealedCode = nil
	}
	return out
}

func (s *memStore) CancelRedemption(_ context.Context, id, holdID, reason string) (domain.Redemption, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelErr != nil {
		return domain.Redemption{}, s.cancelErr
	}
	r := s.find(id)
	if r.Status != domain.StatusRequested {
		return domain.Redemption{}, app.ErrNotRequested
	}
	r.Status, r.CancelReason, r.UpdatedAt = domain.StatusCancelled, reason, time.Now()
	if holdID != "" {
		r.HoldID = holdID
	}
	s.cancels = append(s.cancels, reason)
	return *r, nil
}

func (s *memStore) Redemption(_ context.Context, id string) (domain.Redemption, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read(s.find(id)), nil
}

// ClaimAbandoned returns every requested redemption: the claim's timing and exclusion are
// the Postgres store's, tested over gRPC.
func (s *memStore) ClaimAbandoned(context.Context, time.Duration, time.Duration, int) ([]domain.Redemption, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Redemption
	for _, r := range s.byKey {
		if r.Status == domain.StatusRequested {
			out = append(out, s.read(r))
		}
	}
	return out, nil
}

// fakeSealer "seals" in a form that binds the redemption and is easy to read in a test;
// the real cipher is tested in package codeseal.
type fakeSealer struct{}

func (fakeSealer) Seal(id string, code domain.CouponCode) ([]byte, error) {
	return []byte(id + "|" + string(code)), nil
}

func (fakeSealer) Open(id string, sealed []byte) (domain.CouponCode, error) {
	gotID, code, ok := strings.Cut(string(sealed), "|")
	if !ok || gotID != id {
		return "", errors.New("sealed for another redemption")
	}
	return domain.CouponCode(code), nil
}

// fakeLedger answers PlaceHold with hold or err and records voids.
type fakeLedger struct {
	mu      sync.Mutex
	hold    app.Hold
	err     error
	ctxErr  error // the context's error when PlaceHold ran
	placed  []app.HoldRequest
	voided  []string
	voidErr error
}

func (l *fakeLedger) PlaceHold(ctx context.Context, req app.HoldRequest) (app.Hold, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ctxErr = ctx.Err()
	l.placed = append(l.placed, req)
	return l.hold, l.err
}

func (l *fakeLedger) VoidHold(_ context.Context, holdID, _ string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.voided = append(l.voided, holdID)
	return l.voidErr
}

type allowAll struct{}

func (allowAll) Attempt(context.Context, []domain.AttemptScope, time.Time) error { return nil }

func newRedeem(t *testing.T, store *memStore, ledger *fakeLedger) app.RedeemHandler {
	t.Helper()
	return newApp(t, store, ledger).Commands.Redeem
}

func newApp(t *testing.T, store *memStore, ledger *fakeLedger) *app.Application {
	t.Helper()
	a, err := app.New(app.Deps{
		Store: store, Ledger: ledger, Limiter: allowAll{}, Sealer: fakeSealer{},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		HoldTTL: time.Hour, FinishTimeout: 5 * time.Second, CodeRetryWindow: time.Hour, SettleAfter: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var cmd = app.Redeem{
	IdempotencyKey: "key-12345",
	MemberID:       "0190a000-0000-7000-8000-000000000001",
	RewardID:       "0190a000-0000-7000-8000-000000000002",
}

func placed() app.Hold { return app.Hold{ID: "hold-1", Status: app.HoldPlaced} }

func TestRedeemCompletes(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed()}
	store.codeTaken = 1 // the first code drawn is taken: a second is drawn
	out, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if out.Code == "" || out.Redemption.Status != domain.StatusCompleted || out.Redemption.HoldID != "hold-1" {
		t.Fatalf("got %+v", out)
	}
	req := ledger.placed[0]
	if want := "redemption:" + out.Redemption.ID; req.IdempotencyKey != want || req.Reference != want || req.Points != 100 || req.TTL != time.Hour {
		t.Fatalf("hold request %+v", req)
	}
}

func TestRedeemReturnsTheCodeWhenACommitThatFailedTookEffect(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed()}
	store.completeErr, store.committed = errors.New("connection reset during commit"), true
	out, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if out.Code == "" || out.Redemption.Status != domain.StatusCompleted {
		t.Fatalf("got %+v, want the completed redemption with its code", out)
	}
	if len(ledger.voided) != 0 {
		t.Fatal("the hold of a completed redemption was voided")
	}
}

func TestRedeemCancelsAndVoidsWhenTheCouponCannotBeIssued(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed(), voidErr: errors.New("ledger down")}
	store.completeErr = errors.New("disk full")
	_, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd)
	if err == nil {
		t.Fatal("want an error")
	}
	r := store.byKey[cmd.IdempotencyKey]
	if r.Status != domain.StatusCancelled || r.CancelReason != domain.CancelIssueFailed || r.HoldID != "hold-1" {
		t.Fatalf("redemption %+v, want cancelled with its hold", r)
	}
	if len(ledger.voided) != 1 || ledger.voided[0] != "hold-1" {
		t.Fatalf("voided %v, want the hold voided once (best effort)", ledger.voided)
	}
}

func TestRedeemLeavesTheHoldAloneWhenNothingCanBeWritten(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed()}
	store.completeErr, store.cancelErr = errors.New("database down"), errors.New("database down")
	_, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd)
	if err == nil {
		t.Fatal("want an error")
	}
	if len(ledger.voided) != 0 {
		t.Fatal("voided a hold whose redemption may have completed")
	}
	if store.byKey[cmd.IdempotencyKey].Status != domain.StatusRequested {
		t.Fatal("redemption should stay requested for a retry")
	}
	// The retry, once the database is back, resumes with the same ledger key.
	store.completeErr, store.cancelErr = nil, nil
	out, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd)
	if err != nil || out.Code == "" {
		t.Fatalf("retry: %+v, %v", out, err)
	}
	if ledger.placed[0].IdempotencyKey != ledger.placed[1].IdempotencyKey {
		t.Fatal("the retry asked for another hold")
	}
}

func TestRedeemLeavesTheRedemptionRequestedWhenTheLedgerIsUnavailable(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{err: app.ErrLedgerUnavailable}
	_, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd)
	if !errors.Is(err, app.ErrLedgerUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if store.byKey[cmd.IdempotencyKey].Status != domain.StatusRequested || len(store.cancels) != 0 {
		t.Fatal("redemption should stay requested")
	}
}

func TestRedeemRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		want   error
		reason string
	}{
		{"insufficient points", domain.ErrInsufficientPoints, domain.ErrInsufficientPoints, domain.CancelInsufficientPoints},
		{"unknown member", domain.ErrMemberNotFound, domain.ErrMemberNotFound, domain.CancelMemberNotFound},
		{"refused", app.ErrLedgerRejected, app.ErrLedgerRejected, domain.CancelLedgerRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, ledger := newMemStore(), &fakeLedger{err: tt.err}
			h := newRedeem(t, store, ledger)
			if _, err := h.Handle(context.Background(), cmd); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if r := store.byKey[cmd.IdempotencyKey]; r.Status != domain.StatusCancelled || r.CancelReason != tt.reason {
				t.Fatalf("redemption %+v", r)
			}
			// A retry gets the same answer without asking the ledger again.
			if _, err := h.Handle(context.Background(), cmd); tt.want != app.ErrLedgerRejected && !errors.Is(err, tt.want) {
				t.Fatalf("retry: err = %v, want %v", err, tt.want)
			}
			if len(ledger.placed) != 1 {
				t.Fatalf("the ledger was asked %d times", len(ledger.placed))
			}
		})
	}
}

func TestRedeemResumedOnAnExpiredHoldIsCancelled(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: app.Hold{ID: "hold-1", Status: app.HoldExpired}}
	_, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd)
	if !errors.Is(err, domain.ErrRedemptionCancelled) {
		t.Fatalf("err = %v", err)
	}
	if r := store.byKey[cmd.IdempotencyKey]; r.Status != domain.StatusCancelled || r.HoldID != "hold-1" {
		t.Fatalf("redemption %+v", r)
	}
}

func TestRedeemReusedKey(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed()}
	h := newRedeem(t, store, ledger)
	if _, err := h.Handle(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	other := cmd
	other.RewardID = "0190a000-0000-7000-8000-000000000003"
	if _, err := h.Handle(context.Background(), other); !errors.Is(err, domain.ErrIdempotencyKeyReused) {
		t.Fatalf("err = %v", err)
	}
	again, err := h.Handle(context.Background(), cmd)
	if err != nil || again.Redemption.Status != domain.StatusCompleted {
		t.Fatalf("retry: %+v, %v; want the completed redemption", again, err)
	}
}

func TestRedeemRetryShowsTheSameCodeWithinTheWindow(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed()}
	h := newRedeem(t, store, ledger)
	first, err := h.Handle(context.Background(), cmd)
	if err != nil || first.Code == "" {
		t.Fatalf("first: %+v, %v", first, err)
	}
	again, err := h.Handle(context.Background(), cmd)
	if err != nil || again.Code != first.Code || again.Redemption.CouponID != first.Redemption.CouponID {
		t.Fatalf("retry: %+v, %v; want the first call's code %s", again, err, first.Code)
	}
	store.windowPassed = true
	late, err := h.Handle(context.Background(), cmd)
	if err != nil || late.Code != "" || late.Redemption.Status != domain.StatusCompleted {
		t.Fatalf("retry after the window: %+v, %v; want the completed redemption without its code", late, err)
	}
	if len(ledger.placed) != 1 {
		t.Fatalf("the ledger was asked %d times", len(ledger.placed))
	}
}

func TestRedeemRetryWithACodeThatDoesNotOpenAnswersWithoutIt(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed()}
	h := newRedeem(t, store, ledger)
	if _, err := h.Handle(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	store.byKey[cmd.IdempotencyKey].SealedCode = []byte("another-redemption|ABCD0123EFGH4567")
	again, err := h.Handle(context.Background(), cmd)
	if err != nil || again.Code != "" || again.Redemption.Status != domain.StatusCompleted {
		t.Fatalf("retry: %+v, %v; want the completed redemption without a code", again, err)
	}
}

func TestRedeemRacingCallsShowTheWinnersCode(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed()}
	h := newRedeem(t, store, ledger)
	// The redemption is requested (a first call stopped after (a)); two retries race.
	if _, _, err := store.StartRedemption(context.Background(), app.NewRedemption{
		ID: "r-1", IdempotencyKey: cmd.IdempotencyKey, RequestHash: domain.RedeemRequestHash(cmd.MemberID, cmd.RewardID),
		MemberID: cmd.MemberID, RewardID: cmd.RewardID,
	}); err != nil {
		t.Fatal(err)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[domain.CouponCode]int{}
	)
	for range 8 {
		wg.Go(func() {
			out, err := h.Handle(context.Background(), cmd)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[out.Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(got) != 1 || got[""] != 0 {
		t.Fatalf("codes shown: %v; want one code, shown to every caller", got)
	}
}

func TestRedeemFinishesWhenTheCallerHangsUp(t *testing.T) {
	t.Parallel()
	store, ledger := newMemStore(), &fakeLedger{hold: placed()}
	ctx, cancel := context.WithCancel(context.Background())
	h := newRedeem(t, store, ledger)
	// Cancel as soon as the redemption is recorded: the store does not look at ctx.
	cancel()
	if _, err := h.Handle(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if ledger.ctxErr != nil {
		t.Fatalf("the ledger call saw %v", ledger.ctxErr)
	}
}

// The application decides what a redemption announces: its completion and the coupon's
// issue together, or its cancellation; nothing for a change that did not commit.
func TestRedeemEmitsItsEvents(t *testing.T) {
	t.Parallel()
	t.Run("completed", func(t *testing.T) {
		store, ledger := newMemStore(), &fakeLedger{hold: placed()}
		out, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd)
		if err != nil {
			t.Fatal(err)
		}
		r := out.Redemption
		want := []domain.Event{
			domain.RedemptionCompleted{RedemptionID: r.ID, MemberID: cmd.MemberID, RewardID: cmd.RewardID, HoldID: "hold-1",
				Points: 100, CompletedAt: r.UpdatedAt},
			domain.CouponIssued{CouponID: r.CouponID, RedemptionID: r.ID, MemberID: cmd.MemberID, RewardID: cmd.RewardID,
				ValueMinor: 500, Currency: "EUR", ExpiresAt: r.CouponExpiresAt},
		}
		if !reflect.DeepEqual(store.emitted, want) {
			t.Fatalf("emitted %+v, want %+v", store.emitted, want)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		store, ledger := newMemStore(), &fakeLedger{err: domain.ErrInsufficientPoints}
		if _, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd); !errors.Is(err, domain.ErrInsufficientPoints) {
			t.Fatalf("err = %v", err)
		}
		r := store.byKey[cmd.IdempotencyKey]
		want := []domain.Event{domain.RedemptionCancelled{RedemptionID: r.ID, MemberID: cmd.MemberID, RewardID: cmd.RewardID,
			Points: 100, Reason: domain.CancelInsufficientPoints, CancelledAt: r.UpdatedAt}}
		if !reflect.DeepEqual(store.emitted, want) {
			t.Fatalf("emitted %+v, want %+v", store.emitted, want)
		}
	})
	t.Run("a completion that failed is cancelled", func(t *testing.T) {
		store, ledger := newMemStore(), &fakeLedger{hold: placed()}
		store.completeErr = errors.New("disk full")
		if _, err := newRedeem(t, store, ledger).Handle(context.Background(), cmd); err == nil {
			t.Fatal("want an error")
		}
		if len(store.emitted) != 1 {
			t.Fatalf("emitted %+v, want the cancellation only", store.emitted)
		}
		if c, ok := store.emitted[0].(domain.RedemptionCancelled); !ok || c.HoldID != "hold-1" || c.Reason != domain.CancelIssueFailed {
			t.Fatalf("emitted %+v, want the cancellation with its hold", store.emitted[0])
		}
	})
}
