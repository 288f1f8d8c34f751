package app

import (
	_ "context"

	_ "github.com/google/uuid"

	_ "github.com/treue/treue/services/ledger/internal/domain"
)
