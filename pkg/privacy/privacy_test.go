package privacy_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/privacy"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
)

// records is a service's answer to its ExportMember query.
type records struct {
	MemberID string
	Visits   []string
}

// store is the query's side: what it was asked and when, and what it answers.
type store struct {
	mu      sync.Mutex
	asked   []string
	askedAt time.Time
	err     error
}

func (s *store) query(_ context.Context, memberID string) (records, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, memberID)
	s.askedAt = time.Now()
	if s.err != nil {
		return records{}, s.err
	}
	switch memberID {
	case "m-1":
		return records{MemberID: memberID, Visits: []string{"store-1", "store-2"}}, nil
	case "m-bad":
		return records{MemberID: memberID, Visits: []string{"bad"}}, nil
	}
	return records{MemberID: memberID}, nil
}

// export is the service's converter: an unknown member has an empty export.
func export(r records) (*structpb.Struct, error) {
	if len(r.Visits) == 0 {
		return &structpb.Struct{}, nil
	}
	if r.Visits[0] == "bad" {
		return nil, errors.New("not convertible")
	}
	return privacy.Data(struct {
		Visits []string `json:"visits"`
	}{r.Visits})
}

// serve starts the privacy server of "shop" over st on loopback, behind pkg/grpcx's
// interceptors, and returns a client that calls it with the role privacy.
func serve(t *testing.T, st *store) (privacyv1.PrivacyServiceClient, context.Context) {
	t.Helper()
	keys, err := grpcx.ParseKeys("dpo:privacy:" + grpcx.HashKey("privacy-key"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := grpcx.NewServer(keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	privacyv1.RegisterPrivacyServiceServer(srv, privacy.NewServer("shop", st.query, export))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return privacyv1.NewPrivacyServiceClient(conn), grpcx.WithAPIKey(context.Background(), "privacy-key")
}

func TestExportMemberFramesTheServicesData(t *testing.T) {
	t.Parallel()
	st := &store{}
	c, ctx := serve(t, st)
	before := time.Now()
	resp, err := c.ExportMember(ctx, &privacyv1.ExportMemberRequest{MemberId: "m-1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetService() != "shop" || resp.GetMemberId() != "m-1" {
		t.Errorf("service %q, member %q; want shop, m-1", resp.GetService(), resp.GetMemberId())
	}
	visits := resp.GetData().AsMap()["visits"].([]any)
	if len(visits) != 2 || visits[0] != "store-1" || visits[1] != "store-2" {
		t.Errorf("data %v, want the converted visits", resp.GetData().AsMap())
	}
	st.mu.Lock()
	asked, askedAt := st.asked, st.askedAt
	st.mu.Unlock()
	if len(asked) != 1 || asked[0] != "m-1" {
		t.Errorf("query asked for %v, want [m-1]", asked)
	}
	// Stamped before the query read: no later than the moment it was asked.
	if at := resp.GetExportedAt().AsTime(); at.Before(before) || at.After(askedAt) {
		t.Errorf("exported_at %v, want between the call %v and the query %v", at, before, askedAt)
	}
}

func TestExportOfAnUnknownMemberIsAnEmptyAnswer(t *testing.T) {
	t.Parallel()
	c, ctx := serve(t, &store{})
	resp, err := c.ExportMember(ctx, &privacyv1.ExportMemberRequest{MemberId: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetMemberId() != "nobody" || len(resp.GetData().GetFields()) != 0 || resp.GetExportedAt() == nil {
		t.Errorf("export of an unknown member = %v, want an empty one for nobody", resp)
	}
}

func TestExportMemberErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want codes.Code
	}{
		// The query's status error reaches the caller as it is.
		{"status", status.Error(codes.Unavailable, "try again"), codes.Unavailable},
		// Anything else is the service's own failure: hidden as Internal.
		{"other", errors.New("connection reset"), codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ctx := serve(t, &store{err: tt.err})
			_, err := c.ExportMember(ctx, &privacyv1.ExportMemberRequest{MemberId: "m-1"})
			if status.Code(err) != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
	// A converter's failure is the service's own as well.
	t.Run("converter", func(t *testing.T) {
		c, ctx := serve(t, &store{})
		_, err := c.ExportMember(ctx, &privacyv1.ExportMemberRequest{MemberId: "m-bad"})
		if status.Code(err) != codes.Internal {
			t.Fatalf("err = %v, want Internal", err)
		}
	})
}

func TestDataTakesTheJSONShape(t *testing.T) {
	t.Parallel()
	type line struct {
		SKU string `json:"sku"`
	}
	v := struct {
		At     string  `json:"at"`
		Note   string  `json:"note,omitempty"`
		Points int64   `json:"points"`
		Lines  []line  `json:"lines"`
		Gone   *string `json:"gone,omitempty"`
	}{At: "2026-01-02T03:04:05Z", Points: 7, Lines: []line{{"A-1"}}}
	data, err := privacy.Data(v)
	if err != nil {
		t.Fatal(err)
	}
	m := data.AsMap()
	if len(m) != 3 || m["at"] != "2026-01-02T03:04:05Z" || m["points"] != float64(7) {
		t.Errorf("data %v, want at, points and lines by their tags, nothing omitted", m)
	}
	if lines := m["lines"].([]any); len(lines) != 1 || lines[0].(map[string]any)["sku"] != "A-1" {
		t.Errorf("lines %v", m["lines"])
	}
	if _, err := privacy.Data(func() {}); err == nil {
		t.Error("Data of a func: no error")
	}
}
