package service_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	"github.com/treue/treue/services/reporting/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// harness is one running reporting service in its own world.
type harness struct {
	*testkit.Env
	grpcAddr string
	httpURL  string
	// reporting calls as marketing.
	reporting reportingv1.ReportingServiceClient
}

func start(t *testing.T) *harness {
	t.Helper()
	e := testkit.NewEnv(t)
	cfg := service.Config{Base: e.Base(), PointsShards: 4, DashboardRefresh: 5 * time.Second}
	cfg.Base.HTTPAddr = "127.0.0.1:0"
	s := testkit.Start(t, service.New, cfg).Service
	return &harness{
		Env:       e,
		grpcAddr:  s.GRPCAddr(),
		httpURL:   "http://" + s.HTTPAddr(),
		reporting: reportingv1.NewReportingServiceClient(e.Conn(s.GRPCAddr(), "marketing")),
	}
}

// publish sends an event the way the outbox relay does, with a fresh UUIDv7 id; it
// returns the id.
func (h *harness) publish(subject string, msg proto.Message) string {
	return h.Publish(subject, "", msg).ID
}

// publishRaw sends data as an event of eventType.
func (h *harness) publishRaw(subject, id, eventType string, data []byte) {
	h.PublishRaw(testkit.Raw{Subject: subject, ID: id, ContentType: bus.ContentTypeProto, Type: eventType, Data: data})
}

func httpGet(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(testkit.Ctx(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}
