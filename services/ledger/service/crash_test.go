package service_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	"github.com/treue/treue/services/ledger/service"
)

// TestRedeliveryAfterCrashBetweenCommitAndAck: the ledger commits a purchase, then
// "crashes" before acking it. JetStream redelivers it to the restarted ledger after
// AckWait; the inbox recognises it, and the points stay credited once.
func TestRedeliveryAfterCrashBetweenCommitAndAck(t *testing.T) {
	e := started(t)
	m := e.enroll("Carla")
	first := e.cur
	if err := first.Stop(); err != nil {
		t.Fatalf("stopping: %v", err)
	}

	p := purchase("S1", "T-crash", m, 4200)
	crashed := e.start(func(c *service.Config) {
		c.Base.Hooks.AckWait = time.Second
		c.Base.Hooks.BeforeAck = func(consumer string, msgs []*bus.Message) error {
			if consumer == service.ConsumerPOS {
				return errors.New("crash")
			}
			return nil
		}
	})
	e.publishPurchase(p)
	select {
	case <-crashed.Done():
		if err := crashed.Stop(); err == nil || !strings.Contains(err.Error(), "simulated crash") {
			t.Fatalf("ledger stopped with %v, want the simulated crash", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the ledger did not crash")
	}
	// The crashed instance committed the credit...
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE idempotency_key = 'purchase:S1/T-crash'`); n != 1 {
		t.Fatalf("%d credits committed before the crash, want 1", n)
	}

	var (
		mu         sync.Mutex
		redelivery uint64
	)
	e.start(func(c *service.Config) {
		c.Base.Hooks.AckWait = time.Second
		c.Base.Hooks.BeforeAck = func(consumer string, msgs []*bus.Message) error {
			mu.Lock()
			defer mu.Unlock()
			for _, msg := range msgs {
				if msg.ID == p.GetEventId() {
					redelivery = max(redelivery, msg.Deliveries)
				}
			}
			return nil
		}
	})
	testkit.Eventually(t, 15*time.Second, "the purchase to be redelivered and acked", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return redelivery >= 2
	})
	if got := e.balance(m).GetAvailable(); got != 42 {
		t.Errorf("available %d after the redelivery, want 42 (credited once)", got)
	}
	if n := e.db.Count(`SELECT count(*) FROM transactions WHERE idempotency_key = 'purchase:S1/T-crash'`); n != 1 {
		t.Errorf("%d credits, want 1", n)
	}
}
