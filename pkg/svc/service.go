package svc

import (
	"context"
	"log/slog"
	"time"
)

// Service is a wired service as the world sees it: run it, ask where it listens. Every
// service package's Service embeds the one Wire returns.
type Service struct{ rt *Runtime }

// Wire opens the runtime (Open) and lets wire connect the service's consumers, servers
// and background work to it; when wire fails, what Open took is released.
func Wire(ctx context.Context, base Base, opts Options, log *slog.Logger, wire func(rt *Runtime) error) (Service, error) {
	rt, err := Open(ctx, base, opts, log)
	if err != nil {
		return Service{}, err
	}
	if err := wire(rt); err != nil {
		rt.Close()
		return Service{}, err
	}
	return Service{rt: rt}, nil
}

// Run serves until ctx ends or a part fails, then shuts down in order (Runtime.Run).
func (s Service) Run(ctx context.Context) error { return s.rt.Run(ctx) }

// GRPCAddr is the address the gRPC server listens on.
func (s Service) GRPCAddr() string { return s.rt.GRPCAddr() }

// HTTPAddr is the address the HTTP server listens on, or "" for a service without one.
func (s Service) HTTPAddr() string { return s.rt.HTTPAddr() }

// AdminAddr is the address of the admin HTTP server (/metrics, /healthz, /readyz,
// /loglevel), or "" when it is off.
func (s Service) AdminAddr() string { return s.rt.AdminAddr() }

// Sweep is background work done in batches, such as expiring holds: every Interval, and
// again at once while a pass fills its batch.
type Sweep struct {
	// What names the work in the log ("hold expiry").
	What     string
	Interval time.Duration
	Batch    int
	// Pass handles at most batch items and returns how many it handled.
	Pass func(ctx context.Context, batch int) (int, error)
}

// Sweep adds s to the background work (Background).
func (r *Runtime) Sweep(s Sweep) {
	r.Background(func(ctx context.Context) { s.Run(ctx, r.Log) })
}

// Run sweeps until ctx ends. A failed pass is logged and tried again at the next tick.
func (s Sweep) Run(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := s.Pass(ctx, s.Batch)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn(s.What+" failed; will retry", "err", err)
				}
				break
			}
			if n < s.Batch {
				break
			}
		}
	}
}
