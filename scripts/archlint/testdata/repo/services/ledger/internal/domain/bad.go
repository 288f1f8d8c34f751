package domain

import (
	_ "github.com/google/uuid"  // want domain-stdlib-only
	_ "github.com/jackc/pgx/v5" // want domain-stdlib-only
)
