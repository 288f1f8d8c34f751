package service

import (
	"testing"
	"time"
)

// The default lease outlives a whole batch of calls that each take the timeout, so that
// no call is made again while the first is still on its way; never under a minute.
func TestWebhookLeaseCoversABatch(t *testing.T) {
	for _, tc := range []struct {
		batch, parallel int
		timeout, want   time.Duration
	}{
		{100, 8, 10 * time.Second, 140 * time.Second},
		{4, 8, 10 * time.Second, time.Minute},
		{20, 4, 30 * time.Second, 180 * time.Second},
	} {
		got := WebhookConfig{Batch: tc.batch, Parallel: tc.parallel, Timeout: tc.timeout}.withDefaults().Lease
		if got != tc.want {
			t.Errorf("batch %d, parallel %d, timeout %v: lease %v, want %v", tc.batch, tc.parallel, tc.timeout, got, tc.want)
		}
	}
	if got := (WebhookConfig{Lease: 5 * time.Second, Timeout: time.Second}).withDefaults().Lease; got != 5*time.Second {
		t.Errorf("a lease set stays as set: %v", got)
	}
}
