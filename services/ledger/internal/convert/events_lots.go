package convert

import (
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	"github.com/treue/treue/services/ledger/internal/domain"
)

func pointsExpiringSoon(e domain.PointsExpiringSoon) *ledgerv1.PointsExpiringSoon {
	return &ledgerv1.PointsExpiringSoon{
		MemberId: e.MemberID, Points: e.Points, ExpiresAt: Timestamp(e.ExpiresAt), NotifiedAt: Timestamp(e.NotifiedAt),
	}
}
