package domain

import "time"

// TokenBucket is a budget of attempts that refills continuously: up to Burst at once,
// then Rate per second. The zero value is a full bucket.
type TokenBucket struct {
	used float64 // tokens spent and not yet refilled; 0 is a full bucket
	last time.Time
}

// Take spends one token at now if there is one.
func (b *TokenBucket) Take(now time.Time, rate, burst float64) bool {
	b.refill(now, rate)
	if b.used+1 > burst {
		return false
	}
	b.used++
	return true
}

// Full reports whether the bucket has refilled completely by now, so that it can be
// forgotten without changing anyone's budget.
func (b *TokenBucket) Full(now time.Time, rate float64) bool {
	b.refill(now, rate)
	return b.used == 0
}

func (b *TokenBucket) refill(now time.Time, rate float64) {
	if !b.last.IsZero() && now.After(b.last) {
		b.used = max(0, b.used-now.Sub(b.last).Seconds()*rate)
	}
	if now.After(b.last) {
		b.last = now
	}
}
