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
