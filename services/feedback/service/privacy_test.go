package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
)

func (e *env) export(key, member string) *privacyv1.ExportMemberResponse {
	e.t.Helper()
	resp, err := e.privacy.ExportMember(as(key), &privacyv1.ExportMemberRequest{MemberId: member})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// exportedCases returns the export's cases by response id.
func exportedCases(t *testing.T, resp *privacyv1.ExportMemberResponse) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, v := range resp.GetData().GetFields()["cases"].GetListValue().GetValues() {
		c := v.GetStructValue().AsMap()
		out[c["response_id"].(string)] = c
	}
	return out
}

// TestExportMember: the member's cases with their comments, outcomes and notes, for
// the roles admin and privacy; after the member's erasure, only when it happened, while
// the cases stay, anonymised and countable.
func TestExportMember(t *testing.T) {
	t.Parallel()
	e := start(t)
	m := e.memberWithCases()
	member, other, detractor, promoter, c := m.member, m.other, m.callback, m.referral, m.resolved
	total := len(e.allCases(&feedbackv1.ListCasesRequest{}))

	t.Run("roles", func(t *testing.T) {
		for _, key := range []string{keyAdmin, keyPrivacy} {
			if resp := e.export(key, member); len(exportedCases(t, resp)) != 2 {
				t.Errorf("%s: export = %v", key, resp)
			}
		}
		for _, key := range []string{keyAlice, keyAuditor, keyPOS, keyMarket} {
			_, err := e.privacy.ExportMember(as(key), &privacyv1.ExportMemberRequest{MemberId: member})
			testkit.WantCode(t, err, codes.PermissionDenied)
		}
	})

	t.Run("unknown member", func(t *testing.T) {
		resp := e.export(keyPrivacy, uuid.NewString())
		if len(resp.GetData().GetFields()) != 0 {
			t.Errorf("export of an unknown member = %v", resp.GetData())
		}
	})

	t.Run("before erasure", func(t *testing.T) {
		resp := e.export(keyPrivacy, member)
		if resp.GetService() != "feedback" || resp.GetMemberId() != member || time.Since(resp.GetExportedAt().AsTime()) > time.Minute {
			t.Errorf("export = %v", resp)
		}
		if _, ok := resp.GetData().GetFields()["erased_at"]; ok {
			t.Errorf("a member not erased has erased_at: %v", resp.GetData())
		}
		cases := exportedCases(t, resp)
		d, p := cases[detractor.GetResponseId()], cases[promoter.GetResponseId()]
		if d["case_id"] != c.GetCaseId() || d["comment"] != "scored 2" || d["score"] != float64(2) || d["kind"] != "CALLBACK" ||
			d["status"] != "resolved" || d["outcome"] != "CONTACTED_UNRESOLVED" || d["resolution_note"] != "customer wants a refund" ||
			d["resolved_at"] == nil || d["store_id"] != "store-17" || d["touchpoint"] != "PURCHASE" || d["team"] != "customer-service" {
			t.Errorf("exported detractor case = %v", d)
		}
		if p["comment"] != "scored 10" || p["status"] != "open" || p["kind"] != "REFERRAL_REQUEST" {
			t.Errorf("exported promoter case = %v", p)
		}
		if _, ok := p["outcome"]; ok {
			t.Errorf("an open case has an outcome: %v", p)
		}
		if _, ok := d["resolved_by"]; ok {
			t.Errorf("the export names the agent: %v", d)
		}
	})

	t.Run("after erasure", func(t *testing.T) {
		erasedAt := time.Now()
		e.publish(&ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.New(erasedAt)})
		var resp *privacyv1.ExportMemberResponse
		testkit.Eventually(t, 10*time.Second, "the erasure in the export", func() bool {
			resp = e.export(keyPrivacy, member)
			_, ok := resp.GetData().GetFields()["erased_at"]
			return ok
		})
		data := resp.GetData().GetFields()
		if len(data) != 1 {
			t.Errorf("export after erasure holds more than when: %v", resp.GetData())
		}
		at, err := time.Parse(time.RFC3339Nano, data["erased_at"].GetStringValue())
		if err != nil || at.Before(erasedAt.Add(-time.Minute)) || at.After(time.Now()) {
			t.Errorf("erased_at = %v (%v)", data["erased_at"], err)
		}
		js, err := protojson.Marshal(resp.GetData())
		if err != nil {
			t.Fatal(err)
		}
		for _, trace := range []string{member, "scored", "refund"} {
			if strings.Contains(string(js), trace) {
				t.Errorf("export after erasure holds %q: %s", trace, js)
			}
		}
		// The cases stay: countable, anonymised.
		if n := len(e.allCases(&feedbackv1.ListCasesRequest{})); n != total {
			t.Errorf("%d cases after the erasure, %d before", n, total)
		}
		for _, r := range []string{detractor.GetResponseId(), promoter.GetResponseId()} {
			if c := e.caseOf(r); c == nil || c.GetMemberId() != "" || c.GetComment() != "" || c.GetResolutionNote() != "" {
				t.Errorf("case of response %s after the erasure = %v", r, c)
			}
		}
		// Another member's export is untouched.
		if got := exportedCases(t, e.export(keyAdmin, other)); len(got) != 1 {
			t.Errorf("other member's export = %v", got)
		}
	})
}
