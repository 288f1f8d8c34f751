// Command feedback runs the feedback-routing service.
package main

import (
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/feedback/service"
)

func main() { svc.Main(service.Name, service.LoadConfig, service.New) }
