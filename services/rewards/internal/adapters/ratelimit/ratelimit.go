// Package ratelimit budgets coupon attempts per terminal.
//
// The budgets live in this process's memory: enough for this slice, where one replica
// serves the tills. With several replicas each keeps its own budgets, so a terminal gets
// up to replicas × the limit; a shared store (Postgres or a NATS KV bucket) would make it
// exact.
package ratelimit

import (
	"sync"
	"time"

	"github.com/treue/treue/services/rewards/internal/domain"
)

// sweepEvery is how many calls pass between sweeps of the buckets that have refilled;
// sweeping keeps memory bounded by the terminals active in the last minute or so.
const sweepEvery = 1024

// PerKey is a token bucket per key: a burst of perMinute attempts, refilled at
// perMinute per minute.
type PerKey struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	buckets map[string]*domain.TokenBucket
	calls   int
	now     func() time.Time
}

// New returns budgets of perMinute attempts per key and minute.
func New(perMinute int) *PerKey {
	return &PerKey{
		rate:    float64(perMinute) / 60,
		burst:   float64(perMinute),
		buckets: map[string]*domain.TokenBucket{},
		now:     time.Now,
	}
}

// Allow spends one of key's attempts, or reports that none is left.
func (l *PerKey) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.calls++
	if l.calls%sweepEvery == 0 {
		for k, b := range l.buckets {
			if b.Full(now, l.rate) {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &domain.TokenBucket{}
		l.buckets[key] = b
	}
	return b.Take(now, l.rate, l.burst)
}
