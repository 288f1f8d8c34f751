package postgres

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/treue/treue/services/ledger/internal/domain/earn"
)

func TestAppendPartsIsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	texts := []string{"", "base rate 1 per EUR", "Double coffee \"Berlin\"", `a\b`, "<b>&</b>", "tab\there\nline",
		"Kaffee für alle", "\u2028\u2029", "\x00\x1f\x7f", "bad \xff utf-8", "months:12", "per_day",
		"0198c8f0-7a1b-7c3d-9e4f-0123456789ab"}
	text := func() string { return texts[r.IntN(len(texts))] }
	ints := func() []int64 {
		if r.IntN(5) == 0 {
			return nil
		}
		out := make([]int64, r.IntN(6))
		for i := range out {
			out[i] = r.Int64() >> r.IntN(64)
			if r.IntN(3) == 0 {
				out[i] = -out[i]
			}
		}
		return out
	}
	for n := range 2000 {
		var parts []partJSON
		if n%50 != 0 {
			parts = make([]partJSON, r.IntN(12))
		}
		for i := range parts {
			var idx []int
			for _, v := range ints() {
				idx = append(idx, int(v))
			}
			if idx == nil && r.IntN(2) == 0 {
				idx = []int{}
			}
			parts[i] = partJSON{RuleID: text(), Version: r.IntN(3) * r.IntN(1000), Name: text() + text(), CampaignID: text(),
				MatchedLines: idx, LinePoints: ints(), Uncapped: r.Int64N(1 << 40), Points: -r.Int64N(3) + r.Int64N(1<<20),
				Cap: text(), Expiry: text(), ExpiryOverridden: r.IntN(2) == 0}
		}
		want, err := json.Marshal(parts)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendParts(nil, parts); string(got) != string(want) {
			t.Fatalf("appendParts:\n%s\njson.Marshal:\n%s", got, want)
		}
	}
	if got := string(appendParts([]byte("x"), []partJSON{{RuleID: "base"}})); !strings.HasPrefix(got, `x[{"rule_id":"base"`) {
		t.Fatalf("does not append: %s", got)
	}
}

func TestGroupPartsKeepsEachCreditsOrder(t *testing.T) {
	part := func(tx string, n int) earn.CreditPart {
		return earn.CreditPart{TransactionID: tx, Reference: "ref " + tx, Part: earn.Part{RuleID: tx, Points: int64(n)}}
	}
	g := groupParts([]earn.CreditPart{part("b", 1), part("a", 1), part("b", 2), part("c", 1), part("a", 2), part("b", 3)})
	var got []string
	for o, id := range g.ids {
		for _, p := range g.parts[g.bounds[o]:g.bounds[o+1]] {
			got = append(got, g.refs[o]+":"+id+"/"+p.RuleID+strconv.FormatInt(p.Points, 10))
		}
	}
	want := []string{"ref b:b/b1", "ref b:b/b2", "ref b:b/b3", "ref a:a/a1", "ref a:a/a2", "ref c:c/c1"}
	if !slices.Equal(got, want) {
		t.Fatalf("grouped %v, want %v", got, want)
	}
}
