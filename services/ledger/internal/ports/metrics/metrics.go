// Package metrics is the ledger's business counters. The ports count what a use case
// returned it did; telemetry.Counter holds the count back until the transaction commits,
// so a rolled-back batch counts nothing and a redelivered event (skipped by the inbox)
// is not counted twice.
package metrics

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/treue/treue/pkg/telemetry"
)

var (
	purchasesBooked = telemetry.NewCounter("treue.ledger.purchases.booked",
		"POS purchases booked for the first time (member, unmatched or anonymous).", "{purchase}")
	returnsBooked = telemetry.NewCounter("treue.ledger.returns.booked",
		"POS returns booked for the first time.", "{return}")
	pointsIssued = telemetry.NewCounter("treue.ledger.points.issued",
		"Points credited to members, by reason (purchase, survey_bonus).", "{point}")
	pointsReturned = telemetry.NewCounter("treue.ledger.points.returned",
		"Points taken back from members by returns.", "{point}")
	pointsRedeemed = telemetry.NewCounter("treue.ledger.points.redeemed",
		"Points redeemed: holds captured.", "{point}")
	holdsExpired = telemetry.NewCounter("treue.ledger.holds.expired",
		"Holds voided at their expiry (their points went back to the member).", "{hold}")
)

// Reasons of points issued.
const (
	ReasonPurchase    = "purchase"
	ReasonSurveyBonus = "survey_bonus"
	ReasonGoodwill    = "goodwill"
)

// PurchasesBooked counts n purchases booked that credited points.
func PurchasesBooked(ctx context.Context, n int, points int64) {
	purchasesBooked.Add(ctx, int64(n))
	pointsIssued.Add(ctx, points, attribute.String("reason", ReasonPurchase))
}

// ReturnsBooked counts n returns booked that took points back.
func ReturnsBooked(ctx context.Context, n int, points int64) {
	returnsBooked.Add(ctx, int64(n))
	pointsReturned.Add(ctx, points)
}

// SurveyBonusCredited counts survey bonus points credited.
func SurveyBonusCredited(ctx context.Context, points int64) {
	pointsIssued.Add(ctx, points, attribute.String("reason", ReasonSurveyBonus))
}

// GoodwillBooked counts goodwill points booked.
func GoodwillBooked(ctx context.Context, points int64) {
	pointsIssued.Add(ctx, points, attribute.String("reason", ReasonGoodwill))
}

// PointsRedeemed counts points of holds captured.
func PointsRedeemed(ctx context.Context, points int64) { pointsRedeemed.Add(ctx, points) }

// HoldsExpired counts holds voided at their expiry.
func HoldsExpired(ctx context.Context, n int) { holdsExpired.Add(ctx, int64(n)) }
