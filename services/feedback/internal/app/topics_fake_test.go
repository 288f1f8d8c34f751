package app_test

import (
	"context"

	"github.com/treue/treue/services/feedback/internal/domain"
)

// The fake keeps no taxonomy: these tests tag nothing.

func (*fakeTx) Topics(context.Context) ([]domain.Topic, error) { return nil, nil }

func (*fakeTx) SetTopic(_ context.Context, t domain.Topic) (domain.Topic, error) { return t, nil }

func (*fakeTx) DeleteTopic(context.Context, string) error { return domain.ErrTopicNotFound }

func (*fakeTx) SetCaseTopics(context.Context, map[string][]string) error { return nil }
