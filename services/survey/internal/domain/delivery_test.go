package domain

import (
	"errors"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestQuietHoursAcrossMidnight(t *testing.T) {
	q, err := ParseQuietHours("21:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	berlin := mustLoc(t, "Europe/Berlin")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ due, want string }{
		{"2026-06-10 12:00", "2026-06-10 12:00"}, // day: at once
		{"2026-06-10 20:59", "2026-06-10 20:59"},
		{"2026-06-10 21:00", "2026-06-11 08:00"}, // evening: next morning
		{"2026-06-10 23:30", "2026-06-11 08:00"},
		{"2026-06-11 00:10", "2026-06-11 08:00"}, // after midnight: this morning
		{"2026-06-11 07:59", "2026-06-11 08:00"},
		{"2026-06-11 08:00", "2026-06-11 08:00"},
		{"2026-12-31 22:00", "2027-01-01 08:00"}, // across the year
		// DST: the night clocks go forward (29 March 2026, 02:00 -> 03:00) is an hour shorter.
		{"2026-03-28 22:00", "2026-03-29 08:00"},
		// and the night they go back (25 October 2026) an hour longer.
		{"2026-10-24 22:00", "2026-10-25 08:00"},
	} {
		got := q.SendAt(at(c.due).UTC(), berlin)
		if want := at(c.want); !got.Equal(want) {
			t.Errorf("due %s: send at %s, want %s", c.due, got.In(berlin), want)
		}
	}
	// The DST nights in hours of real time.
	if d := q.SendAt(at("2026-03-28 21:00"), berlin).Sub(at("2026-03-28 21:00")); d != 10*time.Hour {
		t.Errorf("spring night lasts %v, want 10h", d)
	}
	if d := q.SendAt(at("2026-10-24 21:00"), berlin).Sub(at("2026-10-24 21:00")); d != 12*time.Hour {
		t.Errorf("autumn night lasts %v, want 12h", d)
	}
}

func TestQuietHoursEndInDSTGap(t *testing.T) {
	// Quiet until 02:30 in Berlin: on 29 March 2026 02:30 does not exist; the window ends at
	// the wall clock after the gap (03:30 CEST, one hour of real time after 01:30 CET).
	q, _ := ParseQuietHours("22:00-02:30")
	berlin := mustLoc(t, "Europe/Berlin")
	due := time.Date(2026, 3, 29, 1, 0, 0, 0, berlin)
	got := q.SendAt(due, berlin)
	if got.Before(due) || got.In(berlin).Hour() != 3 || got.In(berlin).Minute() != 30 {
		t.Fatalf("send at %s", got.In(berlin))
	}
}

func TestQuietHoursWithinDayAndTimeZones(t *testing.T) {
	q, _ := ParseQuietHours("12:00-14:00")
	utc := time.Date(2026, 6, 10, 11, 0, 0, 0, time.UTC)
	// 11:00 UTC is 13:00 in Berlin (quiet) and 07:00 in New York (not).
	if got := q.SendAt(utc, mustLoc(t, "Europe/Berlin")); !got.Equal(time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("Berlin: %s", got)
	}
	if got := q.SendAt(utc, mustLoc(t, "America/New_York")); !got.Equal(utc) {
		t.Errorf("New York: %s", got)
	}
	if got := q.SendAt(utc, nil); !got.Equal(utc) {
		t.Errorf("nil location (UTC) 11:00: %s", got)
	}
	off, _ := ParseQuietHours("off")
	if got := off.SendAt(utc, time.UTC); !got.Equal(utc) || off.String() != "off" {
		t.Errorf("off: %s %s", got, off)
	}
}

func TestParseQuietHoursRefuses(t *testing.T) {
	for _, s := range []string{"21-08", "25:00-08:00", "21:00", "21:0-08:00", "aa:bb-cc:dd", "21:00-08:60"} {
		if _, err := ParseQuietHours(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	q, err := ParseQuietHours(" 21:30-07:15 ")
	if err != nil || q.String() != "21:30-07:15" {
		t.Errorf("%v %v", q, err)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: time.Minute, 1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 7: time.Hour, 100: time.Hour} {
		if got := Backoff(n, time.Minute, time.Hour); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestChannelFor(t *testing.T) {
	all := []DeliveryChannel{ChannelEmail, ChannelWebhook, ChannelNone}
	for _, c := range []struct {
		chs                          []DeliveryChannel
		hasEmail, emailOn, webhookOn bool
		want                         DeliveryChannel
		ok                           bool
	}{
		{all, true, true, true, ChannelEmail, true},
		{all, false, true, true, ChannelWebhook, true},
		{all, true, false, false, ChannelNone, true},
		{nil, true, true, false, ChannelEmail, true},
		{[]DeliveryChannel{ChannelEmail}, false, true, true, "", false},
		{[]DeliveryChannel{ChannelWebhook, ChannelEmail}, true, true, true, ChannelWebhook, true},
	} {
		got, ok := ChannelFor(c.chs, c.hasEmail, c.emailOn, c.webhookOn)
		if got != c.want || ok != c.ok {
			t.Errorf("%v email=%v/%v webhook=%v: %q %v", c.chs, c.hasEmail, c.emailOn, c.webhookOn, got, ok)
		}
	}
}

func TestUnsubscribeTokensAreNotSurveyTokens(t *testing.T) {
	links, _ := NewLinkSigner([]byte("0123456789abcdef0123456789abcdef"))
	unsub := NewUnsubscribeSigner(links)
	id := [16]byte{1, 2, 3}
	now := time.Now()
	exp := now.Add(time.Hour)
	u := unsub.Sign(id, exp)
	s := links.Sign(id, exp)
	if u == s {
		t.Fatal("same token for both purposes")
	}
	if c, err := unsub.Verify(u, now); err != nil || c.InvitationID != id {
		t.Fatalf("unsubscribe token: %v", err)
	}
	if _, err := links.Verify(u, now); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("unsubscribe token as a survey token: %v", err)
	}
	if _, err := unsub.Verify(s, now); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("survey token as an unsubscribe token: %v", err)
	}
}
