package app

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// AddIdentifier gives a member a card, email or phone a till may name them by.
type AddIdentifier struct{ *base }

// Handle adds id (as written) to the member and returns it normalised, with the
// unclaimed purchases it named within the claim window. An identifier another member
// holds is a *domain.IdentifierTakenError; one the member holds already is returned
// again and audited once. An unknown or erased member is domain.ErrMemberNotFound.
func (u *AddIdentifier) Handle(ctx context.Context, actor domain.Actor, memberID string, raw domain.Identifier) (domain.Identifier, []domain.ClaimableReceipt, error) {
	id, err := domain.ParseIdentifier(raw.Kind, raw.Value)
	if err != nil {
		return domain.Identifier{}, nil, &domain.FieldError{Field: "identifier.value", Err: err}
	}
	var claimable []domain.ClaimableReceipt
	err = u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		p, err := lockActiveProfile(ctx, tx, memberID)
		if err != nil {
			return err
		}
		if !slices.Contains(p.Identifiers, id) {
			if err := tx.InsertIdentifiers(ctx, p.Member.ID, []domain.Identifier{id}, u.clock()); err != nil {
				return err
			}
			if err := u.audit(ctx, tx, actor, "identifier.add", "member", p.Member.ID, nil, id.Masked(), ""); err != nil {
				return err
			}
			if err := u.contactChanged(ctx, tx, p, id, true); err != nil {
				return err
			}
		}
		claimable, err = u.claimable(ctx, tx, []domain.Identifier{id})
		return err
	})
	if err != nil {
		return domain.Identifier{}, nil, err
	}
	return id, claimable, nil
}

// claimable is the unclaimed purchases that named ids within the claim window.
func (b *base) claimable(ctx context.Context, tx Tx, ids []domain.Identifier) ([]domain.ClaimableReceipt, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rs, err := tx.ClaimableReceipts(ctx, ids, b.clock().Add(-b.cfg.ClaimWindow))
	for i := range rs {
		rs[i].ClaimableUntil = rs[i].OccurredAt.Add(b.cfg.ClaimWindow)
	}
	return rs, err
}

// RemoveIdentifier takes an identifier from a member (a lost card).
type RemoveIdentifier struct{ *base }

// Handle removes id from the member; domain.ErrIdentifierNotFound when they do not hold
// it.
func (u *RemoveIdentifier) Handle(ctx context.Context, actor domain.Actor, memberID string, raw domain.Identifier, note string) error {
	id, err := domain.ParseIdentifier(raw.Kind, raw.Value)
	if err != nil {
		return &domain.FieldError{Field: "identifier.value", Err: err}
	}
	return u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		p, err := lockActiveProfile(ctx, tx, memberID)
		if err != nil {
			return err
		}
		if err := tx.DeleteIdentifier(ctx, p.Member.ID, id); err != nil {
			return err
		}
		if err := u.audit(ctx, tx, actor, "identifier.remove", "member", p.Member.ID, id.Masked(), nil, note); err != nil {
			return err
		}
		return u.contactChanged(ctx, tx, p, id, false)
	})
}

// contactChanged announces the member as they are after id was added to (or removed
// from) the profile p read before, when id is an email or phone: services that reach the
// member keep their copy of these.
func (b *base) contactChanged(ctx context.Context, tx Tx, p domain.Profile, id domain.Identifier, added bool) error {
	if id.Kind != domain.IdentifierEmail && id.Kind != domain.IdentifierPhone {
		return nil
	}
	ids := slices.DeleteFunc(slices.Clone(p.Identifiers), func(x domain.Identifier) bool { return x == id })
	if added {
		ids = append(ids, id)
		slices.SortFunc(ids, func(a, b domain.Identifier) int {
			return strings.Compare(string(a.Kind)+"\x00"+a.Value, string(b.Kind)+"\x00"+b.Value)
		})
	}
	p.Identifiers = ids
	return tx.Emit(ctx, domain.MemberUpdatedOf(p, b.clock()))
}

// lockActiveProfile locks a member who was not erased.
func lockActiveProfile(ctx context.Context, tx Tx, memberID string) (domain.Profile, error) {
	id, ok := domain.CanonicalUUID(memberID)
	if !ok {
		return domain.Profile{}, domain.ErrMemberNotFound
	}
	p, err := tx.LockProfile(ctx, id)
	if err == nil && p.Member.Erased() {
		err = domain.ErrMemberNotFound
	}
	return p, err
}

// LookupMember finds a member by identifier for a till.
type LookupMember struct{ *base }

// Handle returns what a till may learn of the member holding id (as written), or
// domain.ErrIdentifierNotFound.
func (u *LookupMember) Handle(ctx context.Context, raw domain.Identifier) (domain.TillView, error) {
	id, err := domain.ParseIdentifier(raw.Kind, raw.Value)
	if err != nil {
		return domain.TillView{}, &domain.FieldError{Field: "identifier.value", Err: err}
	}
	return u.store.LookupIdentifier(ctx, id)
}

// SearchMembers pages through members for staff.
type SearchMembers struct{ *base }

// maxSearchPage is the largest page of SearchMembers.
const maxSearchPage = 200

// Handle returns a page of at most pageSize (default 50, at most 200) members that the
// query matches, in enrolment order, and the token of the next page ("" at the end). A
// token this API did not return is domain.ErrInvalidPageToken.
func (u *SearchMembers) Handle(ctx context.Context, query string, pageSize int, token string) ([]domain.Profile, string, error) {
	if pageSize <= 0 {
		pageSize = defaultPageSize
	}
	pageSize = min(pageSize, maxSearchPage)
	var after string
	if token != "" {
		c, err := decodeCursor(token, searchFilter(query))
		if err != nil {
			return nil, "", err
		}
		after = c.ID
	}
	ps, err := u.store.SearchMembers(ctx, memberQuery(query), after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(ps) > pageSize {
		ps = ps[:pageSize]
		next = encodeCursor(Cursor{ID: ps[pageSize-1].Member.ID}, searchFilter(query))
	}
	return ps, next, nil
}

// memberQuery reads a search: the text as typed for names and emails, and the prefix
// each identifier kind would normalise it to (a partial card, email or phone is no
// valid identifier, so the normalisation is the kinds' without their checks).
func memberQuery(q string) MemberQuery {
	q = strings.TrimSpace(q)
	if q == "" {
		return MemberQuery{}
	}
	drop := func(s, chars string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(chars, r) {
				return -1
			}
			return r
		}, s)
	}
	phone := drop(q, " -.()/")
	if strings.HasPrefix(phone, "00") {
		phone = "+" + phone[2:]
	}
	prefixes := []string{strings.ToUpper(drop(q, " -")), strings.ToLower(q), phone}
	slices.Sort(prefixes)
	return MemberQuery{Text: strings.ToLower(q), IdentifierPrefixes: slices.Compact(prefixes)}
}

// GetMemberProfile reads a member with their identifiers, tags and attributes.
type GetMemberProfile struct{ *base }

// Handle returns the profile, or domain.ErrMemberNotFound.
func (u *GetMemberProfile) Handle(ctx context.Context, memberID string) (domain.Profile, error) {
	id, ok := domain.CanonicalUUID(memberID)
	if !ok {
		return domain.Profile{}, domain.ErrMemberNotFound
	}
	return u.store.Profile(ctx, id)
}

// UpdateMember changes a member's name, locale, tags or attributes.
type UpdateMember struct{ *base }

// MemberUpdate is what UpdateMember changes: only the fields Mask names.
type MemberUpdate struct {
	Mask        []string
	DisplayName string
	Locale      string
	Tags        []string
	Attributes  map[string]string
	TimeZone    string
	Note        string
}

// Handle applies the update and returns the profile after it. An erased member cannot
// be changed (domain.ErrMemberNotFound).
func (u *UpdateMember) Handle(ctx context.Context, actor domain.Actor, memberID string, up MemberUpdate) (domain.Profile, error) {
	var after domain.Profile
	err := u.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		p, err := lockActiveProfile(ctx, tx, memberID)
		if err != nil {
			return err
		}
		before := auditedProfile(p)
		for _, field := range up.Mask {
			switch field {
			case "display_name":
				if strings.TrimSpace(up.DisplayName) == "" {
					return &domain.FieldError{Field: "display_name", Err: errors.New("must not be empty")}
				}
				p.Member.DisplayName = strings.TrimSpace(up.DisplayName)
			case "locale":
				p.Member.Locale = up.Locale
				if p.Member.Locale == "" {
					p.Member.Locale = domain.DefaultLocale
				}
			case "tags":
				p.Tags = slices.Compact(slices.Sorted(slices.Values(up.Tags)))
			case "attributes":
				p.Attributes = maps.Clone(up.Attributes)
			case "time_zone":
				tz := strings.TrimSpace(up.TimeZone)
				if err := domain.CheckTimeZone(tz); err != nil {
					return &domain.FieldError{Field: "time_zone", Err: err}
				}
				p.Member.TimeZone = tz
			default:
				return &domain.FieldError{Field: "update_mask", Err: errors.New("unknown field " + field)}
			}
		}
		if p.Tags == nil {
			p.Tags = []string{}
		}
		if p.Attributes == nil {
			p.Attributes = map[string]string{}
		}
		if err := tx.SaveProfile(ctx, p); err != nil {
			return err
		}
		after = p
		if err := u.audit(ctx, tx, actor, "member.update", "member", p.Member.ID, before, auditedProfile(p), up.Note); err != nil {
			return err
		}
		return tx.Emit(ctx, domain.MemberUpdatedOf(p, u.clock()))
	})
	return after, err
}

// auditedProfile is a profile as the audit log keeps it: the audit log outlives an
// erasure, so the name is reduced to a fingerprint that tells a change apart.
func auditedProfile(p domain.Profile) any {
	return struct {
		Name       string            `json:"display_name_sha256"`
		Locale     string            `json:"locale"`
		Tags       []string          `json:"tags"`
		Attributes map[string]string `json:"attributes"`
		TimeZone   string            `json:"time_zone,omitempty"`
	}{domain.RequestHash(p.Member.ID, p.Member.DisplayName)[:16], p.Member.Locale, p.Tags, p.Attributes, p.Member.TimeZone}
}

// exportMemberData adds what the members' area keeps to a member's export: identifiers,
// tags, attributes and the consent history with its evidence.
func exportMemberData(ctx context.Context, store Store, x *domain.MemberExport) error {
	var err error
	if x.Profile, err = store.Profile(ctx, x.Member.ID); err != nil {
		return err
	}
	x.Consents, err = store.Consents(ctx, x.Member.ID)
	return err
}

// searchFilter binds a search's page tokens to its query.
type searchFilter string

func (q searchFilter) Fingerprint() string { return domain.RequestHash("search", string(q))[:16] }
func (q searchFilter) Empty() bool         { return false }
