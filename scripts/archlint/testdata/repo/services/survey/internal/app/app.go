package app

import (
	_ "github.com/treue/treue/services/ledger/service" // want app-no-adapters survey-isolated
	_ "github.com/treue/treue/services/survey/internal/domain"
)
