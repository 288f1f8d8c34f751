package service_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/testkit"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/internal/adapters/qrcode"
	"github.com/treue/treue/services/survey/service"
)

// receipt asks the till's API for the link of a receipt.
func (e *env) receipt(req *surveyv1.IssueReceiptLinkRequest) *surveyv1.IssueReceiptLinkResponse {
	e.t.Helper()
	resp, err := e.pos.IssueReceiptLink(testkit.Ctx(e.t), req)
	if err != nil {
		e.t.Fatalf("IssueReceiptLink(%v): %v", req, err)
	}
	return resp
}

func receiptRequest(store string) *surveyv1.IssueReceiptLinkRequest {
	return &surveyv1.IssueReceiptLinkRequest{StoreId: store, TransactionId: "T-" + uuid.NewString()[:8], EmployeeId: "E-7"}
}

// decodeQR reads a QR code from an image as a phone would.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR code does not decode: %v", err)
	}
	return res.GetText()
}

var shortLink = regexp.MustCompile(`^` + regexp.QuoteMeta(publicURL) + `/r/[A-Za-z0-9_-]{40}$`)

func TestReceiptLink(t *testing.T) {
	t.Parallel()
	e := start(t)

	t.Run("PNG: the QR code is the short link", func(t *testing.T) {
		req := receiptRequest("S1")
		req.Size = 300
		resp := e.receipt(req)
		if !shortLink.MatchString(resp.GetUrl()) || len(resp.GetUrl()) > len(publicURL)+3+40 {
			t.Errorf("url %q is not a short receipt link", resp.GetUrl())
		}
		if resp.GetQrContentType() != "image/png" {
			t.Errorf("content type %q", resp.GetQrContentType())
		}
		img, err := png.Decode(bytes.NewReader(resp.GetQrCode()))
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 300 {
			t.Errorf("image is %v, want 300×300", b)
		}
		if got := decodeQR(t, img); got != resp.GetUrl() {
			t.Errorf("the QR code reads %q, want %q", got, resp.GetUrl())
		}
		if exp := resp.GetExpiresAt().AsTime(); exp.Before(time.Now().Add(service7Days - time.Minute)) {
			t.Errorf("expires at %s", exp)
		}
		t.Logf("receipt link %s (%d characters), PNG %d bytes", resp.GetUrl(), len(resp.GetUrl()), len(resp.GetQrCode()))
	})

	t.Run("default size, and SVG", func(t *testing.T) {
		req := receiptRequest("S1")
		png1 := e.receipt(req)
		img, err := png.Decode(bytes.NewReader(png1.GetQrCode()))
		if err != nil || img.Bounds().Dx() != 256 {
			t.Fatalf("default PNG: %v, %v", err, img.Bounds())
		}
		req.Format = surveyv1.QrFormat_QR_FORMAT_SVG
		svg := e.receipt(req)
		if svg.GetUrl() != png1.GetUrl() || svg.GetInvitationId() != png1.GetInvitationId() {
			t.Errorf("the SVG of the same receipt has link %q, the PNG %q", svg.GetUrl(), png1.GetUrl())
		}
		if svg.GetQrContentType() != "image/svg+xml" {
			t.Errorf("content type %q", svg.GetQrContentType())
		}
		modules := svgModules(t, svg.GetQrCode())
		want, err := qrcode.Bitmap(svg.GetUrl())
		if err != nil {
			t.Fatal(err)
		}
		if !equalBitmaps(modules, want) {
			t.Errorf("the SVG's modules are not the QR code of %q", svg.GetUrl())
		}
		// Drawn as a phone would see it, the SVG decodes to the link.
		if got := decodeQR(t, bitmapImage(modules, 8)); got != svg.GetUrl() {
			t.Errorf("the SVG's QR code reads %q", got)
		}
	})

	t.Run("one invitation and one response per receipt, anonymous", func(t *testing.T) {
		req := receiptRequest("S2")
		first := e.receipt(req)
		again := e.receipt(req)
		if again.GetUrl() != first.GetUrl() || again.GetInvitationId() != first.GetInvitationId() {
			t.Errorf("asking again: %q, first %q", again.GetUrl(), first.GetUrl())
		}
		var member *string
		var status, channel, key, eventID, employee, store string
		if err := e.db.QueryRow(context.Background(), `SELECT member_id, status, channel, trigger_key, trigger_event_id, employee_id, store_id
			FROM invitations WHERE id = $1`, first.GetInvitationId()).Scan(&member, &status, &channel, &key, &eventID, &employee, &store); err != nil {
			t.Fatal(err)
		}
		if member != nil || status != "SENT" || channel != "RECEIPT" || key != "pos:S2:"+req.GetTransactionId() ||
			eventID != "receipt:S2:"+req.GetTransactionId() || employee != "E-7" || store != "S2" {
			t.Errorf("invitation: member %v, %s %s %s %s %s %s", member, status, channel, key, eventID, employee, store)
		}

		path := strings.TrimPrefix(first.GetUrl(), publicURL)
		if p := e.get(path); p.code != http.StatusOK || !strings.Contains(p.body, "<form") {
			t.Fatalf("GET %s: %d\n%s", path, p.code, p.body)
		}
		if p := e.answer(path, 9, ""); p.code != http.StatusOK {
			t.Fatalf("answer: %d\n%s", p.code, p.body)
		}
		ev := e.responseFor(first.GetInvitationId())
		if ev.GetMemberId() != "" || ev.GetScore() != 9 || ev.GetStoreId() != "S2" {
			t.Errorf("response event: %v", ev)
		}
		if p := e.answer(path, 3, ""); p.code != http.StatusConflict {
			t.Errorf("second answer: %d, want 409", p.code)
		}
		// The purchase's own trigger, arriving later, makes no second invitation.
		member2 := uuid.NewString()
		e.enroll(member2, "en", true)
		p := purchase("S2", member2)
		p.TransactionId = req.GetTransactionId()
		e.buy(p)
		if n := e.db.Count(`SELECT count(*) FROM invitations WHERE trigger_key = $1`, key); n != 1 {
			t.Errorf("%d invitations for one receipt, want 1", n)
		}
		if n := e.db.Count(`SELECT count(*) FROM responses WHERE invitation_id = $1`, first.GetInvitationId()); n != 1 {
			t.Errorf("%d responses for one receipt, want 1", n)
		}
	})

	t.Run("tills asking at once for one receipt get one link", func(t *testing.T) {
		req := receiptRequest("S6")
		urls := make(chan string, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				resp, err := e.pos.IssueReceiptLink(testkit.Ctx(t), req)
				if err != nil {
					t.Error(err)
					urls <- ""
					return
				}
				urls <- resp.GetUrl()
			})
		}
		wg.Wait()
		close(urls)
		first := ""
		for u := range urls {
			if first == "" {
				first = u
			}
			if u != first {
				t.Errorf("links %q and %q for one receipt", first, u)
			}
		}
		if n := e.db.Count(`SELECT count(*) FROM invitations WHERE trigger_key = $1`, "pos:S6:"+req.GetTransactionId()); n != 1 {
			t.Errorf("%d invitations for one receipt", n)
		}
	})

	t.Run("a known member is linked, in their language", func(t *testing.T) {
		member := uuid.NewString()
		e.enroll(member, "de-DE", true)
		req := receiptRequest("S3")
		req.MemberId = member
		resp := e.receipt(req)
		path := strings.TrimPrefix(resp.GetUrl(), publicURL)
		p := e.get(path)
		if p.code != http.StatusOK || !strings.Contains(p.body, `lang="de"`) {
			t.Errorf("page of a German member's receipt: %d\n%s", p.code, p.body)
		}
		if p := e.answer(path, 4, "Zu lange Wartezeit"); p.code != http.StatusOK {
			t.Fatalf("answer: %d\n%s", p.code, p.body)
		}
		ev := e.responseFor(resp.GetInvitationId())
		if ev.GetMemberId() != member || ev.GetScore() != 4 || ev.GetComment() != "Zu lange Wartezeit" {
			t.Errorf("response event: %v", ev)
		}
		list, err := e.service.ListInvitations(testkit.Ctx(t), listRequest(member))
		if err != nil || len(list.GetInvitations()) != 1 || list.GetInvitations()[0].GetInvitationId() != resp.GetInvitationId() {
			t.Errorf("the member's invitations: %v, %v", list, err)
		}
	})

	t.Run("an erased member is not linked", func(t *testing.T) {
		member := uuid.NewString()
		e.enroll(member, "en", true)
		e.erase(member)
		req := receiptRequest("S3")
		req.MemberId = member
		resp := e.receipt(req)
		if n := e.db.Count(`SELECT count(*) FROM invitations WHERE id = $1 AND member_id IS NULL`, resp.GetInvitationId()); n != 1 {
			t.Errorf("the receipt of an erased member is linked to them")
		}
	})

	t.Run("a scheduled invitation of the purchase becomes the receipt's", func(t *testing.T) {
		member := uuid.NewString()
		e.enroll(member, "en", true)
		p := purchase("S4", member)
		e.buy(p)
		inv := e.invitationFor(member)
		// As a trigger rule with a delay leaves it: scheduled for later.
		if _, err := e.db.Exec(context.Background(), `UPDATE invitations SET status = 'SCHEDULED', due_at = now() + interval '2 days', sent_at = NULL
			WHERE id = $1`, inv.GetInvitationId()); err != nil {
			t.Fatal(err)
		}
		resp := e.receipt(&surveyv1.IssueReceiptLinkRequest{StoreId: "S4", TransactionId: p.GetTransactionId()})
		if resp.GetInvitationId() != inv.GetInvitationId() {
			t.Fatalf("receipt invitation %s, the purchase's is %s", resp.GetInvitationId(), inv.GetInvitationId())
		}
		var status, channel string
		var due time.Time
		if err := e.db.QueryRow(context.Background(), `SELECT status, channel, due_at FROM invitations WHERE id = $1`,
			inv.GetInvitationId()).Scan(&status, &channel, &due); err != nil {
			t.Fatal(err)
		}
		if status != "SENT" || channel != "RECEIPT" || due.After(time.Now()) {
			t.Errorf("after the receipt: %s %s due %s; want SENT on the receipt, due now", status, channel, due)
		}
		if p := e.get(strings.TrimPrefix(resp.GetUrl(), publicURL)); p.code != http.StatusOK {
			t.Errorf("the receipt's link: %d\n%s", p.code, p.body)
		}
	})

	t.Run("a tampered short link is refused", func(t *testing.T) {
		resp := e.receipt(receiptRequest("S5"))
		path := strings.TrimPrefix(resp.GetUrl(), publicURL)
		last := path[len(path)-1]
		swap := byte('A')
		if last == 'A' {
			swap = 'B'
		}
		if p := e.get(path[:len(path)-1] + string(swap)); p.code != http.StatusNotFound {
			t.Errorf("tampered: %d, want 404", p.code)
		}
	})
}

// service7Days is the link TTL the harness configures (the default).
const service7Days = 7 * 24 * time.Hour

func TestIssueReceiptLinkAuthorisesAndValidates(t *testing.T) {
	t.Parallel()
	e := start(t)
	ok := receiptRequest("S1")
	for name, c := range map[string]surveyv1.SurveyServiceClient{"anonymous": e.anonymous, "marketing": e.marketing, "service": e.service} {
		_, err := c.IssueReceiptLink(testkit.Ctx(t), ok)
		want := codes.PermissionDenied
		if name == "anonymous" {
			want = codes.Unauthenticated
		}
		if status.Code(err) != want {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
	if _, err := e.admin.IssueReceiptLink(testkit.Ctx(t), ok); err != nil {
		t.Errorf("admin: %v", err)
	}
	for field, req := range map[string]*surveyv1.IssueReceiptLinkRequest{
		"store_id":       {StoreId: "S:1", TransactionId: "T"},
		"transaction_id": {StoreId: "S1"},
		"member_id":      {StoreId: "S1", TransactionId: "T", MemberId: "nobody"},
		"survey_id":      {StoreId: "S1", TransactionId: "T", SurveyId: "nps"},
		"size":           {StoreId: "S1", TransactionId: "T", Size: 5000},
		"format":         {StoreId: "S1", TransactionId: "T", Format: 9},
	} {
		_, err := e.pos.IssueReceiptLink(testkit.Ctx(t), req)
		wantInvalidField(t, err, field)
	}
	if n := e.db.Count(`SELECT count(*) FROM invitations`); n != 1 {
		t.Errorf("%d invitations, want only the admin's", n)
	}
}

// A till's key is bound to its stores: a receipt of another store is refused (its link
// would take over that store's purchase invitation and answer as the member).
func TestIssueReceiptLinkOnlyForTheTillsStores(t *testing.T) {
	t.Parallel()
	till := testkit.Caller{Name: "till-s1", Role: "pos", Key: "test-key-till-s1", Stores: []string{"S1"}}
	tillNoStore := testkit.Caller{Name: "till-none", Role: "pos", Key: "test-key-till-none"}
	te := testkit.NewEnv(t, append(testkit.RoleCallers(), till, tillNoStore)...)
	cfg := service.Config{
		Base: te.Base(), PublicURL: publicURL, TokenSecret: testSecret,
		ContactInterval: service.DefaultContactInterval, LinkTTL: service.DefaultLinkTTL, PendingTTL: service.DefaultPendingTTL,
	}
	s := testkit.Start(t, service.New, cfg).Service
	db := te.DB(service.Schema)
	c := surveyv1.NewSurveyServiceClient(testkit.Dial(t, s.GRPCAddr(), till.Key))
	_, err := c.IssueReceiptLink(testkit.Ctx(t), receiptRequest("S2"))
	testkit.WantCode(t, err, codes.PermissionDenied)
	none := surveyv1.NewSurveyServiceClient(testkit.Dial(t, s.GRPCAddr(), tillNoStore.Key))
	_, err = none.IssueReceiptLink(testkit.Ctx(t), receiptRequest("S1"))
	testkit.WantCode(t, err, codes.PermissionDenied)
	if n := db.Count(`SELECT count(*) FROM invitations`); n != 0 {
		t.Fatalf("%d invitations after refused requests, want 0", n)
	}
	if _, err := c.IssueReceiptLink(testkit.Ctx(t), receiptRequest("S1")); err != nil {
		t.Fatalf("own store: %v", err)
	}
	if n := db.Count(`SELECT count(*) FROM invitations WHERE store_id = 'S1'`); n != 1 {
		t.Errorf("%d invitations of the till's own store, want 1", n)
	}
}

// svgModules parses a QR code's SVG (it must be XML with one path) back into modules.
func svgModules(t *testing.T, svg []byte) [][]bool {
	t.Helper()
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Shape   string   `xml:"shape-rendering,attr"`
		Paths   []struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("the SVG is not XML: %v\n%s", err, svg)
	}
	if len(doc.Paths) != 1 || doc.Shape != "crispEdges" {
		t.Fatalf("the SVG has %d paths and shape-rendering %q, want one path with crisp edges", len(doc.Paths), doc.Shape)
	}
	var n int
	if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d %d", &n, &n); err != nil {
		t.Fatalf("viewBox %q: %v", doc.ViewBox, err)
	}
	modules := make([][]bool, n)
	for i := range modules {
		modules[i] = make([]bool, n)
	}
	for _, run := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(doc.Paths[0].D, -1) {
		x, _ := strconv.Atoi(run[1])
		y, _ := strconv.Atoi(run[2])
		w, _ := strconv.Atoi(run[3])
		for i := x; i < x+w; i++ {
			modules[y][i] = true
		}
	}
	return modules
}

func equalBitmaps(a, b [][]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for y := range a {
		if len(a[y]) != len(b[y]) {
			return false
		}
		for x := range a[y] {
			if a[y][x] != b[y][x] {
				return false
			}
		}
	}
	return true
}

// bitmapImage draws modules scale pixels each.
func bitmapImage(modules [][]bool, scale int) image.Image {
	img := image.NewGray(image.Rect(0, 0, len(modules)*scale, len(modules)*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range modules {
		for x, dark := range row {
			if dark {
				for dy := range scale {
					for dx := range scale {
						img.Pix[(y*scale+dy)*img.Stride+x*scale+dx] = 0
					}
				}
			}
		}
	}
	return img
}
