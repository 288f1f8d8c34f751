package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/treue/treue/pkg/testkit"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/survey/service"
)

// export calls ExportMember as role and returns the response and its data as JSON
// values.
func (e *env) export(role, member string) (*privacyv1.ExportMemberResponse, map[string]any, error) {
	e.t.Helper()
	resp, err := privacyv1.NewPrivacyServiceClient(e.Conn(e.api, role)).ExportMember(testkit.Ctx(e.t),
		&privacyv1.ExportMemberRequest{MemberId: member})
	if err != nil {
		return nil, nil, err
	}
	return resp, resp.GetData().AsMap(), nil
}

func (e *env) mustExport(role, member string) map[string]any {
	e.t.Helper()
	resp, data, err := e.export(role, member)
	if err != nil {
		e.t.Fatalf("ExportMember as %s: %v", role, err)
	}
	if resp.GetService() != service.Name || resp.GetMemberId() != member || resp.GetExportedAt() == nil {
		e.t.Errorf("export header: service %q, member %q, exported at %v", resp.GetService(), resp.GetMemberId(), resp.GetExportedAt())
	}
	return data
}

// list returns the export's list of kind.
func list(data map[string]any, kind string) []map[string]any {
	var out []map[string]any
	for _, v := range asSlice(data[kind]) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// The export holds the member copy, invitations and responses with their comments;
// after the erasure only that the member was erased. Only admin and privacy may ask.
func TestExportMemberBeforeAndAfterErasure(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *service.Config) { c.ContactInterval = 0 })
	const comment = "Herr Schmidt an Kasse 2 hat mir sehr geholfen"
	answered := e.invite("de-AT")
	member := answered.GetMemberId()
	if _, err := e.service.SubmitResponse(testkit.Ctx(t), &surveyv1.SubmitResponseRequest{
		Token: tokenOf(t, answered.GetUrl()), Score: 10, Comment: comment,
	}); err != nil {
		t.Fatal(err)
	}
	e.buy(purchase("S2", member))
	testkit.Eventually(t, 10*time.Second, "second invitation", func() bool { return e.invitationEvents(member) == 2 })
	parkedOnly := uuid.NewString()
	e.buy(purchase("S9", parkedOnly))

	for _, role := range []string{"privacy", "admin"} {
		data := e.mustExport(role, member)
		m, _ := data["member"].(map[string]any)
		if m["locale"] != "de-AT" || m["survey_consent"] != true || m["last_invited_at"] == nil {
			t.Errorf("%s: member = %v", role, m)
		}
		invs := list(data, "invitations")
		if len(invs) != 2 {
			t.Fatalf("%s: %d invitations exported, want 2: %v", role, len(invs), data)
		}
		// Newest first: the open one, then the answered one.
		if invs[1]["invitation_id"] != answered.GetInvitationId() || invs[1]["answered"] != true || invs[0]["answered"] != false ||
			invs[1]["store_id"] != "S1" || invs[0]["store_id"] != "S2" || invs[1]["touchpoint"] != "PURCHASE" {
			t.Errorf("%s: invitations = %v", role, invs)
		}
		resps := list(data, "responses")
		if len(resps) != 1 || resps[0]["comment"] != comment || resps[0]["score"] != 10.0 ||
			resps[0]["nps_class"] != "PROMOTER" || resps[0]["invitation_id"] != answered.GetInvitationId() {
			t.Errorf("%s: responses = %v", role, resps)
		}
		// With the version answered and every answer: the comment is the follow-up of a 10.
		answers, _ := resps[0]["answers"].(map[string]any)
		praise, _ := answers["praise"].(map[string]any)
		nps, _ := answers["nps"].(map[string]any)
		if resps[0]["survey_version"] != 1.0 || resps[0]["score_kind"] != "NPS" || resps[0]["locale"] != "de" ||
			praise["text"] != comment || nps["score"] != 10.0 || len(answers) != 2 {
			t.Errorf("%s: response answers = %v", role, resps[0])
		}
		if _, erased := data["erased_at"]; erased {
			t.Errorf("%s: a member not erased exported as erased: %v", role, data)
		}
	}
	if parked := list(e.mustExport("privacy", parkedOnly), "parked_triggers"); len(parked) != 1 || parked[0]["store_id"] != "S9" {
		t.Errorf("parked triggers of a member not enrolled yet = %v", parked)
	}

	e.erase(member)
	e.erase(parkedOnly)

	data := e.mustExport("privacy", member)
	if data["erased_at"] == nil || len(data) != 1 {
		t.Errorf("export after erasure = %v, want only the erasure", data)
	}
	if b, _ := json.Marshal(data); strings.Contains(string(b), "Schmidt") || strings.Contains(string(b), answered.GetInvitationId()) {
		t.Errorf("export after erasure still shows the member's data: %s", b)
	}
	if data := e.mustExport("privacy", parkedOnly); len(data) != 1 || data["erased_at"] == nil {
		t.Errorf("export of an erased member known by a parked trigger = %v", data)
	}
}

func TestExportMemberAccess(t *testing.T) {
	t.Parallel()
	e := start(t)
	unknown := uuid.NewString()
	if data := e.mustExport("privacy", unknown); len(data) != 0 {
		t.Errorf("export of an unknown member = %v, want empty", data)
	}
	for _, role := range []string{"marketing", "service_agent", "pos", "auditor", "service"} {
		if _, _, err := e.export(role, unknown); status.Code(err) != codes.PermissionDenied {
			t.Errorf("ExportMember as %s: %v, want PermissionDenied", role, err)
		}
	}
	if _, _, err := e.export("", unknown); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ExportMember without a key: %v, want Unauthenticated", err)
	}
	_, _, err := e.export("admin", "")
	wantInvalidField(t, err, "member_id")
}

// holders returns the columns ("table.column") of the survey's tables in which some row
// holds needle, as text or inside bytes (an event in the outbox or a dead letter).
func (e *env) holders(needle string) []string {
	e.t.Helper()
	ctx := context.Background()
	rows, err := e.db.Query(ctx, `
		SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`)
	if err != nil {
		e.t.Fatal(err)
	}
	type column struct{ table, name, kind string }
	cols, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (column, error) {
		var c column
		return c, row.Scan(&c.table, &c.name, &c.kind)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, c := range cols {
		ref := pgx.Identifier{c.name}.Sanitize()
		cond := fmt.Sprintf(`strpos(%s::text, $1) > 0`, ref)
		if c.kind == "bytea" {
			cond = fmt.Sprintf(`position(convert_to($1, 'UTF8') IN %s) > 0`, ref)
		}
		if e.db.Count(fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s`, pgx.Identifier{c.table}.Sanitize(), cond), needle) > 0 {
			out = append(out, c.table+"."+c.name)
		}
	}
	slices.Sort(out)
	return out
}
