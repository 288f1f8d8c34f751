package convert_test

import (
	"testing"

	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	"github.com/treue/treue/services/survey/internal/convert"
)

// Every value the contract defines has its domain twin, so an enum value added to the
// contract fails here until it is paired.
func TestEnumerationsArePairedWholly(t *testing.T) {
	t.Parallel()
	for v := range commonv1.Touchpoint_name {
		p := commonv1.Touchpoint(v)
		if p == commonv1.Touchpoint_TOUCHPOINT_UNSPECIFIED {
			continue
		}
		if d, ok := convert.Touchpoints.Domain(p); !ok || convert.Touchpoints.Proto(d) != p {
			t.Errorf("touchpoint %v: domain %q, %v", p, d, ok)
		}
	}
	for v := range commonv1.NpsClass_name {
		p := commonv1.NpsClass(v)
		if p == commonv1.NpsClass_NPS_CLASS_UNSPECIFIED {
			continue
		}
		if d, ok := convert.NPSClasses.Domain(p); !ok || convert.NPSClasses.Proto(d) != p {
			t.Errorf("NPS class %v: domain %q, %v", p, d, ok)
		}
	}
}
