package convert_test

import (
	"testing"

	"github.com/treue/treue/pkg/enum"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	"github.com/treue/treue/services/survey/internal/convert"
)

// Every value the contract defines has its domain twin, so an enum value added to the
// contract fails here until it is paired.
func TestEnumerationsArePairedWholly(t *testing.T) {
	t.Parallel()
	pairedWholly(t, convert.Touchpoints, commonv1.Touchpoint_name)
	pairedWholly(t, convert.NPSClasses, commonv1.NpsClass_name)
}

// pairedWholly checks that every value of names but the zero one maps to a domain value
// and back.
func pairedWholly[D comparable, P ~int32](t *testing.T, m enum.Map[D, P], names map[int32]string) {
	t.Helper()
	for v, name := range names {
		if v == 0 {
			continue
		}
		if d, ok := m.Domain(P(v)); !ok || m.Proto(d) != P(v) {
			t.Errorf("%s: domain %v, %v; want a value that maps back", name, d, ok)
		}
	}
}
