package service_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

// BenchmarkEnrollToEvent measures how long a member's enrolment takes to reach the bus:
// from the Enroll call over gRPC until ledger.member.enrolled for that member is stored
// in JetStream (an ordered consumer sees it). One enrolment at a time, so each one's
// event waits for nothing but its own commit and the relay. Run it with a fixed count,
// e.g. -benchtime 50x.
func BenchmarkEnrollToEvent(b *testing.B) {
	e := newEnv(b)
	e.start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spec := bus.MustSpec(&ledgerv1.MemberEnrolled{})
	stream, err := e.JS().Stream(ctx, e.NS().Stream(spec.Stream.Name))
	if err != nil {
		b.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{e.NS().Subject(spec.Subject)}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		b.Fatal(err)
	}
	seen := make(chan string, 16)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var ev ledgerv1.MemberEnrolled
		if proto.Unmarshal(m.Data(), &ev) == nil {
			seen <- ev.GetMemberId()
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	ledger := e.ledger("admin")
	// One enrolment before the clock starts: connections and the consumer warm up.
	enroll := func() string {
		resp, err := ledger.Enroll(testkit.Ctx(b), &ledgerv1.EnrollRequest{
			IdempotencyKey: "enroll-" + uuid.NewString(), DisplayName: "Bench", Email: "bench@example.com",
		})
		if err != nil {
			b.Fatal(err)
		}
		return resp.GetMember().GetMemberId()
	}
	wait := func(id string) {
		for {
			select {
			case got := <-seen:
				if got == id {
					return
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("no member.enrolled for %s within 10s", id)
			}
		}
	}
	wait(enroll())

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		wait(enroll())
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(sum/time.Duration(len(lat))), "mean-ms")
	b.ReportMetric(ms(lat[len(lat)*9/10]), "p90-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}
