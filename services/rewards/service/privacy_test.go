package service_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/testkit"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	privacyv1 "github.com/treue/treue/proto/gen/treue/privacy/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	"github.com/treue/treue/services/rewards/internal/app"
	"github.com/treue/treue/services/rewards/internal/domain"
	"github.com/treue/treue/services/rewards/internal/ports/events"
)

// export is a member's export as JSON-like data.
type export struct {
	ErasedAt    string           `json:"erased_at"`
	Redemptions []map[string]any `json:"redemptions"`
	Coupons     []map[string]any `json:"coupons"`
	raw         string
}

func (e *env) export(t *testing.T, role, memberID string) export {
	t.Helper()
	resp, err := privacyv1.NewPrivacyServiceClient(e.Conn(e.addr, "")).ExportMember(e.as(t, role), &privacyv1.ExportMemberRequest{MemberId: memberID})
	if err != nil {
		t.Fatalf("ExportMember: %v", err)
	}
	if resp.GetService() != "rewards" || resp.GetMemberId() != memberID || resp.GetExportedAt() == nil {
		t.Fatalf("export of %s: service %q, member %q, at %v", memberID, resp.GetService(), resp.GetMemberId(), resp.GetExportedAt())
	}
	b, err := resp.GetData().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	out := export{raw: string(b)}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// erase publishes the ledger's MemberErased for memberID and waits until it is handled.
func (e *env) erase(t *testing.T, id, memberID string, at time.Time) {
	t.Helper()
	sent := e.publish(t, id, &ledgerv1.MemberErased{MemberId: memberID, ErasedAt: timestamppb.New(at)})
	e.For(t).WaitHandled(events.ConsumerMembers, sent)
}

func TestExportMember(t *testing.T) {
	t.Parallel()
	e := start(t)

	t.Run("admin and privacy only", func(t *testing.T) {
		t.Parallel()
		client := privacyv1.NewPrivacyServiceClient(e.Conn(e.addr, ""))
		req := &privacyv1.ExportMemberRequest{MemberId: uuid.NewString()}
		for _, role := range []string{"admin", "privacy"} {
			if _, err := client.ExportMember(e.as(t, role), req); err != nil {
				t.Fatalf("as %s: %v", role, err)
			}
		}
		for _, role := range []string{"marketing", "service_agent", "pos", "auditor", "service"} {
			_, err := client.ExportMember(e.as(t, role), req)
			testkit.WantCode(t, err, codes.PermissionDenied)
		}
		_, err := client.ExportMember(e.as(t, ""), req)
		testkit.WantCode(t, err, codes.Unauthenticated)
		_, err = client.ExportMember(grpcx.WithAPIKey(e.as(t, ""), "not-a-key"), req)
		testkit.WantCode(t, err, codes.Unauthenticated)
		_, err = client.ExportMember(e.as(t, "admin"), &privacyv1.ExportMemberRequest{})
		testkit.WantCode(t, err, codes.InvalidArgument)
	})

	t.Run("an unknown member has an empty export", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{uuid.NewString(), "member-7"} {
			got := e.export(t, "privacy", id)
			if len(got.Redemptions) != 0 || len(got.Coupons) != 0 || got.ErasedAt != "" {
				t.Fatalf("export of %s: %s; want empty", id, got.raw)
			}
		}
	})

	t.Run("redemptions and coupons, never a code", func(t *testing.T) {
		t.Parallel()
		member := uuid.NewString()
		r, code := e.completed(t, member)
		e.completed(t, uuid.NewString()) // another member's
		got := e.export(t, "admin", strings.ToUpper(member))
		if len(got.Redemptions) != 1 || len(got.Coupons) != 1 {
			t.Fatalf("export: %s; want one redemption and one coupon", got.raw)
		}
		red, c := got.Redemptions[0], got.Coupons[0]
		if red["redemption_id"] != r.ID || red["status"] != "completed" || red["coupon_id"] != r.CouponID ||
			red["points"] != float64(100) || red["idempotency_key"] != r.IdempotencyKey || red["sealed_code_kept"] != true {
			t.Fatalf("redemption %v, want %+v with its sealed code kept", red, r)
		}
		if c["coupon_id"] != r.CouponID || c["status"] != "usable" || c["value_minor"] != float64(500) ||
			c["expires_at"] != r.CouponExpiresAt.UTC().Format(time.RFC3339Nano) || c["reward_name"] == "" {
			t.Fatalf("coupon %v", c)
		}
		if len(r.SealedCode) == 0 {
			t.Fatal("the fixture keeps no sealed code")
		}
		for _, secret := range []string{
			string(code), code.Display(), string(r.SealedCode), base64.StdEncoding.EncodeToString(r.SealedCode),
			base64.StdEncoding.EncodeToString(code.Hash()), hex.EncodeToString(code.Hash()),
		} {
			if strings.Contains(got.raw, secret) {
				t.Fatalf("the export shows %q: %s", secret, got.raw)
			}
		}
	})
}

// After ledger.member.erased the service keeps the member's redemptions and coupons,
// under the pseudonymous id, and no longer any sealed code of theirs; the export shows
// it. Other members are untouched.
func TestMemberErasure(t *testing.T) {
	t.Parallel()
	e := start(t)
	member, other := uuid.NewString(), uuid.NewString()
	_, code := e.completed(t, member)
	e.completed(t, member)
	e.completed(t, other)
	sealed := func(id string) int64 {
		return e.db.Count(`SELECT count(*) FROM redemptions WHERE member_id = $1 AND sealed_code IS NOT NULL`, id)
	}
	if sealed(member) != 2 || sealed(other) != 1 {
		t.Fatal("the fixtures keep no sealed codes")
	}

	at := time.Now().UTC().Truncate(time.Millisecond)
	first := uuid.Must(uuid.NewV7()).String()
	e.erase(t, first, member, at)

	if n := sealed(member); n != 0 {
		t.Fatalf("%d sealed codes of the erased member kept", n)
	}
	if sealed(other) != 1 {
		t.Fatal("another member's sealed code was wiped")
	}
	if n := e.db.Count(`SELECT count(*) FROM redemptions r JOIN coupons c USING (redemption_id) WHERE r.member_id = $1`, member); n != 2 {
		t.Fatalf("%d redemptions with coupons left, want both: they stay countable", n)
	}
	got := e.export(t, "privacy", member)
	if got.ErasedAt != at.Format(time.RFC3339Nano) || len(got.Redemptions) != 2 || len(got.Coupons) != 2 {
		t.Fatalf("export after the erasure: %s", got.raw)
	}
	for _, red := range got.Redemptions {
		if red["sealed_code_kept"] != false {
			t.Fatalf("redemption %v still keeps its sealed code", red)
		}
	}
	// The coupon was paid for with points: it stays good at the till.
	valid, err := e.rewards.ValidateCoupon(e.as(t, "pos"), &rewardsv1.ValidateCouponRequest{Code: code.Display(), TerminalId: "till-1", StoreId: "s"})
	if err != nil || !valid.GetValid() {
		t.Fatalf("the erased member's coupon: %v, %v; want it still valid", valid, err)
	}

	// Again (a redelivery, or the ledger erasing twice): nothing changes, nothing fails.
	e.erase(t, first, member, at)
	e.erase(t, "", member, at.Add(time.Hour))
	// An id that cannot be a member's here names nobody: handled, not dead-lettered.
	e.erase(t, "", "member-7", at)
	if got := e.export(t, "privacy", member); got.ErasedAt != at.Format(time.RFC3339Nano) {
		t.Fatalf("erased at %s after a second erasure, want the first's %s", got.ErasedAt, at.Format(time.RFC3339Nano))
	}
	if letters := e.For(t).DeadLetters(e.addr, events.ConsumerMembers); len(letters) != 0 {
		t.Fatalf("dead letters: %v", letters)
	}

	// A redemption left requested by a crashed call and completed after the erasure (by
	// a retry or the settler) keeps no sealed code either.
	late := e.reward(t, 100)
	req, _, err := e.store.StartRedemption(e.as(t, ""), app.NewRedemption{
		ID: uuid.Must(uuid.NewV7()).String(), IdempotencyKey: "late-" + uuid.NewString(),
		RequestHash: domain.RedeemRequestHash(member, late.GetRewardId()), MemberID: member, RewardID: late.GetRewardId(),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = e.store.InTx(e.as(t, ""), func(ctx context.Context, tx app.Tx) error {
		done, err := tx.CompleteRedemption(ctx, app.Completion{
			RedemptionID: req.ID, HoldID: uuid.NewString(), CouponID: uuid.NewString(),
			CodeHash: domain.CouponCode("ABCD0123EFGH4567").Hash(), SealedCode: []byte("sealed late"), ShowFor: time.Hour,
		})
		if err == nil && (done.Status != domain.StatusCompleted || done.SealedCode != nil) {
			t.Errorf("completed after the erasure: %+v; want completed without a sealed code", done)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := sealed(member); n != 0 {
		t.Fatalf("%d sealed codes of the erased member kept after a late completion", n)
	}
}
