package bus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestTransientTellsAClusterBusyFromAWrongRequest(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, true},
		{fmt.Errorf("create: %w", nats.ErrTimeout), true},
		{nats.ErrNoResponders, true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{jetstream.ErrJetStreamNotEnabled, false},
		{&jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use with a different configuration"}, false},
		{jetstream.ErrStreamNotFound, false},
		{errors.New("boom"), false},
	} {
		if got := transient(c.err); got != c.want {
			t.Errorf("transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestRetryTransientRepeatsOnlyWhatMaySucceed(t *testing.T) {
	ctx := context.Background()
	calls := 0
	err := retryTransient(ctx, func() error {
		calls++
		if calls < 3 {
			return nats.ErrTimeout
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("after two timeouts: err %v after %d calls, want success at the third", err, calls)
	}
	calls = 0
	wrong := &jetstream.APIError{Code: 400, ErrorCode: 10058}
	if err := retryTransient(ctx, func() error { calls++; return wrong }); !errors.Is(err, wrong) || calls != 1 {
		t.Fatalf("a wrong request: err %v after %d calls, want it at once", err, calls)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	calls = 0
	if err := retryTransient(cancelled, func() error { calls++; return nats.ErrTimeout }); !errors.Is(err, nats.ErrTimeout) || calls != 1 {
		t.Fatalf("cancelled: err %v after %d calls, want the timeout once", err, calls)
	}
}
