// Command reporting runs the reporting service: NPS, points and follow-up figures from
// every stream, served over gRPC and as an HTTP dashboard.
package main

import (
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/reporting/service"
)

func main() { svc.Main(service.Name, service.LoadConfig, service.New) }
