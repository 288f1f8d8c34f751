package app

import (
	_ "net/http" // want app-no-adapters

	_ "github.com/jackc/pgx/v5"    // want app-no-adapters
	_ "github.com/nats-io/nats.go" // want app-no-adapters
	_ "google.golang.org/grpc"     // want app-no-adapters

	_ "github.com/treue/treue/pkg/pg"                                     // want app-no-adapters
	_ "github.com/treue/treue/proto/gen/ledger/v1"                        // want app-no-adapters
	_ "github.com/treue/treue/services/ledger/internal/adapters/postgres" // want app-no-adapters
	_ "github.com/treue/treue/services/ledger/internal/convert"           // want app-no-adapters
	_ "github.com/treue/treue/services/ledger/internal/ports/grpc"        // want app-no-adapters
)
