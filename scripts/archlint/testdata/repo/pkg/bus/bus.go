package bus

import (
	_ "github.com/nats-io/nats.go"

	_ "github.com/treue/treue/services/ledger/service" // want pkg-no-services
)
