package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	reportingv1 "github.com/treue/treue/proto/gen/treue/reporting/v1"
)

// eraseAndCheck erases a member who has points, a survey response with a comment, a
// case and a coupon, and checks every service: no personal datum of theirs is left in
// any table of any schema, each service's export shows the erasure and nothing personal,
// and the member's balance and the programme's totals are what they were.
//
// personal maps each personal datum to the schemas that must hold it before the
// erasure, so that the test proves something.
func eraseAndCheck(t *testing.T, sys *system, member string, personal map[string][]string) {
	t.Helper()
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "privacy"))
	reportAPI := reportingv1.NewReportingServiceClient(sys.Conn(sys.rept, "auditor"))
	before := balance(t, ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin")), member)
	pointsBefore, err := reportAPI.GetPointsSummary(ctx, &reportingv1.GetPointsSummaryRequest{})
	must(t, err)
	npsBefore, err := reportAPI.GetNps(ctx, &reportingv1.GetNpsRequest{})
	must(t, err)

	// Every service holds something personal of the member before.
	for needle, schemas := range personal {
		where := strings.Join(sys.find(t, needle), " ")
		for _, schema := range schemas {
			if !strings.Contains(" "+where, " "+schema+".") {
				t.Fatalf("%q is not in %s before the erasure (only in %q): the test would prove nothing", needle, schema, where)
			}
		}
	}

	erased, err := ledgerAPI.EraseMember(ctx, &ledgerv1.EraseMemberRequest{MemberId: member, Reason: "the member asked, ticket 4711"})
	must(t, err)
	again, err := ledgerAPI.EraseMember(ctx, &ledgerv1.EraseMemberRequest{MemberId: member, Reason: "asked twice"})
	must(t, err)
	if !again.GetErasedAt().AsTime().Equal(erased.GetErasedAt().AsTime()) || again.GetReason() != "the member asked, ticket 4711" {
		t.Fatalf("a second erasure answered %v, want the first %v", again, erased)
	}

	// Each service erases its copy when ledger.member.erased reaches it.
	for needle := range personal {
		testkit.Eventually(t, 20*time.Second, "every copy of "+needle+" erased", func() bool {
			where := sys.find(t, needle)
			if len(where) > 0 {
				t.Logf("%q still in %v", needle, where)
			}
			return len(where) == 0
		})
	}
	for name, addr := range map[string]string{"ledger": sys.ledger, "survey": sys.survey, "feedback": sys.feedback, "rewards": sys.rewards, "reporting": sys.rept} {
		exp, err := privacyv1.NewPrivacyServiceClient(sys.Conn(addr, "privacy")).ExportMember(ctx, &privacyv1.ExportMemberRequest{MemberId: member})
		must(t, err)
		js, _ := protojson.Marshal(exp)
		for needle := range personal {
			if strings.Contains(string(js), needle) {
				t.Errorf("%s's export still holds %q: %s", name, needle, js)
			}
		}
	}

	after := balance(t, ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin")), member)
	if after.GetAvailable() != before.GetAvailable() || after.GetHeld() != before.GetHeld() {
		t.Errorf("balance %v after the erasure, %v before", after, before)
	}
	pointsAfter, err := reportAPI.GetPointsSummary(ctx, &reportingv1.GetPointsSummaryRequest{})
	must(t, err)
	npsAfter, err := reportAPI.GetNps(ctx, &reportingv1.GetNpsRequest{})
	must(t, err)
	if pointsAfter.GetIssued() != pointsBefore.GetIssued() || pointsAfter.GetOutstanding() != pointsBefore.GetOutstanding() ||
		npsAfter.GetOverall().GetResponses() != npsBefore.GetOverall().GetResponses() || npsAfter.GetOverall().GetScore() != npsBefore.GetOverall().GetScore() {
		t.Errorf("programme figures changed by the erasure: points %v -> %v, NPS %v -> %v", pointsBefore, pointsAfter, npsBefore.GetOverall(), npsAfter.GetOverall())
	}
	checkLedgerInvariants(t, sys.db)
}

// find returns the schema.table.column places of the five services that hold needle, in
// text, JSON or bytes (outbox payloads, dead letters).
func (s *system) find(t *testing.T, needle string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := s.db.Query(ctx, `
		SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema IN ('ledger', 'survey', 'feedback', 'rewards', 'reporting')
		  AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea')
		  AND table_name IN (SELECT table_name FROM information_schema.tables t
		                     WHERE t.table_schema = columns.table_schema AND t.table_type = 'BASE TABLE')`)
	must(t, err)
	type col struct{ schema, table, column, typ string }
	var cols []col
	for rows.Next() {
		var c col
		must(t, rows.Scan(&c.schema, &c.table, &c.column, &c.typ))
		cols = append(cols, c)
	}
	must(t, rows.Err())
	var where []string
	for _, c := range cols {
		q := fmt.Sprintf(`SELECT count(*) FROM %q.%q WHERE position($1 in %q::text) > 0`, c.schema, c.table, c.column)
		arg := needle
		if c.typ == "bytea" {
			q = fmt.Sprintf(`SELECT count(*) FROM %q.%q WHERE position(decode($1, 'hex') in %q) > 0`, c.schema, c.table, c.column)
			arg = hex.EncodeToString([]byte(needle))
		}
		if s.db.Count(q, arg) > 0 {
			where = append(where, c.schema+"."+c.table+"."+c.column)
		}
	}
	return where
}
