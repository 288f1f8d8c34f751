package domain_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

func TestNewReward(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reward    func() (domain.Reward, error)
		validDays int
		err       bool
	}{
		{"default validity", func() (domain.Reward, error) {
			return domain.NewReward("id", "5 EUR", domain.KindCoupon, 500, 500, "EUR", 0)
		}, domain.DefaultValidDays, false},
		{"own validity", func() (domain.Reward, error) {
			return domain.NewReward("id", "5 EUR", domain.KindCoupon, 500, 500, "EUR", 30)
		}, 30, false},
		{"no name", func() (domain.Reward, error) {
			return domain.NewReward("id", "", domain.KindCoupon, 500, 500, "EUR", 0)
		}, 0, true},
		{"unknown kind", func() (domain.Reward, error) {
			return domain.NewReward("id", "x", "voucher", 500, 500, "EUR", 0)
		}, 0, true},
		{"free", func() (domain.Reward, error) {
			return domain.NewReward("id", "x", domain.KindCoupon, 0, 500, "EUR", 0)
		}, 0, true},
		{"worthless", func() (domain.Reward, error) {
			return domain.NewReward("id", "x", domain.KindCoupon, 5, 0, "EUR", 0)
		}, 0, true},
		{"bad currency", func() (domain.Reward, error) {
			return domain.NewReward("id", "x", domain.KindCoupon, 5, 5, "eur", 0)
		}, 0, true},
		{"too long valid", func() (domain.Reward, error) {
			return domain.NewReward("id", "x", domain.KindCoupon, 5, 5, "EUR", domain.MaxValidDays+1)
		}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.reward()
			if tt.err {
				if !errors.Is(err, domain.ErrInvalidReward) {
					t.Fatalf("err = %v, want ErrInvalidReward", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !r.Active || r.ValidDays != tt.validDays {
				t.Fatalf("reward = %+v, want active with %d valid days", r, tt.validDays)
			}
		})
	}
}

func TestRedeemRequestHash(t *testing.T) {
	t.Parallel()
	a := domain.RedeemRequestHash("m1", "r1")
	if !bytes.Equal(a, domain.RedeemRequestHash("m1", "r1")) {
		t.Fatal("same request, different hash")
	}
	if !bytes.Equal(domain.RedeemRequestHash("AB-CD", "EF"), domain.RedeemRequestHash("ab-cd", "ef")) {
		t.Fatal("the same UUIDs in another case hash differently")
	}
	for _, other := range [][]byte{
		domain.RedeemRequestHash("m1", "r2"),
		domain.RedeemRequestHash("m2", "r1"),
		domain.RedeemRequestHash("m1r", "1"),
	} {
		if bytes.Equal(a, other) {
			t.Fatal("different requests, same hash")
		}
	}
}

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const perMinute = 30
	rate, burst := perMinute/60.0, float64(perMinute)
	var b domain.TokenBucket
	for i := range perMinute {
		if !b.Take(start, rate, burst) {
			t.Fatalf("attempt %d of a full bucket refused", i+1)
		}
	}
	if b.Take(start, rate, burst) {
		t.Fatal("attempt past the burst allowed")
	}
	if b.Take(start.Add(time.Second), rate, burst) {
		t.Fatal("half a token refilled after 1s should not be enough")
	}
	if !b.Take(start.Add(2*time.Second), rate, burst) {
		t.Fatal("one token refilled after 2s should be enough")
	}
	if b.Full(start.Add(30*time.Second), rate) {
		t.Fatal("bucket full too early")
	}
	if !b.Full(start.Add(2*time.Minute), rate) {
		t.Fatal("bucket not full after two minutes")
	}
	// A clock that steps back must not mint tokens.
	var c domain.TokenBucket
	c.Take(start, rate, 1)
	if c.Take(start.Add(-time.Hour), rate, 1) {
		t.Fatal("a clock stepping back refilled the bucket")
	}
}
