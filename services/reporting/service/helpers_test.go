package service_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/reporting/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// The subjects of the events reporting reads, from the contract.
var (
	subjectResponse       = testkit.Subject(&surveyv1.ResponseSubmitted{})
	subjectCredited       = testkit.Subject(&ledgerv1.PointsCredited{})
	subjectDebited        = testkit.Subject(&ledgerv1.PointsDebited{})
	subjectCaptured       = testkit.Subject(&ledgerv1.HoldCaptured{})
	subjectErased         = testkit.Subject(&ledgerv1.MemberErased{})
	subjectCaseOpened     = testkit.Subject(&feedbackv1.CaseOpened{})
	subjectCaseResolved   = testkit.Subject(&feedbackv1.CaseResolved{})
	subjectCouponIssued   = testkit.Subject(&rewardsv1.CouponIssued{})
	subjectCouponRedeemed = testkit.Subject(&rewardsv1.CouponRedeemed{})
)

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

// publishRaw sends data as an event of of's type, on its subject.
func (h *harness) publishRaw(of proto.Message, id string, data []byte) {
	spec := bus.MustSpec(of)
	h.PublishRaw(testkit.Raw{Subject: spec.Subject, ID: id, ContentType: bus.ContentTypeProto, Type: string(spec.Type), Data: data})
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
