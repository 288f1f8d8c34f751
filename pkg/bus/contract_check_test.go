package bus_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/treue/treue/pkg/bus"
	eventv1 "github.com/treue/treue/proto/gen/treue/event/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
)

func contract(t *testing.T, name string, produces []proto.Message, consumes ...proto.Message) bus.Contract {
	t.Helper()
	c, err := bus.NewContract(name, produces, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range consumes {
		c.Consumes = append(c.Consumes, bus.MustSpec(m))
	}
	return c
}

// The check the system's contract test runs: each breach it exists for is reported.
func TestCheckContracts(t *testing.T) {
	ledger := contract(t, "ledger", []proto.Message{&ledgerv1.PointsCredited{}}, &posv1.PurchaseRecorded{})
	survey := contract(t, "survey", []proto.Message{&surveyv1.ResponseSubmitted{}}, &ledgerv1.PointsCredited{})
	if errs := bus.CheckContracts([]bus.Contract{ledger, survey}); len(errs) != 0 {
		t.Fatalf("a sound pair of contracts: %v", errs)
	}
	tests := []struct {
		name string
		cs   []bus.Contract
		want string
	}{
		{"consumed, produced by none", []bus.Contract{ledger, contract(t, "reporting", nil, &ledgerv1.HoldVoided{})}, "no service produces"},
		{"produced twice", []bus.Contract{ledger, survey, contract(t, "rogue", []proto.Message{&ledgerv1.PointsCredited{}})}, "produced by both"},
		{"an external event produced", []bus.Contract{contract(t, "pos", []proto.Message{&posv1.PurchaseRecorded{}})}, "retailer's systems publish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := bus.CheckContracts(tt.cs)
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Fatalf("errors %v, want one saying %q", errs, tt.want)
			}
		})
	}
}

// An event type whose fields carry no rules is refused; built at run time, since every
// event of the real contract has them.
func TestCheckContractsWantsRulesOnEveryField(t *testing.T) {
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("unruled/v1/unruled.proto"),
		Package: proto.String("unruled.v1"),
		Syntax:  proto.String("proto3"),
		Options: &descriptorpb.FileOptions{},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:    proto.String("Happened"),
			Options: &descriptorpb.MessageOptions{},
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("amount"), Number: proto.Int32(1), JsonName: proto.String("amount"),
				Type:  descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			}},
		}},
	}
	proto.SetExtension(fdp.Options, eventv1.E_Stream, &eventv1.Stream{Name: "UNRULED", Subjects: []string{"unruled.>"}})
	proto.SetExtension(fdp.MessageType[0].Options, eventv1.E_Event, &eventv1.Event{Subject: "unruled.happened"})
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := bus.SpecOf(fd.Messages().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	errs := bus.CheckContracts([]bus.Contract{{Service: "x", Produces: []bus.EventSpec{spec}}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "[amount] carry no validation rules") {
		t.Fatalf("errors %v, want the unruled field named", errs)
	}
}
