package app

import (
	"context"
	"maps"
	"slices"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// namedMembers resolves the member each POS member reference names (domain.ParseMemberRef):
// a member id stands for itself, an identifier for the member holding it, looked up for
// the whole batch in one statement. References that name no one are absent. Whether the
// member may still be booked for is LockMembers' to say.
func namedMembers(ctx context.Context, tx Tx, refs []string) (map[string]string, error) {
	named := make(map[string]string, len(refs))
	byIdentifier := map[domain.Identifier][]string{}
	for _, ref := range refs {
		if _, done := named[ref]; done {
			continue
		}
		r, ok := domain.ParseMemberRef(ref)
		switch {
		case !ok:
		case r.MemberID != "":
			named[ref] = r.MemberID
		default:
			byIdentifier[r.Identifier] = append(byIdentifier[r.Identifier], ref)
		}
	}
	if len(byIdentifier) == 0 {
		return named, nil
	}
	held, err := tx.ResolveIdentifiers(ctx, slices.Collect(maps.Keys(byIdentifier)))
	if err != nil {
		return nil, err
	}
	for id, member := range held {
		for _, ref := range byIdentifier[id] {
			named[ref] = member
		}
	}
	return named, nil
}

// memberIDs are the distinct members of named.
func memberIDs(named map[string]string) []string {
	ids := slices.Sorted(maps.Values(named))
	return slices.Compact(ids)
}
