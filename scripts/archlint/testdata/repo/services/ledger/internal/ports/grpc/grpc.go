package grpc

import (
	_ "google.golang.org/grpc"

	_ "github.com/treue/treue/services/ledger/internal/convert"
)
