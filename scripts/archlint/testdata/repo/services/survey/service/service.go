package service

import (
	_ "github.com/treue/treue/services/ledger/service" // want survey-isolated
	_ "github.com/treue/treue/services/survey/internal/app"
)
