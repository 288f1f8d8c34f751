package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/treue/treue/services/ledger/service"
)

func TestLoadConfig(t *testing.T) {
	t.Setenv("LEDGER_POINTS_PER_UNIT", "")
	t.Setenv("LEDGER_SURVEY_BONUS_POINTS", "")
	t.Setenv("LEDGER_HOLD_TTL", "")
	cfg, err := service.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PointsPerUnit.String() != "1" || cfg.SurveyBonusPoints != 50 || cfg.HoldTTL != 15*time.Minute ||
		cfg.ReturnWaitDeliveries != 3 || cfg.Base.GRPCAddr != "127.0.0.1:7001" || cfg.Base.HTTPAddr != "" {
		t.Errorf("defaults: %+v", cfg)
	}

	t.Setenv("LEDGER_POINTS_PER_UNIT", "1.5")
	t.Setenv("LEDGER_SURVEY_BONUS_POINTS", "0")
	t.Setenv("LEDGER_HOLD_TTL", "2m")
	if cfg, err = service.LoadConfig(); err != nil {
		t.Fatal(err)
	}
	if cfg.PointsPerUnit.Points(1000) != 15 || cfg.SurveyBonusPoints != 0 || cfg.HoldTTL != 2*time.Minute {
		t.Errorf("from the environment: %+v", cfg)
	}

	t.Setenv("LEDGER_POINTS_PER_UNIT", "one")
	t.Setenv("LEDGER_HOLD_TTL", "soon")
	_, err = service.LoadConfig()
	if err == nil || !strings.Contains(err.Error(), "LEDGER_POINTS_PER_UNIT") || !strings.Contains(err.Error(), "LEDGER_HOLD_TTL") {
		t.Errorf("bad variables: %v, want both named", err)
	}
}

func TestLoadConfigCurrencies(t *testing.T) {
	for _, k := range []string{"LEDGER_CURRENCY", "LEDGER_POINTS_PER_UNIT", "LEDGER_MAX_PURCHASE_MINOR", "LEDGER_MAX_CLOCK_SKEW", "LEDGER_LINE_TOLERANCE_MINOR"} {
		t.Setenv(k, "")
	}
	cfg, err := service.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Currency != "EUR" || len(cfg.OtherRates) != 0 || cfg.MaxPurchaseMinor != 10_000_000 || len(cfg.MaxPurchaseMinorBy) != 0 ||
		cfg.MaxClockSkew != 5*time.Minute || cfg.LineToleranceMinor != 0 {
		t.Errorf("defaults: %+v", cfg)
	}

	t.Setenv("LEDGER_CURRENCY", "chf")
	t.Setenv("LEDGER_POINTS_PER_UNIT", "CHF=1.2, EUR=1, jpy=0.01")
	t.Setenv("LEDGER_MAX_PURCHASE_MINOR", "5000000,JPY=900000000")
	t.Setenv("LEDGER_MAX_CLOCK_SKEW", "2m")
	t.Setenv("LEDGER_LINE_TOLERANCE_MINOR", "5")
	if cfg, err = service.LoadConfig(); err != nil {
		t.Fatal(err)
	}
	if cfg.Currency != "CHF" || cfg.PointsPerUnit.String() != "6/5" || len(cfg.OtherRates) != 2 ||
		cfg.OtherRates["EUR"].String() != "1" || cfg.OtherRates["JPY"].String() != "1/100" ||
		cfg.MaxPurchaseMinor != 5_000_000 || cfg.MaxPurchaseMinorBy["JPY"] != 900_000_000 || len(cfg.MaxPurchaseMinorBy) != 1 ||
		cfg.MaxClockSkew != 2*time.Minute || cfg.LineToleranceMinor != 5 {
		t.Errorf("from the environment: %+v", cfg)
	}

	bad := []struct {
		name, currency, rates, ceilings, wantIn string
	}{
		{"no rate for the programme's currency", "EUR", "CHF=1", "", "LEDGER_POINTS_PER_UNIT"},
		{"a rate given twice", "EUR", "1,EUR=2", "", "LEDGER_POINTS_PER_UNIT"},
		{"a currency the ledger does not know", "EUR", "1,ZZZ=1", "", "ZZZ"},
		{"a programme currency the ledger does not know", "XYZ", "1", "", "LEDGER_CURRENCY"},
		{"a ceiling of a currency not accepted", "EUR", "1", "1000,USD=5", "LEDGER_MAX_PURCHASE_MINOR"},
		{"a ceiling of zero", "EUR", "1", "0", "LEDGER_MAX_PURCHASE_MINOR"},
		{"two bare ceilings", "EUR", "1", "1000,2000", "LEDGER_MAX_PURCHASE_MINOR"},
		{"a ceiling that is no number", "EUR", "1", "lots", "LEDGER_MAX_PURCHASE_MINOR"},
	}
	t.Setenv("LEDGER_MAX_CLOCK_SKEW", "")
	t.Setenv("LEDGER_LINE_TOLERANCE_MINOR", "")
	for _, b := range bad {
		t.Setenv("LEDGER_CURRENCY", b.currency)
		t.Setenv("LEDGER_POINTS_PER_UNIT", b.rates)
		t.Setenv("LEDGER_MAX_PURCHASE_MINOR", b.ceilings)
		if _, err := service.LoadConfig(); err == nil || !strings.Contains(err.Error(), b.wantIn) {
			t.Errorf("%s: %v, want an error naming %s", b.name, err, b.wantIn)
		}
	}
}

func TestLoadConfigCeilingOfOneCurrencyKeepsTheDefault(t *testing.T) {
	t.Setenv("LEDGER_CURRENCY", "")
	t.Setenv("LEDGER_POINTS_PER_UNIT", "EUR=1,JPY=0.01")
	t.Setenv("LEDGER_MAX_PURCHASE_MINOR", "JPY=1500000000")
	cfg, err := service.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxPurchaseMinor != 10_000_000 || cfg.MaxPurchaseMinorBy["JPY"] != 1_500_000_000 {
		t.Errorf("ceilings %d and %v, want the default for EUR and JPY's own", cfg.MaxPurchaseMinor, cfg.MaxPurchaseMinorBy)
	}
}

func TestLoadConfigClaimWindow(t *testing.T) {
	t.Setenv("LEDGER_CLAIM_WINDOW", "")
	cfg, err := service.LoadConfig()
	if err != nil || cfg.ClaimWindow != 90*24*time.Hour {
		t.Errorf("default claim window %v, %v; want 90 days", cfg.ClaimWindow, err)
	}
	t.Setenv("LEDGER_CLAIM_WINDOW", "720h")
	if cfg, err = service.LoadConfig(); err != nil || cfg.ClaimWindow != 30*24*time.Hour {
		t.Errorf("claim window %v, %v; want 30 days", cfg.ClaimWindow, err)
	}
	t.Setenv("LEDGER_CLAIM_WINDOW", "-1h")
	if _, err = service.LoadConfig(); err == nil || !strings.Contains(err.Error(), "LEDGER_CLAIM_WINDOW") {
		t.Errorf("a negative claim window: %v", err)
	}
}
