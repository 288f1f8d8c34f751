package convert

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/enum"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

var (
	tierBases = enum.New(map[domain.TierBasis]ledgerv1.TierBasis{
		domain.BasisRolling:      ledgerv1.TierBasis_TIER_BASIS_ROLLING,
		domain.BasisCalendarYear: ledgerv1.TierBasis_TIER_BASIS_CALENDAR_YEAR,
	})
	tierChangeReasons = enum.New(map[domain.TierChangeReason]ledgerv1.TierChangeReason{
		domain.TierUpgrade:       ledgerv1.TierChangeReason_TIER_CHANGE_REASON_UPGRADE,
		domain.TierDowngrade:     ledgerv1.TierChangeReason_TIER_CHANGE_REASON_DOWNGRADE,
		domain.TierManual:        ledgerv1.TierChangeReason_TIER_CHANGE_REASON_MANUAL,
		domain.TierManualExpired: ledgerv1.TierChangeReason_TIER_CHANGE_REASON_MANUAL_EXPIRED,
		domain.TierRedefined:     ledgerv1.TierChangeReason_TIER_CHANGE_REASON_REDEFINED,
	})
)

// tierEvent converts the tiers' domain events (nil for another event).
func tierEvent(e domain.Event) *ledgerv1.MemberTierChanged {
	c, ok := e.(domain.MemberTierChanged)
	if !ok {
		return nil
	}
	return &ledgerv1.MemberTierChanged{
		MemberId: c.MemberID, FromTier: c.From, ToTier: c.To, Reason: tierChangeReasons.Proto(c.Reason),
		EffectiveAt: Timestamp(c.EffectiveAt),
	}
}

// TierProgramme is the programme a DefineTiers request describes. An unknown basis
// stays as the request spelled it, for the domain to refuse by name.
func TierProgramme(req *ledgerv1.DefineTiersRequest) domain.TierProgramme {
	basis, ok := tierBases.Domain(req.GetBasis())
	if !ok {
		basis = domain.TierBasis(req.GetBasis().String())
	}
	p := domain.TierProgramme{Basis: basis, WindowMonths: int(req.GetWindowMonths()), Grace: req.GetGracePeriod().AsDuration()}
	for _, t := range req.GetTiers() {
		p.Tiers = append(p.Tiers, Tier(t))
	}
	return p
}

// Tier converts a tier of a request.
func Tier(t *ledgerv1.Tier) domain.Tier {
	return domain.Tier{Code: t.GetCode(), Name: t.GetName(), Rank: int(t.GetRank()), MinPoints: t.GetMinPoints(), MinSpendMinor: t.GetMinSpendMinor()}
}

// UpdatedTier is the tier an UpdateTier request describes (its rank is the stored one).
func UpdatedTier(req *ledgerv1.UpdateTierRequest) domain.Tier {
	return domain.Tier{Code: req.GetCode(), Name: req.GetName(), MinPoints: req.GetMinPoints(), MinSpendMinor: req.GetMinSpendMinor()}
}

// Programme converts the programme.
func Programme(p domain.TierProgramme) *ledgerv1.TierProgramme {
	out := &ledgerv1.TierProgramme{
		Basis: tierBases.Proto(p.Basis), WindowMonths: int32(p.WindowMonths), Currency: p.Currency,
		UpdatedAt: Timestamp(p.UpdatedAt),
	}
	if p.Defined() {
		out.GracePeriod = durationpb.New(p.Grace)
	}
	for _, t := range p.Tiers {
		out.Tiers = append(out.Tiers, &ledgerv1.Tier{
			Code: t.Code, Name: t.Name, Rank: int32(t.Rank), MinPoints: t.MinPoints, MinSpendMinor: t.MinSpendMinor,
		})
	}
	return out
}

func DefineTiersResponse(p domain.TierProgramme) *ledgerv1.DefineTiersResponse {
	return &ledgerv1.DefineTiersResponse{Programme: Programme(p)}
}

func UpdateTierResponse(p domain.TierProgramme) *ledgerv1.UpdateTierResponse {
	return &ledgerv1.UpdateTierResponse{Programme: Programme(p)}
}

func ListTiersResponse(p domain.TierProgramme) *ledgerv1.ListTiersResponse {
	return &ledgerv1.ListTiersResponse{Programme: Programme(p)}
}

// TierProgress is the member's figures and how far the next tier is.
func TierProgress(s domain.TierStatus) *ledgerv1.TierProgress {
	return &ledgerv1.TierProgress{
		NextTier: s.Progress.Next, PointsNeeded: s.Progress.PointsNeeded, SpendNeededMinor: s.Progress.SpendNeededMinor,
		QualifyingPoints: s.Figures.Points, QualifyingSpendMinor: s.Figures.SpendMinor,
	}
}

// TierStatus converts a member's standing.
func TierStatus(s domain.TierStatus) *ledgerv1.TierStatus {
	return &ledgerv1.TierStatus{
		MemberId: s.MemberID, Tier: s.Tier.Code, TierName: s.Tier.Name, Progress: TierProgress(s), Currency: s.Currency,
		PeriodStart: Timestamp(s.PeriodStart), SafeUntil: Timestamp(s.SafeUntil), ManualTier: s.ManualTier,
		ManualTierExpiresAt: Timestamp(s.ManualUntil), DowngradeDueAt: Timestamp(s.DowngradeDue),
	}
}

func SetManualTierResponse(s domain.TierStatus) *ledgerv1.SetManualTierResponse {
	return &ledgerv1.SetManualTierResponse{Status: TierStatus(s)}
}

func GetTierStatusResponse(s domain.TierStatus) *ledgerv1.GetTierStatusResponse {
	return &ledgerv1.GetTierStatusResponse{Status: TierStatus(s)}
}

// WithTierStatus fills a member's tier progress and safe-until date from their standing,
// once the programme defines tiers.
func WithTierStatus(m *ledgerv1.Member, s domain.TierStatus) {
	if !s.Defined {
		return
	}
	m.TierProgress, m.TierSafeUntil = TierProgress(s), Timestamp(s.SafeUntil)
}

// ManualUntil is a request's expiry; the zero time when absent.
func ManualUntil(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
