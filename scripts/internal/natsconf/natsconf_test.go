package natsconf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/natsauth"
)

const example = "../../../deploy/nats/auth.conf"

// The committed configuration is what the contract gives today: a new event, consumer
// or stream changes the permissions, and this fails until the file is regenerated.
func TestExampleIsUpToDate(t *testing.T) {
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	users, err := Users(ExampleStores, "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := natsauth.Render(users, natsauth.Keys(string(b)), Header(ExampleStores, ""))
	if err != nil || want != string(b) {
		t.Fatalf("deploy/nats/auth.conf is not what the event contract gives (%v); regenerate it:\n"+
			"  go run ./scripts/cmd/treue-natsconf -stores %s", err, strings.Join(ExampleStores, ","))
	}
	// And nats-server takes it, included as deploy/nats/nats.conf does.
	opts, err := server.ProcessConfigFile("../../../deploy/nats/nats.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Nkeys) != len(users) {
		t.Errorf("nats.conf gives %d nkey users, want %d", len(opts.Nkeys), len(users))
	}
}

// server starts a NATS server of the test's own with the users of stores in ns.
func authServer(t *testing.T, stores []string, ns bus.Namespace) (url, seeds string) {
	t.Helper()
	dir := t.TempDir()
	seeds = filepath.Join(dir, "seeds")
	conf := filepath.Join(dir, "auth.conf")
	if _, err := Write(conf, seeds, stores, ns); err != nil {
		t.Fatal(err)
	}
	url, stop, err := devstack.EmbeddedNATS(filepath.Join(dir, "js"), nil, devstack.NATSOptions{ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url, seeds
}

// conn is a connection as one user, with the server's refusals it reports.
type conn struct {
	*nats.Conn
	js   jetstream.JetStream
	errs chan error
}

func connectAs(t *testing.T, url, seeds, user string) *conn {
	t.Helper()
	auth, err := bus.Credentials{NkeySeedFile: natsauth.SeedFile(seeds, user)}.Options()
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{errs: make(chan error, 100)}
	c.Conn, err = nats.Connect(url, append(auth,
		nats.CustomInboxPrefix(bus.InboxPrefix(user)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { c.errs <- err }))...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(c.Close)
	if c.js, err = jetstream.New(c.Conn); err != nil {
		t.Fatal(err)
	}
	return c
}

// refused publishes on subject and expects the server to refuse it.
func (c *conn) refused(t *testing.T, user, subject string) {
	t.Helper()
	if err := c.Publish(subject, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.errs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), `"`+subject+`"`) {
			t.Errorf("%s publishing %s: got %v, want a permissions violation", user, subject, err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("%s may publish %s", user, subject)
	}
}

func TestAnonymousClientCannotConnect(t *testing.T) {
	url, _ := authServer(t, ExampleStores, "")
	nc, err := nats.Connect(url, nats.NoReconnect())
	if err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected")
	}
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("got %v, want an authorization violation", err)
	}
}

func TestStorePublishesItsOwnPOSEventsOnly(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []bus.Namespace{"", "t1a2b_"} {
		t.Run("namespace "+string(ns), func(t *testing.T) {
			url, seeds := authServer(t, ExampleStores, ns)
			// The ledger creates the POS stream, as it does at start-up.
			ledger := connectAs(t, url, seeds, "ledger")
			if err := bus.EnsureStreams(ctx, ledger.js, ns, bus.StreamOptions{}, bus.StreamSpec{Name: "POS", Subjects: []string{"pos.>"}}); err != nil {
				t.Fatalf("the ledger creates the POS stream: %v", err)
			}
			berlin := connectAs(t, url, seeds, "store-berlin-01")
			if _, err := berlin.js.Publish(ctx, ns.Subject("pos.purchase.recorded.berlin-01"), []byte("{}")); err != nil {
				t.Fatalf("berlin-01 publishes its own purchase: %v", err)
			}
			if _, err := berlin.js.Publish(ctx, ns.Subject("pos.return.recorded.berlin-01"), []byte("{}")); err != nil {
				t.Fatalf("berlin-01 publishes its own return: %v", err)
			}
			for _, subject := range []string{
				"pos.purchase.recorded.hamburg-02", // another store's
				"pos.return.recorded.hamburg-02",
				"pos.purchase.recorded.*",
				"survey.response.submitted", // the forgery that credited a bonus and counted in the NPS
				"ledger.points.credited",
				"touchpoint.contact.recorded.service_call",
				"$JS.API.STREAM.DELETE." + ns.Stream("POS"),
				"$JS.API.STREAM.PURGE." + ns.Stream("POS"),
			} {
				berlin.refused(t, "store-berlin-01", ns.Subject(subject))
			}
			if ns != "" {
				// Outside its namespace too.
				berlin.refused(t, "store-berlin-01", "pos.purchase.recorded.berlin-01")
			}
			// Nothing refused reached the stream.
			info, err := ledger.js.Stream(ctx, ns.Stream("POS"))
			if err != nil {
				t.Fatal(err)
			}
			if n := info.CachedInfo().State.Msgs; n != 2 {
				t.Errorf("POS stream holds %d messages, want berlin-01's 2", n)
			}
			// A store reads no one's replies but its own, and no event.
			for _, subject := range []string{"_INBOX.>", "_INBOX_ledger.>", ns.Subject("pos.>"), ">"} {
				sub, err := berlin.SubscribeSync(subject)
				if err == nil {
					_ = berlin.Flush()
					select {
					case err = <-berlin.errs:
					case <-time.After(5 * time.Second):
					}
					_ = sub.Unsubscribe()
				}
				if !errors.Is(err, nats.ErrPermissionViolation) {
					t.Errorf("store-berlin-01 subscribing to %s: got %v, want a permissions violation", subject, err)
				}
			}
		})
	}
}

// Every service may publish the events it produces and no other: not another
// service's, not a store's.
func TestServicesPublishOnlyWhatTheyProduce(t *testing.T) {
	ctx := context.Background()
	ns := bus.Namespace("t9c8d_")
	url, seeds := authServer(t, ExampleStores, ns)
	cs, err := Contracts()
	if err != nil {
		t.Fatal(err)
	}
	var all []bus.EventSpec
	for _, c := range cs {
		all = append(all, c.Produces...)
	}
	for _, c := range cs {
		t.Run(c.Service, func(t *testing.T) {
			svc := connectAs(t, url, seeds, c.Service)
			var streams []bus.StreamSpec
			for _, e := range c.Produces {
				if !slices.ContainsFunc(streams, func(s bus.StreamSpec) bool { return s.Name == e.Stream.Name }) {
					streams = append(streams, e.Stream)
				}
			}
			if err := bus.EnsureStreams(ctx, svc.js, ns, bus.StreamOptions{}, streams...); err != nil {
				t.Fatalf("%s creates its streams: %v", c.Service, err)
			}
			for _, e := range c.Produces {
				if _, err := svc.js.Publish(ctx, ns.Subject(e.Subject), []byte("{}")); err != nil {
					t.Errorf("%s publishes its %s: %v", c.Service, e.Type, err)
				}
			}
			for _, e := range all {
				if !slices.ContainsFunc(c.Produces, func(p bus.EventSpec) bool { return p.Type == e.Type }) {
					svc.refused(t, c.Service, ns.Subject(e.Subject))
				}
			}
			svc.refused(t, c.Service, ns.Subject("pos.purchase.recorded.berlin-01"))
			for _, s := range streams {
				svc.refused(t, c.Service, "$JS.API.STREAM.DELETE."+ns.Stream(s.Name))
			}
		})
	}
}
