package app_test

import (
	_ "testing"

	_ "github.com/treue/treue/services/ledger/internal/app"
)
