package app_test

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// The in-memory store keeps no referral codes or follow-ups: the closed loop is tested
// on Postgres (service/loop_test.go).

func (s *fakeStore) ReferralCodes(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}

func (s *fakeStore) FollowUps(context.Context, []string) (map[string]domain.FollowUp, error) {
	return map[string]domain.FollowUp{}, nil
}

func (t *fakeTx) ReferralCodes(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}

func (t *fakeTx) SaveReferralCodes(context.Context, []domain.ReferralCode) error { return nil }

func (t *fakeTx) ForgetReferralCodes(context.Context, []string) error { return nil }

func (t *fakeTx) AddFollowUps(context.Context, []domain.FollowUp) ([]domain.FollowUp, error) {
	return nil, nil
}
