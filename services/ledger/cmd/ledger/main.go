// Command ledger runs the Treue points ledger.
package main

import (
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/ledger/service"
)

func main() { svc.Main(service.Name, service.LoadConfig, service.New) }
