package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
)

// fakeTx answers ClaimContacts from a script, one answer per call, and records the rest.
type fakeTx struct {
	app.Tx
	claims  [][]app.ContactState
	calls   [][]string // members asked, per ClaimContacts call
	locked  []string
	parked  []domain.Trigger
	created []domain.Invitation
	emitted []string // urls
}

func (f *fakeTx) ClaimContacts(_ context.Context, ts []domain.Trigger, _, _ time.Time) ([]app.ContactState, error) {
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.MemberID)
	}
	f.calls = append(f.calls, ids)
	out := f.claims[0]
	f.claims = f.claims[1:]
	return out, nil
}

func (f *fakeTx) LockMembers(_ context.Context, ids []string) error {
	f.locked = append(f.locked, ids...)
	return nil
}

func (f *fakeTx) ParkTriggers(_ context.Context, ts []domain.Trigger, _ time.Time) error {
	f.parked = append(f.parked, ts...)
	return nil
}

func (f *fakeTx) CreateInvitations(_ context.Context, invs []domain.Invitation) ([]string, error) {
	f.created = append(f.created, invs...)
	ids := make([]string, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
	}
	return ids, nil
}

func (f *fakeTx) Emit(_ context.Context, events ...domain.Event) error {
	for _, e := range events {
		f.emitted = append(f.emitted, e.(domain.InvitationCreated).URL)
	}
	return nil
}

// fakeStore runs every transaction in its one fakeTx, and counts them.
type fakeStore struct {
	app.Store
	tx  *fakeTx
	txs int
}

func (s *fakeStore) InTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	s.txs++
	return fn(ctx, s.tx)
}

func newApp(t *testing.T, store *fakeStore) *app.Application {
	t.Helper()
	signer, err := domain.NewLinkSigner([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Deps{
		Config: app.Config{
			SurveyID: domain.DefaultNPSSurveyID, LinkTTL: time.Hour,
			Contact: domain.ContactPolicy{Interval: time.Hour}, PendingTTL: time.Hour,
		},
		Store: store, Links: app.NewLinks(signer, "https://s.example/"), Now: time.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func incoming(events ...[2]string) []app.Incoming {
	var in []app.Incoming
	for i, e := range events {
		in = append(in, app.Incoming{Trigger: domain.PurchaseTrigger(e[0], "S1", e[0], e[1], time.Unix(int64(i), 0))})
	}
	return in
}

func TestEvaluateTriggers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		claims     [][]app.ContactState
		wantCalls  int
		wantLocked []string
		wantParked []string // event ids
		wantInvite []string // event ids
	}{
		{
			name:      "nobody may be asked: one statement",
			claims:    [][]app.ContactState{nil},
			wantCalls: 1,
		},
		{
			name:       "claimed member is invited for their latest trigger",
			claims:     [][]app.ContactState{{{MemberID: "a", Status: app.ContactClaimed, Locale: "de"}}},
			wantCalls:  1,
			wantInvite: []string{"e2"},
		},
		{
			name:       "unknown member: every trigger parked after a second look under lock",
			claims:     [][]app.ContactState{{{MemberID: "b", Status: app.ContactUnknown}}, {{MemberID: "b", Status: app.ContactUnknown}}},
			wantCalls:  2,
			wantLocked: []string{"b"},
			wantParked: []string{"e3", "e4"},
		},
		{
			name:       "enrolled meanwhile: invited instead of parked",
			claims:     [][]app.ContactState{{{MemberID: "b", Status: app.ContactUnknown}}, {{MemberID: "b", Status: app.ContactClaimed}}},
			wantCalls:  2,
			wantLocked: []string{"b"},
			wantInvite: []string{"e4"},
		},
		{
			name:      "erased member: nothing",
			claims:    [][]app.ContactState{{{MemberID: "b", Status: app.ContactErased}}},
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tx := &fakeTx{claims: tt.claims}
			a := newApp(t, &fakeStore{tx: tx})
			in := incoming([2]string{"e1", "a"}, [2]string{"e2", "a"}, [2]string{"e3", "b"}, [2]string{"e4", "b"})
			if _, err := a.Commands.EvaluateTriggers.Handle(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			if len(tx.calls) != tt.wantCalls {
				t.Errorf("%d ClaimContacts calls, want %d", len(tx.calls), tt.wantCalls)
			}
			if len(tx.calls) > 0 && strings.Join(tx.calls[0], ",") != "a,b" {
				t.Errorf("first claim asked for %v, want each member once", tx.calls[0])
			}
			if strings.Join(tx.locked, ",") != strings.Join(tt.wantLocked, ",") {
				t.Errorf("locked %v, want %v", tx.locked, tt.wantLocked)
			}
			var parked, invited []string
			for _, p := range tx.parked {
				parked = append(parked, p.EventID)
			}
			for _, inv := range tx.created {
				invited = append(invited, inv.TriggerEventID)
			}
			if strings.Join(parked, ",") != strings.Join(tt.wantParked, ",") {
				t.Errorf("parked %v, want %v", parked, tt.wantParked)
			}
			if strings.Join(invited, ",") != strings.Join(tt.wantInvite, ",") {
				t.Errorf("invited %v, want %v", invited, tt.wantInvite)
			}
			if len(tx.emitted) != len(tt.wantInvite) {
				t.Fatalf("%d events, want %d", len(tx.emitted), len(tt.wantInvite))
			}
			for _, url := range tx.emitted {
				if !strings.HasPrefix(url, "https://s.example/s/") {
					t.Errorf("url %q", url)
				}
			}
		})
	}
}

// Anonymous purchases earn nothing: a batch of them costs no transaction, and in a mixed
// batch only the members are looked up.
func TestEvaluateTriggersIgnoresAnonymousTriggers(t *testing.T) {
	t.Parallel()
	store := &fakeStore{tx: &fakeTx{}}
	a := newApp(t, store)
	if _, err := a.Commands.EvaluateTriggers.Handle(context.Background(), incoming([2]string{"e1", ""}, [2]string{"e2", ""})); err != nil {
		t.Fatal(err)
	}
	if store.txs != 0 {
		t.Errorf("%d transactions for anonymous triggers, want 0", store.txs)
	}
	store.tx.claims = [][]app.ContactState{nil}
	if _, err := a.Commands.EvaluateTriggers.Handle(context.Background(), incoming([2]string{"e3", ""}, [2]string{"e4", "a"})); err != nil {
		t.Fatal(err)
	}
	if len(store.tx.calls) != 1 || strings.Join(store.tx.calls[0], ",") != "a" {
		t.Errorf("ClaimContacts asked for %v, want [[a]]", store.tx.calls)
	}
}
