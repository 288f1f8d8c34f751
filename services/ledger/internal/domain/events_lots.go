package domain

import "time"

// PointsExpiringSoon: a member's points of lots that expire at ExpiresAt will expire
// unless spent; told once per lot, the lot policy's Notice before.
type PointsExpiringSoon struct {
	MemberID   string
	Points     int64
	ExpiresAt  time.Time
	NotifiedAt time.Time
}

func (PointsExpiringSoon) isEvent() {}
