package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestFunnel(t *testing.T) {
	at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)) // Dec 1 in UTC
	ev := func(step FunnelStep, reason string) FunnelEvent {
		e, err := NewFunnelEvent(step, reason, at)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if _, err := NewFunnelEvent(StepSent, "", time.Time{}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("an undated step: %v", err)
	}
	if e := ev(StepSuppressed, ""); e.Reason != "UNSPECIFIED" || e.Day != time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("suppression without a reason %+v", e)
	}
	if e := ev(StepSent, "FREQUENCY_CAP"); e.Reason != "" {
		t.Errorf("only a suppression has a reason: %+v", e)
	}
	cells := TallyFunnel([]FunnelEvent{
		ev(StepCreated, ""), ev(StepCreated, ""), ev(StepSent, ""), ev(StepReminded, ""),
		ev(StepSuppressed, "NO_CONSENT"), ev(StepSuppressed, "FREQUENCY_CAP"), ev(StepSuppressed, "FREQUENCY_CAP"), ev(StepFailed, ""),
	})
	if len(cells) != 6 || cells[0].Step != StepCreated || cells[0].Count != 2 {
		t.Errorf("cells %+v", cells)
	}
	r := NewFunnelReport(Period{}, cells)
	want := FunnelReport{Created: 2, Sent: 1, Reminded: 1, Suppressed: 3, Failed: 1,
		SuppressedByReason: []FunnelReason{{"FREQUENCY_CAP", 2}, {"NO_CONSENT", 1}}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("report %+v, want %+v", r, want)
	}
}
