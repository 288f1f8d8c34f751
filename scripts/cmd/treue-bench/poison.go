package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	"github.com/treue/treue/scripts/internal/possim"
)

// poisonLag publishes healthy purchases with poison events interleaved, at a steady
// rate, and measures each healthy purchase's lag: from its publish until the ledger's
// ledger.points.credited event for it is stored. Poison is everything a till or an
// attacker could send that can never be credited: garbage, a wrong event type, a
// breach of the contract's rules, a NUL byte, a subject naming another store, a currency
// the programme does not take. None of it may hold healthy purchases back.
func poisonLag(ctx context.Context, js jetstream.JetStream, ns bus.Namespace, members []string, healthy, poison int, rate float64) (latencies, error) {
	// Watch the credits from now on, before publishing.
	credited := bus.MustSpec(&ledgerv1.PointsCredited{})
	oc, err := js.OrderedConsumer(ctx, ns.Stream(credited.Stream.Name), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{ns.Subject(credited.Subject)}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		sent = map[string]time.Time{} // by "<store>/<transaction id>"
		lags latencies
		done = make(chan struct{})
	)
	cc, err := oc.Consume(func(m jetstream.Msg) {
		var ev ledgerv1.PointsCredited
		if proto.Unmarshal(m.Data(), &ev) != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if at, ok := sent[ev.GetReference()]; ok {
			lags = append(lags, time.Since(at))
			delete(sent, ev.GetReference())
			if len(lags) == healthy {
				close(done)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	defer cc.Stop()

	r := mrand.New(mrand.NewPCG(7, 7))
	total := healthy + poison
	every := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	h := 0
	for i := range total {
		// Spread the poison evenly among the healthy purchases.
		isPoison := (i+1)*poison/total != i*poison/total
		p := possim.Purchase(r, "poison-run", members[r.IntN(len(members))])
		p.TransactionId = fmt.Sprintf("P%08d", i)
		var msg *nats.Msg
		if isPoison {
			msg = poisonMsg(ns, p, i)
		} else {
			subject, _ := possim.Subject(p)
			data, _ := proto.Marshal(p)
			msg = posMsg(ns.Subject(subject), string(p.ProtoReflect().Descriptor().FullName()), data)
			mu.Lock()
			sent[p.StoreId+"/"+p.TransactionId] = time.Now()
			mu.Unlock()
			h++
		}
		if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(uuid.NewString())); err != nil {
			return nil, err
		}
		next = next.Add(every)
		time.Sleep(time.Until(next))
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		mu.Lock()
		defer mu.Unlock()
		return nil, fmt.Errorf("%d of %d healthy purchases were never credited", len(sent), h)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	return lags, nil
}

func posMsg(subject, eventType string, data []byte) *nats.Msg {
	m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	m.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
	if eventType != "" {
		m.Header.Set(bus.HeaderEventType, eventType)
	}
	return m
}

// poisonMsg turns purchase p into the i-th kind of poison.
func poisonMsg(ns bus.Namespace, p *posv1.PurchaseRecorded, i int) *nats.Msg {
	subject, _ := possim.Subject(p)
	typ := string(p.ProtoReflect().Descriptor().FullName())
	switch i % 6 {
	case 0: // not protobuf at all
		return posMsg(ns.Subject(subject), typ, []byte{0xff, 0xfe, 0xfd})
	case 1: // labelled as another event type
		data, _ := proto.Marshal(p)
		return posMsg(ns.Subject(subject), "treue.pos.v1.ReturnRecorded", data)
	case 2: // breaks the contract's rules
		p.Currency = "euro"
	case 3: // a NUL byte, which Postgres would refuse
		p.TransactionId += "\x00"
	case 4: // the subject names another store
		subject = strings.TrimSuffix(subject, p.StoreId) + "elsewhere"
	case 5: // a currency the programme does not take: refused by the ledger's rules
		p.Currency = "ZZZ"
	}
	data, _ := proto.Marshal(p)
	return posMsg(ns.Subject(subject), typ, data)
}
