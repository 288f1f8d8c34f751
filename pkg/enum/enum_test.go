package enum_test

import (
	"testing"

	"github.com/treue/treue/pkg/enum"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
)

type channel string

func TestMapBothWays(t *testing.T) {
	m := enum.New(map[channel]commonv1.Channel{"store": commonv1.Channel_CHANNEL_STORE, "web": commonv1.Channel_CHANNEL_WEB})
	if got := m.Proto("web"); got != commonv1.Channel_CHANNEL_WEB {
		t.Errorf("Proto(web) = %v", got)
	}
	if got := m.Proto("fax"); got != commonv1.Channel_CHANNEL_UNSPECIFIED {
		t.Errorf("Proto(fax) = %v, want unspecified", got)
	}
	if d, ok := m.Domain(commonv1.Channel_CHANNEL_STORE); !ok || d != "store" {
		t.Errorf("Domain(store) = %q, %v", d, ok)
	}
	if _, ok := m.Domain(commonv1.Channel_CHANNEL_UNSPECIFIED); ok {
		t.Error("Domain(unspecified) is ok")
	}
}
