package main

import (
	"context"
	"io"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
)

// tierRecorder is a TierService that keeps the definition it is sent.
type tierRecorder struct {
	ledgerv1.UnimplementedTierServiceServer
	got *ledgerv1.DefineTiersRequest
}

func (r *tierRecorder) DefineTiers(_ context.Context, req *ledgerv1.DefineTiersRequest) (*ledgerv1.DefineTiersResponse, error) {
	r.got = req
	return &ledgerv1.DefineTiersResponse{Programme: &ledgerv1.TierProgramme{Tiers: req.GetTiers()}}, nil
}

func TestDemoTiers(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, rec := grpc.NewServer(), &tierRecorder{}
	ledgerv1.RegisterTierServiceServer(srv, rec)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := demoTiers(context.Background(), conn, io.Discard); err != nil {
		t.Fatal(err)
	}
	tiers := rec.got.GetTiers()
	if len(tiers) != 3 || tiers[0].GetMinPoints() != 0 || tiers[1].GetMinPoints() >= tiers[2].GetMinPoints() {
		t.Fatalf("demo tiers %v: want a base tier and two ordered thresholds", tiers)
	}
}
