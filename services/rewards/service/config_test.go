package service_test

import (
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/rewards/service"
)

func TestConfigCodeKey(t *testing.T) {
	key := strings.Repeat("ab", 32) // 32 bytes in hex
	tests := []struct {
		name, key string
		ok        bool
	}{
		{"unset: a random key per process", "", true},
		{"64 hex digits", key, true},
		{"base64 of 32 bytes", base64.StdEncoding.EncodeToString(make([]byte, 32)), true},
		{"16 bytes", strings.Repeat("ab", 16), false},
		{"base64 of 24 bytes", base64.StdEncoding.EncodeToString(make([]byte, 24)), false},
		{"a passphrase", "the rewards code key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("REWARDS_CODE_KEY", tt.key)
			cfg, err := service.LoadConfig()
			if tt.ok != (err == nil) {
				t.Fatalf("LoadConfig: %v; want ok = %v", err, tt.ok)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "REWARDS_CODE_KEY") || (len(tt.key) > 8 && strings.Contains(err.Error(), tt.key)) {
					t.Fatalf("the error %q should name REWARDS_CODE_KEY and not repeat the key", err)
				}
				return
			}
			if tt.key != "" && strings.Contains(slog.AnyValue(cfg).Resolve().String(), tt.key) {
				t.Fatal("the logged configuration shows the key")
			}
		})
	}
}

func TestConfigDefaultsAndBounds(t *testing.T) {
	t.Setenv("REWARDS_CODE_KEY", "")
	cfg, err := service.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CodeRetryWindow != 24*time.Hour || cfg.SettleAfter != 2*time.Minute || cfg.SweepInterval != 15*time.Second {
		t.Fatalf("defaults: window %s, settle after %s, sweep %s", cfg.CodeRetryWindow, cfg.SettleAfter, cfg.SweepInterval)
	}
	for name, value := range map[string]string{
		"REWARDS_CODE_RETRY_WINDOW": "200h",
		"REWARDS_SETTLE_AFTER":      "0s",
		"REWARDS_SWEEP_INTERVAL":    "-1s",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := service.LoadConfig(); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: %v; want an error naming it", name, value, err)
			}
		})
	}
}
