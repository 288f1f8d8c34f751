// Package natsauth derives Treue's NATS users and their least privileges from the event
// contract: each service may publish the events it produces and use the JetStream API
// for its own streams and durable consumers; each store may publish only the POS events
// of its own store; the retailer's contact systems only touchpoint events. Render writes
// them as a nats-server configuration whose users are nkeys: the server holds only
// public keys, each process its own seed.
package natsauth

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/treue/treue/pkg/bus"
)

// Account is the NATS account that holds Treue's streams and users.
const Account = "TREUE"

// Kind is what a user is.
type Kind string

const (
	// KindService is a Treue service.
	KindService Kind = "service"
	// KindStore is one store's tills and web shop: the POS events keyed by its store id.
	KindStore Kind = "store"
	// KindExternal publishes the retailer's other events (the touchpoint contract).
	KindExternal Kind = "external"
)

// User is one NATS user and what it may do. Everything not allowed is refused.
type User struct {
	// Name names the user's seed file and its inbox prefix: the service's name,
	// "store-<id>", or the external stream's name in lower case ("touchpoint").
	Name      string
	Kind      Kind
	Publish   []string
	Subscribe []string
}

// Spec is what the users are derived from.
type Spec struct {
	// Contracts of every service (service.Contract()).
	Contracts []bus.Contract
	// Stores are the store ids that get credentials for the POS events.
	Stores []string
	// Namespace prefixes subjects, streams and consumers (TREUE_NAMESPACE); "" in
	// production.
	Namespace bus.Namespace
}

// storeKey is the field of an external event whose value, the subject's last token,
// is the store: such events are published per store.
const storeKey = "store_id"

// storeID is the contract's rule for a store id, which is also a subject token.
var storeID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// StoreUser is the user name of a store.
func StoreUser(store string) string { return "store-" + store }

// Users returns the users of spec: the services in the order of Contracts, then the
// external publishers, then the stores in the given order.
func Users(spec Spec) ([]User, error) {
	ns := spec.Namespace
	var users []User
	external := map[string]bus.EventSpec{} // by type
	for _, c := range spec.Contracts {
		if c.Service == "" || !validName(c.Service) {
			return nil, fmt.Errorf("natsauth: service name %q cannot name a NATS user", c.Service)
		}
		users = append(users, serviceUser(c, ns))
		for _, e := range c.Consumes {
			if e.External {
				external[string(e.Type)] = e
			}
		}
	}
	types := make([]string, 0, len(external))
	for t := range external {
		types = append(types, t)
	}
	slices.Sort(types)
	var storeEvents []bus.EventSpec
	others := map[string][]string{} // by user: subjects
	for _, t := range types {
		e := external[t]
		if e.Key != nil && string(e.Key.Name()) == storeKey {
			storeEvents = append(storeEvents, e)
			continue
		}
		name := strings.ToLower(e.Stream.Name)
		others[name] = append(others[name], ns.Subject(e.Filter()))
	}
	for _, name := range sortedKeys(others) {
		users = append(users, User{Name: name, Kind: KindExternal, Publish: others[name],
			Subscribe: []string{bus.InboxPrefix(name) + ".>"}})
	}
	seen := map[string]bool{}
	for _, store := range spec.Stores {
		if !storeID.MatchString(store) {
			return nil, fmt.Errorf("natsauth: store id %q: the POS contract allows 1 to 64 of A-Z a-z 0-9 _ -", store)
		}
		if seen[store] {
			return nil, fmt.Errorf("natsauth: store %s listed twice", store)
		}
		seen[store] = true
		if len(storeEvents) == 0 {
			return nil, errors.New("natsauth: stores given, but no service consumes an event keyed by store_id")
		}
		u := User{Name: StoreUser(store), Kind: KindStore, Subscribe: []string{bus.InboxPrefix(StoreUser(store)) + ".>"}}
		for _, e := range storeEvents {
			u.Publish = append(u.Publish, ns.Subject(e.Subject+"."+store))
		}
		users = append(users, u)
	}
	names := map[string]bool{}
	for _, u := range users {
		if names[u.Name] {
			return nil, fmt.Errorf("natsauth: two users named %s", u.Name)
		}
		names[u.Name] = true
	}
	return users, nil
}

// serviceUser: the service's events; the JetStream API for its streams (create, update
// and read those it produces and the retailer's streams it consumes; create when
// missing and read another service's stream it consumes) and its durables (create,
// read, pull, ack); its own inbox.
func serviceUser(c bus.Contract, ns bus.Namespace) User {
	u := User{Name: c.Service, Kind: KindService, Subscribe: []string{bus.InboxPrefix(c.Service) + ".>"}}
	// Streams the service may update (true) or only create and read (false).
	streams := map[string]bool{}
	for _, e := range c.Produces {
		u.Publish = append(u.Publish, ns.Subject(e.Filter()))
		streams[e.Stream.Name] = true
	}
	for _, d := range c.Durables {
		streams[d.Stream.Name] = streams[d.Stream.Name] || d.External
	}
	u.Publish = append(u.Publish, "$JS.API.INFO")
	for _, name := range sortedKeys(streams) {
		s := ns.Stream(name)
		u.Publish = append(u.Publish, "$JS.API.STREAM.INFO."+s, "$JS.API.STREAM.CREATE."+s)
		if streams[name] {
			u.Publish = append(u.Publish, "$JS.API.STREAM.UPDATE."+s)
		}
	}
	durables := slices.Clone(c.Durables)
	slices.SortFunc(durables, func(a, b bus.Durable) int { return cmp.Compare(a.Name, b.Name) })
	for _, d := range durables {
		s, dn := ns.Stream(d.Stream.Name), ns.Consumer(d.Name)
		u.Publish = append(u.Publish,
			"$JS.API.CONSUMER.CREATE."+s+"."+dn,
			// The form with the filter subject, which clients use for a single filter.
			"$JS.API.CONSUMER.CREATE."+s+"."+dn+".>",
			"$JS.API.CONSUMER.INFO."+s+"."+dn,
			"$JS.API.CONSUMER.MSG.NEXT."+s+"."+dn,
			"$JS.ACK."+s+"."+dn+".>",
		)
	}
	return u
}

func validName(s string) bool { return storeID.MatchString(s) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
