package postgres

import (
	_ "github.com/jackc/pgx/v5"

	_ "github.com/treue/treue/pkg/pg"
	_ "github.com/treue/treue/services/ledger/internal/domain"
)
