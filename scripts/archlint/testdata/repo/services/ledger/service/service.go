package service

import (
	_ "github.com/treue/treue/services/ledger/internal/adapters/postgres"
	_ "github.com/treue/treue/services/ledger/internal/app"
	_ "github.com/treue/treue/services/ledger/internal/ports/grpc"
)
