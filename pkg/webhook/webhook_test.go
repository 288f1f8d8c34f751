package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/pkg/webhook"
)

// The example of the Standard Webhooks specification's reference libraries.
func TestSignMatchesTheSpecificationsExample(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sig, err := webhook.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Errorf("signature %s, want %s", sig, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Now()
	s1, _ := webhook.NewSecret()
	s2, _ := webhook.NewSecret()
	if !strings.HasPrefix(s1, "whsec_") || s1 == s2 {
		t.Fatalf("secrets %q %q", s1, s2)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(s1, "whsec_"))
	if len(raw) != 24 {
		t.Errorf("secret of %d bytes, want 24", len(raw))
	}
	body := []byte(`{"type":"x"}`)
	h := http.Header{}
	if err := webhook.Headers(h, []string{s1, s2}, "evt-1", now, body); err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get(webhook.HeaderSignature))); n != 2 {
		t.Errorf("%d signatures, want 2", n)
	}
	for _, s := range []string{s1, s2} {
		if id, err := webhook.Verify(s, h, body, now, webhook.DefaultTolerance); err != nil || id != "evt-1" {
			t.Errorf("verify = %q, %v", id, err)
		}
	}
	// An independent computation of the one signature.
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("evt-1." + h.Get(webhook.HeaderTimestamp) + "." + string(body)))
	if want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)); strings.Fields(h.Get(webhook.HeaderSignature))[0] != want {
		t.Errorf("signature %s, want %s", h.Get(webhook.HeaderSignature), want)
	}
	other, _ := webhook.NewSecret()
	if _, err := webhook.Verify(other, h, body, now, webhook.DefaultTolerance); !errors.Is(err, webhook.ErrNoMatch) {
		t.Errorf("another secret: %v", err)
	}
	if _, err := webhook.Verify(s1, h, []byte(`{"type":"y"}`), now, webhook.DefaultTolerance); !errors.Is(err, webhook.ErrNoMatch) {
		t.Errorf("another body: %v", err)
	}
	if _, err := webhook.Verify(s1, h, body, now.Add(10*time.Minute), webhook.DefaultTolerance); !errors.Is(err, webhook.ErrTimestamp) {
		t.Errorf("late: %v", err)
	}
	if _, err := webhook.Verify(s1, http.Header{}, body, now, webhook.DefaultTolerance); !errors.Is(err, webhook.ErrMissingHeaders) {
		t.Errorf("no headers: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1614265330, 0)
	f.Add("msg_1", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("", "", "", []byte{})
	f.Add("a", "-99999999999999999999", "v1, v2,x v1,,,", []byte("x"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		got, err := webhook.Verify(secret, h, body, now, webhook.DefaultTolerance)
		if err != nil {
			return
		}
		// Whatever passes carries the true signature of (id, timestamp, body).
		unix, perr := strconv.ParseInt(h.Get(webhook.HeaderTimestamp), 10, 64)
		if perr != nil || got != h.Get(webhook.HeaderID) {
			t.Fatalf("accepted id %q timestamp %q", got, ts)
		}
		good, _ := webhook.Sign(secret, got, time.Unix(unix, 0), body)
		wantMAC, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(good, "v1,"))
		for _, f := range strings.Fields(h.Get(webhook.HeaderSignature)) {
			if b, ok := strings.CutPrefix(f, "v1,"); ok {
				if m, err := base64.StdEncoding.DecodeString(b); err == nil && hmac.Equal(m, wantMAC) {
					return
				}
			}
		}
		t.Fatalf("accepted %q for id %q ts %q body %q; the signature is %s", sig, id, ts, body, good)
	})
}
