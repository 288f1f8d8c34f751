package app_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/treue/treue/services/reporting/internal/app"
	"github.com/treue/treue/services/reporting/internal/domain"
)

type fakeNpsReader struct {
	totals app.NpsTotals
	asked  domain.Period
}

func (f *fakeNpsReader) NpsTotals(_ context.Context, p domain.Period) (app.NpsTotals, error) {
	f.asked = p
	return f.totals, nil
}

func TestGetNps(t *testing.T) {
	now := time.Date(2026, 4, 15, 8, 0, 0, 0, time.UTC)
	r := &fakeNpsReader{totals: app.NpsTotals{
		Overall:      domain.NpsCounts{Promoters: 3, Detractors: 1},
		ByTouchpoint: []domain.NpsGroup{{Key: "WEB_VISIT"}, {Key: "PURCHASE"}},
		ByStore:      []domain.NpsGroup{{Key: "s2"}, {Key: ""}, {Key: "s1"}},
		ByDay:        []domain.NpsGroup{{Key: "2026-04-14"}, {Key: "2026-04-02"}},
	}}
	q := app.NewGetNps(r, func() time.Time { return now })

	got, err := q.Handle(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (domain.Period{From: time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)}); r.asked != want {
		t.Errorf("read period %+v, want %+v", r.asked, want)
	}
	keys := func(gs []domain.NpsGroup) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.Key)
		}
		return out
	}
	if k := keys(got.ByTouchpoint); !reflect.DeepEqual(k, []string{"PURCHASE", "WEB_VISIT"}) {
		t.Errorf("by touchpoint %v", k)
	}
	// Answers that name no store are no store's.
	if k := keys(got.ByStore); !reflect.DeepEqual(k, []string{"s1", "s2"}) {
		t.Errorf("by store %v", k)
	}
	if k := keys(got.ByDay); !reflect.DeepEqual(k, []string{"2026-04-02", "2026-04-14"}) {
		t.Errorf("by day %v, want ascending", k)
	}
	if got.Overall.Score() != 50 {
		t.Errorf("score %v, want 50", got.Overall.Score())
	}

	from, to := now, now.AddDate(0, 0, -1)
	if _, err := q.Handle(context.Background(), &from, &to); !errors.Is(err, domain.ErrPeriodReversed) {
		t.Errorf("from after to: err = %v, want ErrPeriodReversed", err)
	}
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	if _, err := app.New(app.Deps{Clock: time.Now}); err == nil {
		t.Error("New without a store succeeded")
	}
}
