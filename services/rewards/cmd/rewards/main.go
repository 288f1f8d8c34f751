// Command rewards runs the rewards service: the reward catalog, redemptions of points
// for coupons, and coupon checks at the tills.
package main

import (
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/services/rewards/service"
)

func main() { svc.Main(service.Name, service.LoadConfig, service.New) }
