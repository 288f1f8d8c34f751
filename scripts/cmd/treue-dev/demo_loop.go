package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"

	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/demo"
	"github.com/treue/treue/scripts/internal/stack"
)

// demoSurveyLoop defines what marketing sets up before the demo's traffic: the demo's
// survey and its trigger rules (see demoSurveys, demoTriggers).
func demoSurveyLoop(ctx context.Context, s *stack.Stack, out io.Writer) error {
	conn, err := s.Conn("survey", "marketing")
	if err != nil {
		return err
	}
	delivery, err := demoSurveys(ctx, conn, out)
	if err != nil {
		return err
	}
	_, err = demoTriggers(ctx, conn, delivery, out)
	return err
}

// receiptQRFile is the receipt QR's file in the run's data folder.
const receiptQRFile = "receipt-qr.png"

// receipt is the survey link of a till's receipt.
type receipt struct{ Path, URL string }

// demoReceipt asks for the survey link of an anonymous purchase's receipt, as a till
// does (role pos), and writes its QR code (PNG) into dir. conn is the survey's, as pos.
func demoReceipt(ctx context.Context, conn grpc.ClientConnInterface, dir string) (receipt, error) {
	resp, err := surveyv1.NewSurveyServiceClient(conn).IssueReceiptLink(ctx, &surveyv1.IssueReceiptLinkRequest{
		StoreId: "berlin-01", TransactionId: "T-demo-receipt-" + time.Now().UTC().Format("20060102T150405.000"),
		EmployeeId: "emp-berlin-01-02", Locale: "de", Format: surveyv1.QrFormat_QR_FORMAT_PNG, Size: 256,
	})
	if err != nil {
		return receipt{}, fmt.Errorf("receipt link: %w", err)
	}
	path := filepath.Join(dir, receiptQRFile)
	if err := os.WriteFile(path, resp.GetQrCode(), 0o644); err != nil {
		return receipt{}, err
	}
	return receipt{Path: path, URL: resp.GetUrl()}, nil
}

// suppressions counts the invitations the contact policy held back, by reason (in
// lower case words: "frequency cap"). conn is the survey's, as marketing.
func suppressions(ctx context.Context, conn grpc.ClientConnInterface) (map[string]int, error) {
	client := surveyv1.NewTriggerServiceClient(conn)
	counts := map[string]int{}
	token := ""
	for {
		resp, err := client.ListSuppressions(ctx, &surveyv1.ListSuppressionsRequest{PageSize: 500, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("suppressions: %w", err)
		}
		for _, s := range resp.GetSuppressions() {
			counts[reasonWords(s.GetReason())]++
		}
		if token = resp.GetNextPageToken(); token == "" {
			return counts, nil
		}
	}
}

func reasonWords(r surveyv1.SuppressionReason) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(r.String(), "SUPPRESSION_REASON_")), "_", " ")
}

// formatCounts is "3 (frequency cap 2, open case 1)", or "none".
func formatCounts(counts map[string]int) string {
	total := 0
	var parts []string
	for reason, n := range counts {
		total += n
		parts = append(parts, fmt.Sprintf("%s %d", reason, n))
	}
	if total == 0 {
		return "none"
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// surveySummary is what make run prints of the survey loop.
type surveySummary struct {
	Mail         *demoMail // nil: no mailbox
	Receipt      receipt
	Suppressions map[string]int
}

func (v surveySummary) print(w io.Writer, res *demo.Result) {
	fmt.Fprintln(w, "  Surveys:")
	switch {
	case v.Mail != nil && v.Mail.Count() == 0 && len(res.Later) == 0:
		// A later run on the same database: the contact policy allows one per 30 days.
		fmt.Fprintf(w, "    Demo emails    %s   (none this run: every demo member was invited in the last 30 days; `make clean` starts afresh)\n", v.Mail.URL)
	case v.Mail != nil:
		fmt.Fprintf(w, "    Demo emails    %s   (%d arrived so far; new ones arrive there, reload)\n", v.Mail.URL, v.Mail.Count())
	default:
		fmt.Fprintln(w, "    Demo emails    no demo mailbox: see SURVEY_SMTP_ADDR and the survey log")
	}
	fmt.Fprintf(w, "    Triggers       NPS at once after a purchase; CSAT %d s after a service call (%d published)\n",
		int(demoServiceCallDelay.Seconds()), res.ServiceCalls)
	if len(res.Later) > 0 {
		due := res.Later[0].GetDueAt().AsTime()
		for _, inv := range res.Later[1:] {
			if t := inv.GetDueAt().AsTime(); t.Before(due) {
				due = t
			}
		}
		fmt.Fprintf(w, "    Due later      %d invitation(s), the first at %s: watch its email arrive\n", len(res.Later), due.Local().Format("15:04:05"))
	}
	if v.Receipt.URL != "" {
		fmt.Fprintf(w, "    Receipt QR     %s   (an anonymous purchase: %s)\n", v.Receipt.Path, v.Receipt.URL)
	}
	fmt.Fprintf(w, "    Suppressed     %s   (contact policy; TriggerService.ListSuppressions)\n", formatCounts(v.Suppressions))
	fmt.Fprintln(w)
}

// demoSurveySummary gathers the survey loop's figures once the demo has played: a
// receipt's QR code written into dir, and the suppressions so far.
func demoSurveySummary(ctx context.Context, s *stack.Stack, dir string, mail *demoMail) (surveySummary, error) {
	v := surveySummary{Mail: mail}
	pos, err := s.Conn("survey", "pos")
	if err != nil {
		return v, err
	}
	if v.Receipt, err = demoReceipt(ctx, pos, dir); err != nil {
		return v, err
	}
	marketing, err := s.Conn("survey", "marketing")
	if err != nil {
		return v, err
	}
	v.Suppressions, err = suppressions(ctx, marketing)
	return v, err
}
