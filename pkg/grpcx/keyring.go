package grpcx

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// StoredKey is a key of the key store (package keystore) as the authorizer needs it:
// who it is, and when it stops or stopped working.
type StoredKey struct {
	Caller
	// ExpiresAt is zero for a key that does not expire.
	ExpiresAt time.Time
	// RevokedAt is zero while the key is not revoked.
	RevokedAt time.Time
}

// KeyRing is what the authorizer knows: the bootstrap keys of API_KEYS, which never
// change, merged with the stored keys, which the key store's refresher replaces as a
// whole (a snapshot swapped atomically, so a call never sees half a refresh).
type KeyRing struct {
	bootstrap Keys
	stored    atomic.Pointer[map[string]StoredKey]
	now       func() time.Time
}

// NewKeyRing returns a ring of the bootstrap keys and no stored keys yet.
func NewKeyRing(bootstrap Keys) *KeyRing {
	if bootstrap == nil {
		bootstrap = Keys{}
	}
	return &KeyRing{bootstrap: bootstrap, now: time.Now}
}

// SetStored replaces the stored keys, by the hex SHA-256 of their secrets (a rotated
// key in its grace period appears under both).
func (r *KeyRing) SetStored(keys map[string]StoredKey) { r.stored.Store(&keys) }

// Bootstrap returns the keys of API_KEYS.
func (r *KeyRing) Bootstrap() Keys { return r.bootstrap }

// keyState is why a key is or is not accepted; the names are the refusal kinds counted
// by telemetry.Refused.
type keyState string

const (
	keyOK      keyState = ""
	keyUnknown keyState = "unknown_key"
	keyRevoked keyState = "revoked_key"
	keyExpired keyState = "expired_key"
)

// lookup finds the caller of a key's hash. A bootstrap key wins over a stored one.
func (r *KeyRing) lookup(hash string) (Caller, keyState) {
	if c, ok := r.bootstrap[hash]; ok {
		return c, keyOK
	}
	m := r.stored.Load()
	if m == nil {
		return Caller{}, keyUnknown
	}
	k, ok := (*m)[hash]
	switch {
	case !ok:
		return Caller{}, keyUnknown
	case !k.RevokedAt.IsZero():
		return k.Caller, keyRevoked
	case !k.ExpiresAt.IsZero() && !r.now().Before(k.ExpiresAt):
		return k.Caller, keyExpired
	}
	return k.Caller, keyOK
}

// HasRole reports whether the caller holds role.
func (c Caller) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// MayActFor reports whether the caller may act for store: a pos key only for its own
// stores; any other role is not bound to stores. A key with both pos and another role
// is judged by the other role: the store scope is for keys that are tills only.
func (c Caller) MayActFor(store string) bool {
	if !c.StoreBound() {
		return true
	}
	return store != "" && (slices.Contains(c.Stores, store) || slices.Contains(c.Stores, "*"))
}

// StoreBound reports whether the caller is a till: role pos and no role beyond it.
func (c Caller) StoreBound() bool {
	return len(c.Roles) > 0 && !slices.ContainsFunc(c.Roles, func(r string) bool { return r != "pos" })
}

// ByName returns the key of API_KEYS named name.
func (k Keys) ByName(name string) (Caller, bool) {
	for _, c := range k {
		if c.Name == name {
			return c, true
		}
	}
	return Caller{}, false
}

// Sorted returns the callers of k by name.
func (k Keys) Sorted() []Caller {
	out := make([]Caller, 0, len(k))
	for _, c := range k {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Caller) int { return strings.Compare(a.Name, b.Name) })
	return out
}
