package service_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/staff"
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
	// session is the cookie of a signed-in marketing staff member (demoUser).
	session *http.Cookie
}

// The staff account every harness creates and signs in as.
const (
	demoUser     = "maria@example.com"
	demoPassword = "correct horse battery staple"
)

func start(t *testing.T) *harness {
	t.Helper()
	return startWith(t, nil)
}

// startWith starts the service with the configuration changed by tune.
func startWith(t *testing.T, tune func(*service.Config)) *harness {
	t.Helper()
	e := testkit.NewEnv(t)
	cfg := service.Config{Base: e.Base(), PointsShards: 4, DashboardRefresh: 5 * time.Second}
	cfg.Base.HTTPAddr = "127.0.0.1:0"
	if tune != nil {
		tune(&cfg)
	}
	s := testkit.Start(t, service.New, cfg).Service
	h := &harness{
		Env:       e,
		grpcAddr:  s.GRPCAddr(),
		httpURL:   "http://" + s.HTTPAddr(),
		reporting: reportingv1.NewReportingServiceClient(e.Conn(s.GRPCAddr(), "marketing")),
	}
	h.createStaff(t, demoUser, demoPassword, "marketing")
	h.session = h.signIn(t, demoUser, demoPassword)
	return h
}

// createStaff adds a staff account to the service's auth schema.
func (h *harness) createStaff(t *testing.T, user, password string, roles ...string) {
	t.Helper()
	store, err := staff.Open(testkit.Ctx(t), staff.Config{DatabaseURL: h.DatabaseURL()}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Create(testkit.Ctx(t), user, roles, password); err != nil {
		t.Fatal(err)
	}
}

// signIn posts the login form and returns the session cookie.
func (h *harness) signIn(t *testing.T, user, password string) *http.Cookie {
	t.Helper()
	form := url.Values{"username": {user}, "password": {password}}
	req, err := http.NewRequestWithContext(testkit.Ctx(t), http.MethodPost, h.httpURL+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == staff.CookieName && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in as %s: %s without a session cookie", user, resp.Status)
	return nil
}

// get is an HTTP GET as the signed-in staff member.
func (h *harness) get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	return httpGetWith(t, url, h.session)
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
	return httpGetWith(t, url, nil)
}

// httpGetWith is a GET sending cookie (nil for none); redirects are followed.
func httpGetWith(t *testing.T, url string, cookie *http.Cookie) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(testkit.Ctx(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != nil {
		req.AddCookie(cookie)
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
