package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// IdentifierKind is what an identifier is: a loyalty card number, an email, a phone.
type IdentifierKind string

const (
	IdentifierCard  IdentifierKind = "card"
	IdentifierEmail IdentifierKind = "email"
	IdentifierPhone IdentifierKind = "phone"
)

// Identifier is what a till or shop may name a member by. Value is normalised
// (ParseIdentifier), so that two spellings of one card, email or phone are one
// identifier.
type Identifier struct {
	Kind  IdentifierKind `json:"kind"`
	Value string         `json:"value"`
}

// String is the identifier as a POS member reference spells it: "card:1234".
func (i Identifier) String() string { return string(i.Kind) + ":" + i.Value }

// Errors of identifiers.
var (
	// ErrInvalidIdentifier: the value is no card number, email or phone of its kind.
	ErrInvalidIdentifier = errors.New("invalid identifier")
	// ErrIdentifierNotFound: no member holds the identifier (or not the member named).
	ErrIdentifierNotFound = errors.New("identifier not found")
)

// IdentifierTakenError: another member holds the identifier. It names the kind only:
// the value may be personal data, and the caller sent it anyway.
type IdentifierTakenError struct{ Kind IdentifierKind }

func (e *IdentifierTakenError) Error() string {
	return fmt.Sprintf("the %s identifier belongs to another member", e.Kind)
}

// Limits of an identifier's normalised value.
const (
	minCardLen, maxCardLen = 4, 64
	maxEmailLen            = 254
	// E.164: at most 15 digits; 8 keeps out what is surely a national number.
	minPhoneDigits, maxPhoneDigits = 8, 15
)

// ParseIdentifier normalises raw as an identifier of kind:
//
//   - card: letters and digits, 4 to 64 of them once spaces and dashes are dropped;
//     letters upper-cased ("1234 5678-90ab" is "1234567890AB").
//   - email: trimmed and lower-cased entirely (the local part too: no retailer keeps two
//     customers apart by the case of their address); one @ with text on both sides.
//   - phone: international numbers only, E.164: "+" and 8 to 15 digits once spaces,
//     dashes, dots and brackets are dropped; a leading "00" is read as "+". A national
//     number (no country code) is refused: the ledger cannot guess the country.
//
// It returns ErrInvalidIdentifier, wrapped with the reason, for anything else.
func ParseIdentifier(kind IdentifierKind, raw string) (Identifier, error) {
	raw = strings.TrimSpace(raw)
	switch kind {
	case IdentifierCard:
		v := strings.ToUpper(dropAll(raw, " -"))
		if len(v) < minCardLen || len(v) > maxCardLen || !allOf(v, isAlnum) {
			return Identifier{}, fmt.Errorf("%w: a card number is %d to %d letters and digits", ErrInvalidIdentifier, minCardLen, maxCardLen)
		}
		return Identifier{Kind: kind, Value: v}, nil
	case IdentifierEmail:
		v := strings.ToLower(raw)
		local, host, ok := strings.Cut(v, "@")
		if !ok || local == "" || host == "" || strings.Contains(host, "@") || len(v) > maxEmailLen ||
			strings.ContainsAny(v, " \t\r\n") {
			return Identifier{}, fmt.Errorf("%w: not an email address", ErrInvalidIdentifier)
		}
		return Identifier{Kind: kind, Value: v}, nil
	case IdentifierPhone:
		v := dropAll(raw, " -.()/")
		if strings.HasPrefix(v, "00") {
			v = "+" + v[2:]
		}
		digits, ok := strings.CutPrefix(v, "+")
		if !ok || len(digits) < minPhoneDigits || len(digits) > maxPhoneDigits || !allOf(digits, isDigit) || digits[0] == '0' {
			return Identifier{}, fmt.Errorf("%w: a phone number is international: + (or 00), the country code and the number, %d to %d digits",
				ErrInvalidIdentifier, minPhoneDigits, maxPhoneDigits)
		}
		return Identifier{Kind: kind, Value: v}, nil
	}
	return Identifier{}, fmt.Errorf("%w: unknown kind %q", ErrInvalidIdentifier, kind)
}

// MemberRef is what a POS member reference names: a member id, an identifier, or
// nothing the ledger can read.
type MemberRef struct {
	// MemberID is set when the reference is a member id (canonical UUID).
	MemberID string
	// Identifier is set when the reference is an identifier.
	Identifier Identifier
}

// ParseMemberRef reads a POS member reference: a UUID is a member id; "card:",
// "email:" or "phone:" followed by a value is that identifier; any other value is tried
// as a card number (tills scan cards). ok is false for "" and for what is no valid
// identifier of the kind it claims.
func ParseMemberRef(ref string) (MemberRef, bool) {
	if ref == "" {
		return MemberRef{}, false
	}
	if id, ok := CanonicalUUID(ref); ok {
		return MemberRef{MemberID: id}, true
	}
	kind, value := IdentifierCard, ref
	if k, v, ok := strings.Cut(ref, ":"); ok {
		switch IdentifierKind(strings.ToLower(k)) {
		case IdentifierCard, IdentifierEmail, IdentifierPhone:
			kind, value = IdentifierKind(strings.ToLower(k)), v
		}
	}
	id, err := ParseIdentifier(kind, value)
	if err != nil {
		return MemberRef{}, false
	}
	return MemberRef{Identifier: id}, true
}

// NameInitial is the first letter of a name, upper-cased, for a till's greeting; "" for
// an empty name.
func NameInitial(name string) string {
	for _, r := range strings.TrimSpace(name) {
		return strings.ToUpper(string(r))
	}
	return ""
}

// TillView is what a till learns of a member it looked up: nothing that identifies the
// person.
type TillView struct {
	MemberID    string
	Tier        string
	Available   int64
	NameInitial string
}

// Profile is a member as staff see it: with identifiers, tags and attributes.
type Profile struct {
	Member      Member
	Identifiers []Identifier
	Tags        []string
	Attributes  map[string]string
}

// Enrolled is what an enrolment answers: the member, and the unclaimed purchases its
// identifiers named, which the member may claim.
type Enrolled struct {
	Member    Member
	Claimable []ClaimableReceipt
}

// ClaimableReceipt is an unmatched purchase a member may claim until ClaimableUntil.
type ClaimableReceipt struct {
	Key            PurchaseKey
	OccurredAt     time.Time
	Currency       string
	TotalMinor     int64
	ClaimableUntil time.Time
}

func dropAll(s, chars string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(chars, r) {
			return -1
		}
		return r
	}, s)
}

func allOf(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }

// FieldError is a request field the domain refused, and why; errors.Is sees through
// Err to its kind (ErrInvalidFilter, say).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ParseIdentifiers normalises identifiers as written (ParseIdentifier), drops
// duplicates and sorts them, so that two requests naming the same identifiers hash
// the same. A refused one is a *FieldError naming field[i].
func ParseIdentifiers(field string, raw []Identifier) ([]Identifier, error) {
	out := make([]Identifier, 0, len(raw))
	for i, r := range raw {
		id, err := ParseIdentifier(r.Kind, r.Value)
		if err != nil {
			return nil, &FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Err: err}
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b Identifier) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

// Masked is the identifier as the audit log keeps it: the audit log is append-only and
// outlives an erasure, so it never holds a full email or phone. A card keeps its last
// four characters, an email its first letter and domain, a phone its last three digits.
func (i Identifier) Masked() Identifier {
	v := i.Value
	switch i.Kind {
	case IdentifierEmail:
		local, host, _ := strings.Cut(v, "@")
		v = local[:1] + "***@" + host
	case IdentifierCard:
		v = "***" + v[max(0, len(v)-4):]
	default:
		v = "***" + v[max(0, len(v)-3):]
	}
	return Identifier{Kind: i.Kind, Value: v}
}
