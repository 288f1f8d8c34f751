package service_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/treue/treue/services/survey/service"
)

func TestDeliveryConfiguration(t *testing.T) {
	t.Setenv("SURVEY_SMTP_ADDR", "smtp.example.com:587")
	t.Setenv("SURVEY_REMINDER_AFTER", "72h")
	t.Setenv("SURVEY_QUIET_HOURS", "22:00-07:30")
	t.Setenv("SURVEY_DEFAULT_TIME_ZONE", "Europe/Berlin")
	cfg, err := service.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Delivery
	if d.SMTPAddr != "smtp.example.com:587" || d.ReminderAfter.Hours() != 72 || d.MaxAttempts != service.DefaultMaxAttempts ||
		d.QuietHours != "22:00-07:30" || d.DefaultTimeZone != "Europe/Berlin" {
		t.Fatalf("%+v", d)
	}
	// The password never reaches a log.
	t.Setenv("SURVEY_SMTP_PASSWORD", "hunter2-secret")
	cfg, _ = service.LoadConfig()
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", cfg)
	if v := logged.String(); strings.Contains(v, "hunter2") || !strings.Contains(v, "smtp.example.com:587") {
		t.Fatalf("logged: %s", v)
	}

	for env, want := range map[[2]string]string{
		{"SURVEY_QUIET_HOURS", "21-8"}:                   "SURVEY_QUIET_HOURS",
		{"SURVEY_DEFAULT_TIME_ZONE", "Mars/Olympus"}:     "SURVEY_DEFAULT_TIME_ZONE",
		{"SURVEY_SMTP_TLS", "maybe"}:                     "SURVEY_SMTP_*",
		{"SURVEY_SMTP_ADDR", "no-port"}:                  "SURVEY_SMTP_*",
		{"SURVEY_MAIL_FROM", "not an address"}:           "SURVEY_SMTP_*",
		{"SURVEY_WEBHOOK_URL", "https://sms.example/in"}: "SURVEY_WEBHOOK_SECRET",
		{"SURVEY_WEBHOOK_URL", "ftp://sms.example/in"}:   "SURVEY_WEBHOOK_URL",
		{"SURVEY_REMINDER_AFTER", "-1h"}:                 "SURVEY_REMINDER_AFTER",
		{"SURVEY_DELIVERY_MAX_ATTEMPTS", "-1"}:           "SURVEY_DELIVERY_MAX_ATTEMPTS",
	} {
		t.Run(env[0]+"="+env[1], func(t *testing.T) {
			t.Setenv(env[0], env[1])
			_, err := service.LoadConfig()
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one naming %s", err, want)
			}
		})
	}
}
