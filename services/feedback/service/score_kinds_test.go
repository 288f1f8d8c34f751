package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/services/feedback/internal/ports/events"
)

// scored makes a response a kind's: no NPS class, the kind's flags from the score.
func scored(kind commonv1.ScoreKind) responseOpt {
	return func(r *surveyv1.ResponseSubmitted) {
		r.ScoreKind, r.NpsClass = kind, commonv1.NpsClass_NPS_CLASS_UNSPECIFIED
		r.CsatSatisfied = kind == commonv1.ScoreKind_SCORE_KIND_CSAT && r.Score >= 4
		r.CesLowEffort = kind == commonv1.ScoreKind_SCORE_KIND_CES && r.Score >= 5
	}
}

func attributed(employee string, channel commonv1.Channel) responseOpt {
	return func(r *surveyv1.ResponseSubmitted) {
		r.EmployeeId, r.Channel, r.TouchpointKey = employee, channel, "pos:store-17:T1"
	}
}

// TestCSATAndCESRouting: a dissatisfied CSAT (1-2) or a hard CES (1-3) opens a call-back
// like a detractor, its case and event carrying the score's kind and the employee; a
// CSAT 3 or an easy CES opens none; NPS is routed as before; a CSAT that carries an NPS
// class, or a score outside its kind's scale, is a dead letter naming the fault.
func TestCSATAndCESRouting(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	csat := commonv1.ScoreKind_SCORE_KIND_CSAT
	ces := commonv1.ScoreKind_SCORE_KIND_CES

	csat2 := e.submit(2, scored(csat), attributed("emp-7", commonv1.Channel_CHANNEL_STORE))
	csat3 := e.submit(3, scored(csat))
	ces6 := e.submit(6, scored(ces))
	ces3 := e.submit(3, scored(ces))
	nps2 := e.submit(2, func(r *surveyv1.ResponseSubmitted) { r.ScoreKind = commonv1.ScoreKind_SCORE_KIND_NPS })
	withClass := newResponse(2, scored(csat))
	withClass.NpsClass = commonv1.NpsClass_NPS_CLASS_DETRACTOR
	e.publish(withClass)
	outOfScale := newResponse(7, scored(csat))
	e.publish(outOfScale)
	last := e.submit(9) // an NPS from before kinds: a promoter
	e.waitCase(last.GetResponseId())

	c := e.waitCase(csat2.GetResponseId())
	if c.GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK || c.GetTeam() != "customer-service" || c.GetScore() != 2 ||
		c.GetNpsClass() != commonv1.NpsClass_NPS_CLASS_UNSPECIFIED || c.GetScoreKind() != csat || c.GetEmployeeId() != "emp-7" {
		t.Errorf("CSAT 2 case %v", c)
	}
	if c := e.waitCase(ces3.GetResponseId()); c.GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK {
		t.Errorf("CES 3 case %v", c)
	}
	if c := e.waitCase(nps2.GetResponseId()); c.GetKind() != feedbackv1.CaseKind_CASE_KIND_CALLBACK {
		t.Errorf("NPS 2 case %v", c)
	}
	for _, r := range []*surveyv1.ResponseSubmitted{csat3, ces6, withClass, outOfScale} {
		if c := e.caseOf(r.GetResponseId()); c != nil {
			t.Errorf("response %v opened case %v", r, c)
		}
	}
	var kind, employee string
	if err := e.db.QueryRow(ctx, `SELECT score_kind, employee_id FROM cases WHERE response_id = $1`, csat2.GetResponseId()).
		Scan(&kind, &employee); err != nil || kind != "CSAT" || employee != "emp-7" {
		t.Errorf("stored CSAT case: kind %q, employee %q, %v", kind, employee, err)
	}
	testkit.Eventually(t, 10*time.Second, "cases announced with their kinds", func() bool {
		byResponse := map[string]*feedbackv1.CaseOpened{}
		for _, o := range e.opened() {
			byResponse[o.GetResponseId()] = o
		}
		a, b, n := byResponse[csat2.GetResponseId()], byResponse[ces3.GetResponseId()], byResponse[last.GetResponseId()]
		return len(byResponse) == 4 && a != nil && a.GetScoreKind() == csat && a.GetEmployeeId() == "emp-7" &&
			b != nil && b.GetScoreKind() == ces && n != nil && n.GetScoreKind() == commonv1.ScoreKind_SCORE_KIND_NPS
	})
	var letters []string
	testkit.Eventually(t, 10*time.Second, "two dead letters", func() bool {
		rows, err := e.db.Query(ctx, `SELECT error FROM dead_letters WHERE consumer = $1 ORDER BY stream_seq`, events.ConsumerSurvey)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		letters = letters[:0]
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			letters = append(letters, s)
		}
		return len(letters) == 2
	})
	if !strings.Contains(letters[0], "a CSAT response has nps_class DETRACTOR") || !strings.Contains(letters[1], "CSAT score 7 is outside 1-5") {
		t.Errorf("dead letters %q", letters)
	}
}

// TestRoutingOnEmployee: a rule may route on the employee and the channel.
func TestRoutingOnEmployee(t *testing.T) {
	t.Parallel()
	e := start(t)
	if _, err := e.db.Exec(context.Background(), `INSERT INTO routing_rules (name, priority, condition, case_kind, team, due_in) VALUES
		('trainee-coaching', 10, 'response.employee_id.startsWith("trainee-") && channel == "STORE" && !csat_satisfied && score_kind == "CSAT"',
		 'CALLBACK', 'store-coaching', interval '24 hours')`); err != nil {
		t.Fatal(err)
	}
	trainee := e.submit(1, scored(commonv1.ScoreKind_SCORE_KIND_CSAT), attributed("trainee-3", commonv1.Channel_CHANNEL_STORE))
	web := e.submit(1, scored(commonv1.ScoreKind_SCORE_KIND_CSAT), attributed("trainee-3", commonv1.Channel_CHANNEL_WEB))
	senior := e.submit(1, scored(commonv1.ScoreKind_SCORE_KIND_CSAT), attributed("emp-1", commonv1.Channel_CHANNEL_STORE))
	if c := e.waitCase(trainee.GetResponseId()); c.GetTeam() != "store-coaching" {
		t.Errorf("trainee's CSAT 1 went to %q", c.GetTeam())
	}
	for _, r := range []*surveyv1.ResponseSubmitted{web, senior} {
		if c := e.waitCase(r.GetResponseId()); c.GetTeam() != "customer-service" {
			t.Errorf("%s's %s CSAT 1 went to %q", r.GetEmployeeId(), r.GetChannel(), c.GetTeam())
		}
	}
}

// TestCaseResolvedNamesMember: the resolution of a case announces its member.
func TestCaseResolvedNamesMember(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	r := e.submit(3, withMember(member))
	c := e.waitCase(r.GetResponseId())
	if _, err := e.client.ResolveCase(as(keyAlice), &feedbackv1.ResolveCaseRequest{
		CaseId: c.GetCaseId(), Outcome: feedbackv1.CaseOutcome_CASE_OUTCOME_CONTACTED_RESOLVED}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the resolution announced with its member", func() bool {
		rs := e.resolved()
		return len(rs) == 1 && rs[0].GetMemberId() == member && rs[0].GetCaseId() == c.GetCaseId()
	})
}
