package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/services/survey/service"
)

// A malformed event goes to the dead letters with its error, and its consumer goes on.
func TestMalformedEventsAreDeadLettered(t *testing.T) {
	t.Parallel()
	e := start(t)
	member := uuid.NewString()
	e.enroll(member, "en", true)

	invalidPurchase := purchase("S1", member)
	invalidPurchase.EventId = "not-a-uuid"
	contact := &touchpointv1.ContactRecorded{EventId: uuid.NewString(), MemberId: member,
		Touchpoint: commonv1.Touchpoint_TOUCHPOINT_PURCHASE, OccurredAt: timestamppb.Now()}
	purchaseSubject, purchaseType := subjectOf(invalidPurchase), string(bus.MustSpec(invalidPurchase).Type)
	enrolment := &ledgerv1.MemberEnrolled{Locale: "en", SurveyConsent: true}
	tests := []struct {
		name, consumer, subject, contentType, eventType string
		data                                            []byte
		wantErr                                         string
	}{
		{"purchase not protobuf", service.ConsumerPOS, purchaseSubject, bus.ContentTypeProto, purchaseType,
			[]byte("\xff\xff\xff not protobuf"), "decode"},
		{"purchase bad json", service.ConsumerPOS, purchaseSubject, bus.ContentTypeJSON, "", []byte(`{"eventId": 42`), "decode"},
		{"purchase invalid", service.ConsumerPOS, purchaseSubject, bus.ContentTypeProto, "", marshal(t, invalidPurchase), "event_id"},
		{"purchase of another type", service.ConsumerPOS, purchaseSubject, bus.ContentTypeProto, string(bus.MustSpec(&posv1.ReturnRecorded{}).Type),
			marshal(t, purchase("S1", member)), "type"},
		{"contact about a purchase", service.ConsumerTouchpoint, subjectOf(contact), bus.ContentTypeProto, "",
			marshal(t, contact), "touchpoint"},
		{"enrolment without member", service.ConsumerMembers, subjectOf(enrolment), bus.ContentTypeProto, "",
			marshal(t, enrolment), "member_id"},
		{"erasure not protobuf", service.ConsumerMembers, subject[*ledgerv1.MemberErased](), bus.ContentTypeProto, "", []byte("\xff\xff"), "decode"},
	}
	ids := map[string]string{}
	for _, tt := range tests {
		id := uuid.NewString()
		ids[tt.name] = id
		e.PublishRaw(testkit.Raw{Subject: tt.subject, ID: id, ContentType: tt.contentType, Type: tt.eventType, Data: tt.data})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var consumer, errText string
			testkit.Eventually(t, 10*time.Second, "dead letter of "+tt.name, func() bool {
				for _, d := range e.For(t).DeadLetters(e.api, "") {
					if d.GetEventId() == ids[tt.name] {
						consumer, errText = d.GetConsumer(), d.GetError()
						return true
					}
				}
				return false
			})
			if consumer != tt.consumer || !strings.Contains(errText, tt.wantErr) {
				t.Errorf("dead letter by %s with %q, want %s with %q", consumer, errText, tt.consumer, tt.wantErr)
			}
		})
	}

	// The consumers go on.
	e.buy(purchase("S1", member))
	e.invitationFor(member)
	other := uuid.NewString()
	e.enroll(other, "de", true)
	e.contact(&touchpointv1.ContactRecorded{EventId: uuid.NewString(), MemberId: other,
		Touchpoint: commonv1.Touchpoint_TOUCHPOINT_WEB_VISIT, OccurredAt: timestamppb.Now()})
	e.invitationFor(other)
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
