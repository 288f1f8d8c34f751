package service_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/treue/treue/pkg/bus"

	"github.com/treue/treue/services/feedback/service"
)

func TestContract(t *testing.T) {
	c, err := service.Contract()
	if err != nil {
		t.Fatal(err)
	}
	types := func(specs []bus.EventSpec) []protoreflect.FullName {
		var out []protoreflect.FullName
		for _, s := range specs {
			out = append(out, s.Type)
		}
		slices.Sort(out)
		return out
	}
	if got := types(c.Produces); !slices.Equal(got, []protoreflect.FullName{"treue.feedback.v1.CaseOpened", "treue.feedback.v1.CaseResolved"}) {
		t.Errorf("produces %v", got)
	}
	if got := types(c.Consumes); !slices.Equal(got, []protoreflect.FullName{"treue.ledger.v1.MemberErased", "treue.survey.v1.ResponseSubmitted"}) {
		t.Errorf("consumes %v", got)
	}
}
