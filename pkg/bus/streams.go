// Package bus is how Treue services exchange events over NATS JetStream without losing
// or doubling any: streams, the transactional outbox and its relay, and batched,
// inbox-deduplicated consumers with dead letters.
package bus

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/treue/treue/pkg/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the bus's tables (outbox, inbox, dead_letters), to apply to every
// service's schema before its own migrations.
func Migrations() pg.Migration {
	return pg.Migration{Name: "bus", FS: mustSub(migrations, "migrations")}
}

// Namespace prefixes every stream name and subject, so that several test runs (or
// tenants) share one NATS server without seeing each other. Production uses "".
type Namespace string

// Subject returns subject inside the namespace.
func (n Namespace) Subject(subject string) string { return string(n) + subject }

// Stream returns the stream name inside the namespace.
func (n Namespace) Stream(name string) string { return strings.ToUpper(string(n)) + name }

// Consumer returns the durable consumer name inside the namespace.
func (n Namespace) Consumer(name string) string { return string(n) + name }

// Trim returns subject without the namespace prefix.
func (n Namespace) Trim(subject string) string { return strings.TrimPrefix(subject, string(n)) }

// StreamSpec names a stream and the subjects it captures. The contract declares each
// stream once, as an option of its events' proto file (EventSpec.Stream).
type StreamSpec struct {
	Name     string
	Subjects []string
}

// StreamOptions are the operator's choices for every stream a service creates.
type StreamOptions struct {
	// Replicas: 1 on a single server; 3 in a production cluster.
	Replicas int
	// Duplicates is JetStream's de-duplication window for Nats-Msg-Id. It is an
	// optimisation: the inbox and the ledger's business keys are the guarantee.
	Duplicates time.Duration
}

// EnsureStreams creates the streams, or updates them to the given config, idempotently.
func EnsureStreams(ctx context.Context, js jetstream.StreamManager, ns Namespace, opts StreamOptions, specs ...StreamSpec) error {
	for _, s := range specs {
		cfg := streamConfig(ns, opts, s)
		err := retryTransient(ctx, func() error {
			_, err := js.CreateOrUpdateStream(ctx, cfg)
			return err
		})
		if err != nil {
			return fmt.Errorf("bus: stream %s: %w", ns.Stream(s.Name), err)
		}
	}
	return nil
}

// EnsureStreamsExist creates the streams that are missing and leaves existing ones as
// they are: a consumer of another service's stream needs it to exist, while keeping its
// configuration is the producer's (whose NATS user alone may update it).
func EnsureStreamsExist(ctx context.Context, js jetstream.StreamManager, ns Namespace, opts StreamOptions, specs ...StreamSpec) error {
	for _, s := range specs {
		err := retryTransient(ctx, func() error {
			_, err := js.Stream(ctx, ns.Stream(s.Name))
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				err = ensureCreated(ctx, js, ns, opts, s)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("bus: stream %s: %w", ns.Stream(s.Name), err)
		}
	}
	return nil
}

// ensureCreated creates the stream; one that exists already (its producer made it in
// the meantime, perhaps with other settings) is fine.
func ensureCreated(ctx context.Context, js jetstream.StreamManager, ns Namespace, opts StreamOptions, s StreamSpec) error {
	_, err := js.CreateStream(ctx, streamConfig(ns, opts, s))
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil
	}
	return err
}

func streamConfig(ns Namespace, opts StreamOptions, s StreamSpec) jetstream.StreamConfig {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.Duplicates <= 0 {
		opts.Duplicates = 2 * time.Minute
	}
	subjects := make([]string, len(s.Subjects))
	for i, subj := range s.Subjects {
		subjects[i] = ns.Subject(subj)
	}
	return jetstream.StreamConfig{
		Name:       ns.Stream(s.Name),
		Subjects:   subjects,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Replicas:   opts.Replicas,
		Duplicates: opts.Duplicates,
	}
}

// retryTransient calls f until it succeeds, fails in a way no repeat cures, ctx ends or
// a minute passes. A cluster answers slowly or not at all while it elects a leader or
// while a node is down: a replica starting then waits instead of exiting.
func retryTransient(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(time.Minute)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		err := f()
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// transient reports whether a JetStream request may succeed when repeated: no answer in
// time, no responder, or the cluster saying it is temporarily unavailable.
func transient(err error) bool {
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return false
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code >= 500
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// Connect connects to NATS with reconnects that never give up: a service rides out a
// NATS restart instead of exiting. opts add credentials (Credentials.Options) and the
// like.
func Connect(url, name string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond)}, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("bus: connect %s: %w", url, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}
