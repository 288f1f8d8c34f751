package domain

import (
	"errors"
	"testing"
	"time"
)

func TestAdjustLimits(t *testing.T) {
	l, err := ParseAdjustLimits(" service_agent=500, admin=100000 ")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		roles  []string
		points int64
		ok     bool
		role   string
	}{
		{[]string{"service_agent"}, 500, true, ""},
		{[]string{"service_agent"}, 501, false, "service_agent"},
		{[]string{"admin"}, 100000, true, ""},
		{[]string{"service_agent", "admin"}, 5000, true, ""}, // the highest limit counts
		{[]string{"marketing"}, 1, false, ""},                // no limit: no adjusting
		{nil, 1, false, ""},
	} {
		err := l.Check(tt.roles, tt.points)
		var le *LimitError
		switch {
		case tt.ok && err != nil:
			t.Errorf("%v %d: %v", tt.roles, tt.points, err)
		case !tt.ok && (!errors.As(err, &le) || !errors.Is(err, ErrAdjustmentLimit) || le.Role != tt.role):
			t.Errorf("%v %d: %v, want a limit error naming %q", tt.roles, tt.points, err, tt.role)
		}
	}
	for _, bad := range []string{"admin", "admin=0", "admin=-1", "admin=x", "=5", "admin=1,admin=2"} {
		if _, err := ParseAdjustLimits(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestNewAdjustment(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	req := AdjustmentRequest{MemberID: "m", Direction: AdjustDebit, Points: 30, Code: AdjustFraud, Note: "card skimming"}
	if _, err := NewAdjustment("a1", req, Actor{Name: "x"}, 29, now); !errors.Is(err, ErrInsufficientPoints) {
		t.Errorf("debit above the balance: %v", err)
	}
	a, err := NewAdjustment("a1", req, Actor{Name: "x"}, 30, now)
	if err != nil || a.BalanceBefore != 30 || a.BalanceAfter != 0 {
		t.Fatalf("debit of the balance: %+v, %v", a, err)
	}
	tx := a.Tx()
	if tx.Kind != KindDebit || tx.Reason != ReasonAdjustment || tx.AvailableChange("m") != -30 ||
		tx.Postings[0].Destination != AccountAdjustments || tx.IdempotencyKey != "adjust:a1" {
		t.Errorf("debit transaction: %+v", tx)
	}
	if ev, ok := a.Event().(PointsDebited); !ok || ev.Points != 30 || ev.Reference != "fraud" {
		t.Errorf("debit event: %#v", a.Event())
	}
	req.Direction = AdjustCredit
	a, _ = NewAdjustment("a2", req, Actor{}, 5, now)
	if a.BalanceAfter != 35 || a.Tx().AvailableChange("m") != 30 || a.Tx().Postings[0].Source != AccountAdjustments {
		t.Errorf("credit: %+v", a)
	}
	if _, ok := a.Event().(PointsCredited); !ok {
		t.Errorf("credit event: %#v", a.Event())
	}
	if req.Hash() == (AdjustmentRequest{MemberID: "m", Direction: AdjustCredit, Points: 31, Code: AdjustFraud, Note: "card skimming"}).Hash() {
		t.Error("two requests hash the same")
	}
	for field, bad := range map[string]AdjustmentRequest{
		"direction": {Direction: "up", Points: 1, Code: AdjustOther, Note: "why"},
		"points":    {Direction: AdjustCredit, Code: AdjustOther, Note: "why"},
		"reason":    {Direction: AdjustCredit, Points: 1, Code: "whim", Note: "why"},
		"note":      {Direction: AdjustCredit, Points: 1, Code: AdjustOther, Note: "  "},
	} {
		var fe *FieldError
		if err := bad.Check(); !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrInvalidAdjustment) {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestHistoryQuery(t *testing.T) {
	now := time.Now()
	var fe *FieldError
	if err := (HistoryQuery{Kinds: []Kind{KindHold, "refund"}}).Check(); !errors.As(err, &fe) || fe.Field != "kinds[1]" {
		t.Errorf("unknown kind: %v", err)
	}
	if err := (HistoryQuery{Since: now, Until: now}).Check(); !errors.As(err, &fe) || fe.Field != "until" {
		t.Errorf("empty period: %v", err)
	}
	if err := (HistoryQuery{Kinds: Kinds, Since: now, Until: now.Add(time.Second)}).Check(); err != nil {
		t.Error(err)
	}
	a := HistoryQuery{Kinds: []Kind{KindHold, KindVoid}}
	b := HistoryQuery{Kinds: []Kind{KindVoid, KindHold}}
	c := HistoryQuery{Reasons: []Reason{"hold"}, Kinds: []Kind{KindVoid}}
	if a.Fingerprint() != b.Fingerprint() || a.Fingerprint() == c.Fingerprint() || a.Fingerprint() == (HistoryQuery{}).Fingerprint() {
		t.Error("fingerprints: the same filter in another order must match, another filter must not")
	}
	if !(HistoryQuery{}).Empty() || a.Empty() {
		t.Error("Empty")
	}
	if (AuditQuery{Actor: "a"}).Fingerprint() == (AuditQuery{Action: "a"}).Fingerprint() {
		t.Error("audit fingerprints of different filters match")
	}
}
