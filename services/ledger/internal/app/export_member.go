package app

import (
	"context"
	"errors"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// ExportMember gathers everything the ledger holds about a member, for the right of
// access.
type ExportMember struct{ *base }

// exportPage is how many transactions one read of the history takes.
const exportPage = 500

// Handle returns the member with their balance, every transaction with its postings,
// their holds, purchases and returns, and the purchases that named them after their
// erasure. A member the ledger does not know has an empty export, not an error: holding
// nothing is an answer.
func (u *ExportMember) Handle(ctx context.Context, memberID string) (domain.MemberExport, error) {
	m, err := member(ctx, u.store, memberID)
	if errors.Is(err, domain.ErrMemberNotFound) {
		return domain.MemberExport{}, nil
	}
	if err != nil {
		return domain.MemberExport{}, err
	}
	x := domain.MemberExport{Member: &m}
	if x.Balance, err = u.store.Balance(ctx, m.ID); err != nil {
		return domain.MemberExport{}, err
	}
	var after *Cursor
	for {
		page, err := u.store.Transactions(ctx, m.ID, after, exportPage)
		if err != nil {
			return domain.MemberExport{}, err
		}
		x.Transactions = append(x.Transactions, page...)
		if len(page) < exportPage {
			break
		}
		after = &Cursor{ID: page[len(page)-1].ID}
	}
	if x.Holds, err = u.store.Holds(ctx, m.ID); err != nil {
		return domain.MemberExport{}, err
	}
	if x.Purchases, err = u.store.Purchases(ctx, m.ID); err != nil {
		return domain.MemberExport{}, err
	}
	if x.Returns, err = u.store.Returns(ctx, m.ID); err != nil {
		return domain.MemberExport{}, err
	}
	if x.Unmatched, err = u.store.Unmatched(ctx, m.ID); err != nil {
		return domain.MemberExport{}, err
	}
	if err := exportMemberData(ctx, u.store, &x); err != nil {
		return domain.MemberExport{}, err
	}
	return x, nil
}
