package bus_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
)

func TestCredentials(t *testing.T) {
	user, _ := nkeys.CreateUser()
	seed, _ := user.Seed()
	account, _ := nkeys.CreateAccount()
	accountSeed, _ := account.Seed()
	file := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(file, append(seed, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		c       bus.Credentials
		options int
		bad     bool
	}{
		{"anonymous", bus.Credentials{}, 0, false},
		{"inline seed", bus.Credentials{NkeySeed: string(seed)}, 1, false},
		{"seed file", bus.Credentials{NkeySeedFile: file}, 1, false},
		{"both", bus.Credentials{NkeySeed: string(seed), NkeySeedFile: file}, 0, true},
		{"missing file", bus.Credentials{NkeySeedFile: file + ".gone"}, 0, true},
		{"not a seed", bus.Credentials{NkeySeed: "SUnotaseed"}, 0, true},
		{"an account's seed", bus.Credentials{NkeySeed: string(accountSeed)}, 0, true},
	} {
		opts, err := tc.c.Options()
		if (err != nil) != tc.bad || len(opts) != tc.options {
			t.Errorf("%s: %d options, err %v", tc.name, len(opts), err)
		}
		if tc.c.Anonymous() != (tc.name == "anonymous") {
			t.Errorf("%s: Anonymous() = %v", tc.name, tc.c.Anonymous())
		}
	}
}

// A consumer of another service's stream creates it when missing and otherwise leaves
// its configuration to the producer.
func TestEnsureStreamsExistLeavesAStreamAlone(t *testing.T) {
	ctx := testkit.Ctx(t)
	nc, js, err := bus.Connect(testkit.NATS(t), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ns := bus.Namespace(testkit.Namespace(t))
	spec := bus.StreamSpec{Name: "EXIST", Subjects: []string{"exist.>"}}
	if err := bus.EnsureStreamsExist(ctx, js, ns, bus.StreamOptions{Duplicates: time.Minute}, spec); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(ctx, js, ns, bus.StreamOptions{Duplicates: 5 * time.Minute}, spec); err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreamsExist(ctx, js, ns, bus.StreamOptions{Duplicates: time.Minute}, spec); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, ns.Stream("EXIST"))
	if err != nil {
		t.Fatal(err)
	}
	if d := s.CachedInfo().Config.Duplicates; d != 5*time.Minute {
		t.Errorf("duplicate window %v, want the producer's 5m", d)
	}
}
