package app

import (
	"context"
	"time"

	"github.com/treue/treue/services/ledger/internal/domain"
)

// Store is the ledger's persistence: reads, and writes inside one transaction.
type Store interface {
	// InTx runs fn in one database transaction, committed when fn returns nil. Called
	// with a transaction already open in ctx (an event consumer's batch), it joins it.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Member returns domain.ErrMemberNotFound for an unknown id; an erased member is
	// returned with ErasedAt set.
	Member(ctx context.Context, id string) (domain.Member, error)
	// Balance returns domain.ErrMemberNotFound for an unknown id.
	Balance(ctx context.Context, memberID string) (domain.Balance, error)
	// Transactions returns the member's transactions with their postings, newest first
	// (ids are UUIDv7: their order is creation order), strictly older than after when it
	// is not nil.
	Transactions(ctx context.Context, memberID string, after *Cursor, limit int) ([]domain.Transaction, error)
	// Holds, Purchases and Returns return all of the member's, oldest first; Unmatched
	// the purchases that named the member but were not credited to them.
	Holds(ctx context.Context, memberID string) ([]domain.Hold, error)
	Purchases(ctx context.Context, memberID string) ([]domain.Purchase, error)
	Returns(ctx context.Context, memberID string) ([]domain.Return, error)
	Unmatched(ctx context.Context, memberID string) ([]domain.Purchase, error)
	MembersStore
	OpsStore
	TiersStore
	EarnStore
}

// Cursor is a position in a member's history: the last transaction of a page.
type Cursor struct {
	ID string
}

// Tx is what a use case may do inside one database transaction. Methods taking a slice
// do their work in one round trip.
type Tx interface {
	LotsTx
	GoodwillTx
	TiersTx
	EarnTx
	// InsertMember enrols m and opens its accounts unless a member was already enrolled
	// with key; then it returns that member and the hash of its request instead ("" once
	// the member is erased). A member inserted is returned as stored: with m's referral
	// code, or another fresh one when m's was taken.
	InsertMember(ctx context.Context, m domain.Member, key, requestHash string) (inserted bool, existing domain.Member, existingHash string, err error)
	// LockMember locks the member's row; domain.ErrMemberNotFound for an unknown id.
	LockMember(ctx context.Context, id string) (domain.Member, error)
	// SaveErasure stores an erased member as m says and forgets the hash of its
	// enrolment request (it was computed from the name and email).
	SaveErasure(ctx context.Context, m domain.Member) error
	// LockMembers locks the available accounts of the enrolled members among ids, in
	// account order (so that concurrent writers cannot deadlock), and returns their
	// balances by member id. Unknown and erased members are absent: the ledger books
	// nothing more for a member who asked to leave.
	LockMembers(ctx context.Context, ids []string) (map[string]int64, error)

	// Apply writes transactions with their postings and moves the stored balances of the
	// member accounts they touch. Their idempotency keys must be new (the caller's own
	// business keys guard them): a key used before fails the database transaction, and
	// so does a member balance that would go below zero.
	Apply(ctx context.Context, txs []domain.Transaction) error
	// ApplyOnce is Apply for transactions whose idempotency key alone guards them: those
	// whose key was used before are skipped. It returns those it wrote.
	ApplyOnce(ctx context.Context, txs []domain.Transaction) ([]domain.Transaction, error)
	// Emit writes events to the outbox, to be published once the transaction commits.
	Emit(ctx context.Context, events ...domain.Event) error
	// Audit appends administrative changes to the audit log, in the same transaction as
	// the change itself.
	Audit(ctx context.Context, entries ...domain.AuditEntry) error

	// InsertPurchases records purchases not recorded before, with the points returned
	// by returns booked before them, and returns those by key.
	InsertPurchases(ctx context.Context, ps []domain.Purchase) (fresh map[domain.PurchaseKey]int64, err error)
	// LockPurchases returns the recorded purchases among keys, locked.
	LockPurchases(ctx context.Context, keys []domain.PurchaseKey) (map[domain.PurchaseKey]domain.Purchase, error)
	// SetPointsReturned stores how many points returns took back from purchases.
	SetPointsReturned(ctx context.Context, returned map[domain.PurchaseKey]int64) error
	// InsertUnmatched keeps purchases whose member is unknown, to be claimed later.
	InsertUnmatched(ctx context.Context, ps []domain.Purchase) error
	// InsertReturns records returns not recorded before and returns their keys.
	InsertReturns(ctx context.Context, rs []domain.Return) (fresh map[domain.ReturnKey]bool, err error)
	// SaveReturnOutcomes stores what booking the returns did.
	SaveReturnOutcomes(ctx context.Context, rs []domain.Return) error

	// InsertHold places h unless a hold was placed with key before; then it returns that
	// hold instead.
	InsertHold(ctx context.Context, h domain.Hold, key string) (inserted bool, existing domain.Hold, err error)
	// LockHolds locks the holds with these ids, in id order, and returns them by id; an
	// unknown id is missing from the map.
	LockHolds(ctx context.Context, ids []string) (map[string]domain.Hold, error)
	// LockExpiredHolds returns up to limit placed holds past their expiry at now, skipping
	// those another transaction has locked.
	LockExpiredHolds(ctx context.Context, now time.Time, limit int) ([]domain.Hold, error)
	// SaveHolds stores the status of holds.
	SaveHolds(ctx context.Context, hs []domain.Hold) error
	MembersTx
	OpsTx
}
