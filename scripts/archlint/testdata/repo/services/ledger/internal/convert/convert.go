package convert

import (
	_ "github.com/treue/treue/proto/gen/ledger/v1"
	_ "github.com/treue/treue/services/ledger/internal/domain"
)
