package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/treue/treue/services/feedback/internal/domain"
)

const topicColumns = `key, label_en, label_de, keywords_en, keywords_de`

func scanTopic(row pgx.CollectableRow) (domain.Topic, error) {
	var (
		t      domain.Topic
		en, de []string
	)
	err := row.Scan(&t.Key, &t.LabelEN, &t.LabelDE, &en, &de)
	t.Keywords = map[string][]string{"en": en, "de": de}
	return t, err
}

func (t Tx) Topics(ctx context.Context) ([]domain.Topic, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+topicColumns+` FROM topics ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanTopic)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	return out, nil
}

func (t Tx) SetTopic(ctx context.Context, topic domain.Topic) (domain.Topic, error) {
	en, de := topic.Keywords["en"], topic.Keywords["de"]
	if en == nil {
		en = []string{}
	}
	if de == nil {
		de = []string{}
	}
	rows, err := t.tx.Query(ctx, `
		INSERT INTO topics (key, label_en, label_de, keywords_en, keywords_de) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (key) DO UPDATE SET label_en = excluded.label_en, label_de = excluded.label_de,
			keywords_en = excluded.keywords_en, keywords_de = excluded.keywords_de, updated_at = now()
		RETURNING `+topicColumns, topic.Key, topic.LabelEN, topic.LabelDE, en, de)
	if err != nil {
		return domain.Topic{}, fmt.Errorf("set topic: %w", err)
	}
	out, err := pgx.CollectExactlyOneRow(rows, scanTopic)
	if err != nil {
		return domain.Topic{}, fmt.Errorf("set topic: %w", err)
	}
	return out, nil
}

func (t Tx) DeleteTopic(ctx context.Context, key string) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM topics WHERE key = $1`, key)
	if err != nil {
		return fmt.Errorf("delete topic: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrTopicNotFound
	}
	return nil
}

func (t Tx) SetCaseTopics(ctx context.Context, topics map[string][]string) error {
	doc, err := json.Marshal(topics)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `
		UPDATE cases c SET topics = ARRAY(SELECT jsonb_array_elements_text(v.t))
		FROM jsonb_each($1::jsonb) AS v(id, t) WHERE c.case_id = v.id::uuid`, doc)
	if err != nil {
		return fmt.Errorf("case topics: %w", err)
	}
	return nil
}
