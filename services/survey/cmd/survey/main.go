// Command survey runs the survey service.
package main

import (
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/survey/service"
)

func main() { svc.Main(service.Name, service.LoadConfig, service.New) }
