// Package enum maps a domain's enumeration to a proto enum and back, from one table, so
// that a service's converters declare each pairing once instead of writing a switch for
// each direction.
package enum

// Map pairs domain values D with proto enum values P.
type Map[D comparable, P ~int32] struct {
	to   map[D]P
	from map[P]D
}

// New returns the map of pairs; a value named twice on either side panics (a
// programming error caught by any test that builds the map).
func New[D comparable, P ~int32](pairs map[D]P) Map[D, P] {
	m := Map[D, P]{to: make(map[D]P, len(pairs)), from: make(map[P]D, len(pairs))}
	for d, p := range pairs {
		if _, dup := m.from[p]; dup {
			panic("enum: proto value paired twice")
		}
		m.to[d], m.from[p] = p, d
	}
	return m
}

// Proto returns the proto value of d, or the zero value (…_UNSPECIFIED) for an
// unpaired one.
func (m Map[D, P]) Proto(d D) P { return m.to[d] }

// Domain returns the domain value of p; ok is false for …_UNSPECIFIED or an unknown
// value.
func (m Map[D, P]) Domain(p P) (d D, ok bool) {
	d, ok = m.from[p]
	return d, ok
}
