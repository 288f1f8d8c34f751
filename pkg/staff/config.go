package staff

import (
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/treue/treue/pkg/config"
)

// Config is how staff sign-in behaves; LoadConfig reads it from the environment.
type Config struct {
	// DatabaseURL holds the auth schema (AUTH_DATABASE_URL; the service's DATABASE_URL
	// when empty).
	DatabaseURL string
	// SecureCookies sets the Secure flag on the session cookie even when the request came
	// in over plain HTTP, as it does behind a proxy that ends TLS (STAFF_SECURE_COOKIES).
	// Over TLS the flag is always set.
	SecureCookies bool
	// SessionTTL is a session's absolute lifetime (STAFF_SESSION_TTL, default 12h).
	SessionTTL time.Duration
	// IdleTimeout ends a session not used for this long (STAFF_SESSION_IDLE, default 30m).
	IdleTimeout time.Duration
	// MaxFailures locks a user name after this many failed sign-ins within LockoutWindow
	// (STAFF_LOCKOUT_FAILURES, default 5); MaxFailuresPerIP does so for a client address
	// (STAFF_LOCKOUT_IP_FAILURES, default 20).
	MaxFailures      int
	MaxFailuresPerIP int
	// LockoutWindow is how far back failures count (STAFF_LOCKOUT_WINDOW, default 15m);
	// LockoutDuration how long a lock lasts (STAFF_LOCKOUT_DURATION, default 15m).
	LockoutWindow   time.Duration
	LockoutDuration time.Duration
	// Now is the clock; nil is time.Now. Tests move it to expire sessions.
	Now func() time.Time
}

// LoadConfig reads the configuration from env. DatabaseURL is AUTH_DATABASE_URL, or ""
// when unset: the service then uses its own DATABASE_URL (filled in where the service
// is wired, so a test that replaces the service's database moves this one too).
func LoadConfig(env *config.Env) Config {
	return Config{
		DatabaseURL:      env.String("AUTH_DATABASE_URL", ""),
		SecureCookies:    env.Bool("STAFF_SECURE_COOKIES", false),
		SessionTTL:       env.Duration("STAFF_SESSION_TTL", 12*time.Hour),
		IdleTimeout:      env.Duration("STAFF_SESSION_IDLE", 30*time.Minute),
		MaxFailures:      env.Int("STAFF_LOCKOUT_FAILURES", 5),
		MaxFailuresPerIP: env.Int("STAFF_LOCKOUT_IP_FAILURES", 20),
		LockoutWindow:    env.Duration("STAFF_LOCKOUT_WINDOW", 15*time.Minute),
		LockoutDuration:  env.Duration("STAFF_LOCKOUT_DURATION", 15*time.Minute),
	}
}

// WithDefaults fills the zero fields with the defaults of LoadConfig.
func (c Config) WithDefaults() Config {
	d := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	d(&c.SessionTTL, 12*time.Hour)
	d(&c.IdleTimeout, 30*time.Minute)
	d(&c.LockoutWindow, 15*time.Minute)
	d(&c.LockoutDuration, 15*time.Minute)
	if c.MaxFailures == 0 {
		c.MaxFailures = 5
	}
	if c.MaxFailuresPerIP == 0 {
		c.MaxFailuresPerIP = 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate says which setting is out of range.
func (c Config) Validate() error {
	switch {
	case c.SessionTTL < time.Minute:
		return fmt.Errorf("configuration: STAFF_SESSION_TTL=%s is below 1m", c.SessionTTL)
	case c.IdleTimeout < time.Minute || c.IdleTimeout > c.SessionTTL:
		return fmt.Errorf("configuration: STAFF_SESSION_IDLE=%s is not between 1m and STAFF_SESSION_TTL", c.IdleTimeout)
	case c.MaxFailures < 1 || c.MaxFailuresPerIP < 1:
		return fmt.Errorf("configuration: STAFF_LOCKOUT_FAILURES and STAFF_LOCKOUT_IP_FAILURES must be at least 1")
	case c.LockoutWindow <= 0 || c.LockoutDuration <= 0:
		return fmt.Errorf("configuration: STAFF_LOCKOUT_WINDOW and STAFF_LOCKOUT_DURATION must be positive")
	}
	return nil
}

// LogValue masks the database password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.Bool("secure_cookies", c.SecureCookies),
		slog.Duration("session_ttl", c.SessionTTL),
		slog.Duration("idle_timeout", c.IdleTimeout),
		slog.Int("lockout_failures", c.MaxFailures),
		slog.Int("lockout_ip_failures", c.MaxFailuresPerIP),
		slog.Duration("lockout_window", c.LockoutWindow),
		slog.Duration("lockout_duration", c.LockoutDuration),
	)
}

func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "****")
	}
	return u.String()
}
