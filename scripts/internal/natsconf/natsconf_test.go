package natsconf

import (
	"context"
	"errors"
	"net"
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
	"github.com/treue/treue/pkg/testkit"
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

// Rotating a store's credential: after the configuration is regenerated with -rotate
// and the server reloads it, the old seed is turned away (and its connection closed),
// the new one publishes, and every other user's seed still works.
func TestRotatedStoreSeedStopsWorking(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	seeds, conf := filepath.Join(dir, "seeds"), filepath.Join(dir, "auth.conf")
	if _, err := Write(conf, seeds, ExampleStores, ""); err != nil {
		t.Fatal(err)
	}
	// The options of the file, with the server's own address and store: what a reload
	// of the file gives too.
	options := func(port int) *server.Options {
		t.Helper()
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		opts.Host, opts.Port, opts.JetStream, opts.StoreDir, opts.NoSigs = "127.0.0.1", port, true, filepath.Join(dir, "js"), true
		return opts
	}
	s, err := server.NewServer(options(server.RANDOM_PORT))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	url := s.ClientURL()
	ledger := connectAs(t, url, seeds, "ledger")
	if err := bus.EnsureStreams(ctx, ledger.js, "", bus.StreamOptions{}, bus.StreamSpec{Name: "POS", Subjects: []string{"pos.>"}}); err != nil {
		t.Fatal(err)
	}
	oldSeed, err := os.ReadFile(natsauth.SeedFile(seeds, "store-berlin-01"))
	if err != nil {
		t.Fatal(err)
	}
	old := connectAs(t, url, seeds, "store-berlin-01")

	if _, err := Write(conf, seeds, ExampleStores, "", "store-berlin-01"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadOptions(options(s.Addr().(*net.TCPAddr).Port)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the old connection closed", func() bool { return old.IsClosed() })
	auth, err := bus.Credentials{NkeySeed: string(oldSeed)}.Options()
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(url, append(auth, nats.NoReconnect())...); err == nil {
		nc.Close()
		t.Error("the rotated-out seed still connects")
	}
	renewed := connectAs(t, url, seeds, "store-berlin-01")
	if _, err := renewed.js.Publish(ctx, "pos.purchase.recorded.berlin-01", []byte("{}")); err != nil {
		t.Errorf("the new seed publishes: %v", err)
	}
	if _, err := connectAs(t, url, seeds, "store-hamburg-02").js.Publish(ctx, "pos.purchase.recorded.hamburg-02", []byte("{}")); err != nil {
		t.Errorf("another store's seed, not rotated: %v", err)
	}
	if ledger.IsClosed() {
		t.Error("the ledger's connection was closed by the reload")
	}
}
