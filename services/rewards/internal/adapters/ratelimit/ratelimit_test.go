package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestPerKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(3)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if !l.Allow("till-1") {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if l.Allow("till-1") {
		t.Fatal("fourth attempt in a minute allowed")
	}
	if !l.Allow("till-2") {
		t.Fatal("another terminal shares the budget")
	}
	now = now.Add(20 * time.Second)
	if !l.Allow("till-1") {
		t.Fatal("no attempt refilled after 20s at 3 per minute")
	}
}

func TestPerKeyForgetsIdleTerminals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(30)
	l.now = func() time.Time { return now }
	for i := range sweepEvery - 1 {
		l.Allow(fmt.Sprintf("till-%d", i))
	}
	now = now.Add(time.Hour)
	l.Allow("late")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept after a sweep, want only the fresh one", len(l.buckets))
	}
}
