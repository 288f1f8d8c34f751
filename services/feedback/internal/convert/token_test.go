package convert

import (
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/feedback/internal/app"
)

func TestPageTokenRoundTrip(t *testing.T) {
	c := app.Cursor{OpenedAt: time.Date(2026, 5, 4, 3, 2, 1, 123456000, time.UTC), CaseID: "0190d4a4-5b7e-7c3a-9f00-0123456789ab"}
	got, err := decodePageToken(encodePageToken(c))
	if err != nil || got == nil || !got.OpenedAt.Equal(c.OpenedAt) || got.CaseID != c.CaseID {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, c)
	}
	for _, bad := range []string{"!!", "AQ", encodePageToken(c)[:10], "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := decodePageToken(bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
	// One token, one spelling: the last character's unused bits must be zero.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	token := encodePageToken(c)
	last := strings.IndexByte(alphabet, token[len(token)-1])
	other := token[:len(token)-1] + string(alphabet[last^1])
	if _, err := decodePageToken(other); err == nil {
		t.Errorf("token %q, another spelling of %q, accepted", other, token)
	}
	if got, err := decodePageToken(""); got != nil || err != nil {
		t.Errorf("empty token = %v, %v; want the first page", got, err)
	}
}
