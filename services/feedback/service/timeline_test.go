package service_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/testkit"
	feedbackv1 "github.com/treue/treue/proto/gen/treue/feedback/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"

	"github.com/treue/treue/services/feedback/internal/ports/events"
)

// TestCustomerTimeline: a member's response, the case it opened with its moves and
// note, and the points the ledger credited come in one view, newest first; pages of two
// give the same entries; only agents and admins may read it; after the erasure it is
// empty.
func TestCustomerTimeline(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	past := time.Now().Add(-time.Hour)
	credit := e.publish(&ledgerv1.PointsCredited{TransactionId: uuid.NewString(), MemberId: member, Points: 50,
		Reason: ledgerv1.PointsReason_POINTS_REASON_PURCHASE, Reference: "pos:s1:t9", OccurredAt: timestamppb.New(past)})
	r := newResponse(2, withMember(member))
	r.TouchpointKey, r.StoreId, r.Comment = "pos:s1:t9", "s1", "the till was slow"
	answered := e.publish(r)
	e.WaitHandled(events.ConsumerPoints, credit)
	e.WaitHandled(events.ConsumerTimeline, answered)
	c := e.waitCase(r.GetResponseId())
	if _, err := e.client.AcknowledgeCase(as(keyAlice), &feedbackv1.AcknowledgeCaseRequest{CaseId: c.GetCaseId()}); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	if _, err := e.client.AddNote(as(keyAlice), &feedbackv1.AddNoteRequest{CaseId: c.GetCaseId(), Text: "called, no answer"}); err != nil {
		t.Fatalf("note: %v", err)
	}

	// The case names the purchase behind it, for every role that reads cases.
	got, err := e.client.GetCase(as(keyMarket), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()})
	if err != nil || got.GetCase().GetTouchpointKey() != "pos:s1:t9" || got.GetCase().GetStoreId() != "s1" ||
		got.GetCase().GetTouchpoint() != r.GetTouchpoint() {
		t.Errorf("the case's touchpoint: %v, %v", got.GetCase(), err)
	}
	anonymous := newResponse(1)
	anonymous.MemberId, anonymous.TouchpointKey = "", "pos:s2:t1"
	e.WaitHandled(events.ConsumerTimeline, e.publish(anonymous))
	ac := e.waitCase(anonymous.GetResponseId())
	if got, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: ac.GetCaseId()}); err != nil ||
		got.GetCase().GetTouchpointKey() != "pos:s2:t1" || got.GetCase().GetCustomer() != nil {
		t.Errorf("a case without a member: %v, %v", got.GetCase(), err)
	}

	all := timeline(t, e, keyAlice, member, 100)
	// Oldest first, the things that must be there in this order.
	want := []func(*feedbackv1.TimelineEntry) bool{
		func(x *feedbackv1.TimelineEntry) bool {
			return x.GetKind() == "points_credited" && x.GetPoints() == 50 && x.GetReason() == "PURCHASE" && x.GetReference() == "pos:s1:t9"
		},
		func(x *feedbackv1.TimelineEntry) bool {
			return x.GetKind() == "response" && x.GetResponseId() == r.GetResponseId() && x.GetScore() == 2 &&
				x.GetComment() == "the till was slow" && x.GetTouchpointKey() == "pos:s1:t9" && x.GetStoreId() == "s1"
		},
		func(x *feedbackv1.TimelineEntry) bool {
			return x.GetKind() == "case" && x.GetAction() == "open" && x.GetCaseId() == c.GetCaseId() && x.GetTeam() == c.GetTeam()
		},
		func(x *feedbackv1.TimelineEntry) bool {
			return x.GetKind() == "case" && x.GetAction() == "acknowledge" && x.GetToStatus() == feedbackv1.CaseStatus_CASE_STATUS_ACKNOWLEDGED
		},
		func(x *feedbackv1.TimelineEntry) bool {
			return x.GetKind() == "note" && x.GetNote() == "called, no answer" && x.GetBy() == "alice"
		},
	}
	next := 0
	for i := len(all) - 1; i >= 0 && next < len(want); i-- {
		if want[next](all[i]) {
			next++
		}
	}
	if next < len(want) {
		t.Errorf("timeline lacks entry %d of the expected order: %v", next, all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].GetAt().AsTime().After(all[i-1].GetAt().AsTime()) {
			t.Errorf("entry %d is newer than entry %d", i, i-1)
		}
	}

	// Pages of two: the same entries.
	var paged []*feedbackv1.TimelineEntry
	token := ""
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatalf("paging does not end")
		}
		resp, err := e.client.GetCustomerTimeline(as(keyAdmin), &feedbackv1.GetCustomerTimelineRequest{MemberId: member, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		paged = append(paged, resp.GetEntries()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(paged) != len(all) {
		t.Fatalf("pages hold %d entries, the whole %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].GetKind() != all[i].GetKind() || !paged[i].GetAt().AsTime().Equal(all[i].GetAt().AsTime()) || paged[i].GetAction() != all[i].GetAction() {
			t.Errorf("paged entry %d %v, whole %v", i, paged[i], all[i])
		}
	}
	_, err = e.client.GetCustomerTimeline(as(keyAlice), &feedbackv1.GetCustomerTimelineRequest{MemberId: member, PageToken: "bm90IGEgdG9rZW4"})
	testkit.WantCode(t, err, codes.InvalidArgument)

	for _, key := range []string{keyMarket, keyAuditor} {
		_, err := e.client.GetCustomerTimeline(as(key), &feedbackv1.GetCustomerTimelineRequest{MemberId: member})
		testkit.WantCode(t, err, codes.PermissionDenied)
	}

	erased := e.publish(&ledgerv1.MemberErased{MemberId: member, ErasedAt: timestamppb.Now()})
	e.WaitHandled(events.ConsumerMembers, erased)
	late := newResponse(9, withMember(member))
	e.WaitHandled(events.ConsumerTimeline, e.publish(late))
	if left := timeline(t, e, keyAlice, member, 100); len(left) != 0 {
		t.Errorf("the erased member's timeline holds %v", left)
	}
	if got, err := e.client.GetCase(as(keyAlice), &feedbackv1.GetCaseRequest{CaseId: c.GetCaseId()}); err != nil || got.GetCase().GetTouchpointKey() != "" {
		t.Errorf("the erased member's case keeps its purchase: %v, %v", got.GetCase(), err)
	}
}

// timeline reads one page of the member's timeline.
func timeline(t *testing.T, e *env, key, member string, size int32) []*feedbackv1.TimelineEntry {
	t.Helper()
	resp, err := e.client.GetCustomerTimeline(as(key), &feedbackv1.GetCustomerTimelineRequest{MemberId: member, PageSize: size})
	if err != nil {
		t.Fatalf("timeline: %v", err)
	}
	return resp.GetEntries()
}
