package natsauth_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/natsauth"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
)

// contract is a survey-like service: it produces survey events and consumes purchases
// and touchpoints.
func contract(t *testing.T) bus.Contract {
	t.Helper()
	route := func(m proto.Message) bus.Durable { return bus.Durable{Stream: bus.MustSpec(m).Stream} }
	pos, tp := route(&posv1.PurchaseRecorded{}), route(&touchpointv1.ContactRecorded{})
	pos.Name, pos.External = "survey-pos", true
	tp.Name, tp.External = "survey-touchpoint", true
	return bus.Contract{
		Service:  "survey",
		Produces: []bus.EventSpec{bus.MustSpec(&surveyv1.InvitationCreated{}), bus.MustSpec(&surveyv1.ResponseSubmitted{})},
		Consumes: []bus.EventSpec{bus.MustSpec(&posv1.PurchaseRecorded{}), bus.MustSpec(&posv1.ReturnRecorded{}), bus.MustSpec(&touchpointv1.ContactRecorded{})},
		Durables: []bus.Durable{pos, tp},
	}
}

func user(t *testing.T, users []natsauth.User, name string) natsauth.User {
	t.Helper()
	i := slices.IndexFunc(users, func(u natsauth.User) bool { return u.Name == name })
	if i < 0 {
		t.Fatalf("no user %s", name)
	}
	return users[i]
}

func TestUsersInANamespace(t *testing.T) {
	users, err := natsauth.Users(natsauth.Spec{Contracts: []bus.Contract{contract(t)}, Stores: []string{"berlin-01"}, Namespace: "t1_"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if want := []string{"survey", "touchpoint", "store-berlin-01"}; !slices.Equal(names, want) {
		t.Fatalf("users %v, want %v", names, want)
	}
	store := user(t, users, "store-berlin-01")
	if want := []string{"t1_pos.purchase.recorded.berlin-01", "t1_pos.return.recorded.berlin-01"}; !slices.Equal(store.Publish, want) {
		t.Errorf("store publishes %v, want %v", store.Publish, want)
	}
	if want := []string{"_INBOX_store-berlin-01.>"}; !slices.Equal(store.Subscribe, want) {
		t.Errorf("store subscribes %v, want %v", store.Subscribe, want)
	}
	if tp := user(t, users, "touchpoint"); !slices.Equal(tp.Publish, []string{"t1_touchpoint.contact.recorded.*"}) {
		t.Errorf("touchpoint publishes %v", tp.Publish)
	}
	survey := user(t, users, "survey")
	for _, want := range []string{
		"t1_survey.response.submitted", "t1_survey.invitation.created",
		"$JS.API.STREAM.UPDATE.T1_SURVEY", "$JS.API.STREAM.UPDATE.T1_POS",
		"$JS.API.CONSUMER.CREATE.T1_POS.t1_survey-pos", "$JS.API.CONSUMER.MSG.NEXT.T1_POS.t1_survey-pos",
		"$JS.ACK.T1_POS.t1_survey-pos.>",
	} {
		if !slices.Contains(survey.Publish, want) {
			t.Errorf("survey may not publish %s", want)
		}
	}
	for _, p := range survey.Publish {
		if strings.HasPrefix(p, "t1_pos.") || strings.Contains(p, "DELETE") || strings.HasSuffix(p, "$JS.API.>") {
			t.Errorf("survey may publish %s", p)
		}
	}
}

func TestStoreIDsAreChecked(t *testing.T) {
	for _, stores := range [][]string{{"berlin.01"}, {"*"}, {">"}, {""}, {"a b"}, {"x", "x"}, {strings.Repeat("a", 65)}} {
		if _, err := natsauth.Users(natsauth.Spec{Contracts: []bus.Contract{contract(t)}, Stores: stores}); err == nil {
			t.Errorf("stores %q accepted", stores)
		}
	}
}

func TestRenderAndKeysRoundTrip(t *testing.T) {
	users, err := natsauth.Users(natsauth.Spec{Contracts: []bus.Contract{contract(t)}, Stores: []string{"berlin-01"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keys, err := natsauth.Seeds(dir, users)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := natsauth.Render(users, keys, "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := natsauth.Keys(conf); len(got) != len(users) || got["store-berlin-01"] != keys["store-berlin-01"] {
		t.Errorf("keys read back %v, want %v", got, keys)
	}
	for _, u := range users {
		seed, err := os.ReadFile(natsauth.SeedFile(dir, u.Name))
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(string(seed)); !strings.HasPrefix(s, "SU") || strings.Contains(conf, s) {
			t.Errorf("%s: seed %.4s... is no user seed, or is in the configuration", u.Name, s)
		}
	}
	// Seeds are kept; a rotated one changes, and only it.
	again, err := natsauth.Seeds(dir, users, "store-berlin-01")
	if err != nil {
		t.Fatal(err)
	}
	if again["survey"] != keys["survey"] || again["store-berlin-01"] == keys["store-berlin-01"] {
		t.Errorf("after rotating store-berlin-01: %v, before %v", again, keys)
	}
	fi, err := os.Stat(filepath.Join(dir, "survey.nk"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("seed file mode %o, want 600", fi.Mode().Perm())
	}
	if _, err := natsauth.Seeds(dir, users, "nobody"); err == nil {
		t.Error("rotating an unknown user accepted")
	}
}
