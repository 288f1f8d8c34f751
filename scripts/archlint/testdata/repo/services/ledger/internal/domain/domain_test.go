package domain_test

import (
	_ "testing"

	_ "github.com/treue/treue/services/ledger/internal/domain"
)
