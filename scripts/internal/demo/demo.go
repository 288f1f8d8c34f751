// Package demo feeds a running stack the traffic of a small retailer: members enrol,
// buy, return, answer surveys, redeem points and use coupons at the till.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/grpcx"
	"github.com/treue/treue/pkg/natsauth"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	rewardsv1 "github.com/treue/treue/proto/gen/treue/rewards/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
	"github.com/treue/treue/scripts/internal/natsconf"
	"github.com/treue/treue/scripts/internal/possim"
	"github.com/treue/treue/scripts/internal/stack"
)

// people are the demo's members: the first ones buy, the last ones only phone the
// hotline (a service call, surveyed later than a purchase). Each has an email address
// the survey service sends to (make run's mailbox catches it) and a time zone for the
// quiet hours; the locales give emails in German and in English.
var people = []struct{ name, locale, timeZone string }{
	{"Anna Schmidt", "de-DE", "Europe/Berlin"},
	{"Ben Carter", "en-GB", "Europe/London"},
	{"Chloé Martin", "en", "Europe/Paris"},
	{"Deniz Yılmaz", "de", "Europe/Berlin"},
	{"Eva Nowak", "en", "Europe/Warsaw"},
	{"Finn Berg", "de-AT", "Europe/Vienna"},
	{"Greta Wolf", "de-DE", "Europe/Berlin"},
	{"Hugo Lindqvist", "en", "Europe/Stockholm"},
}

// callers is how many of the last people only phone the hotline in the first round.
const callers = 2

// Email is the demo member n's address (n counts from 1): a domain of the demo's own,
// never a real mailbox.
func Email(n int) string { return fmt.Sprintf("member-%d@demo.treue.example", n) }

// Hotline is the store id and the agent of the demo's service calls.
const (
	HotlineStore    = "berlin-01"
	HotlineEmployee = "emp-berlin-07"
)

// stores are the demo's stores; the dev stack gives each its NATS credentials.
var stores = natsconf.ExampleStores

// Result is what the demo made, for the runner to print.
type Result struct {
	Members     []string
	SurveyLinks []string
	CouponCode  string
	// ServiceCalls is how many service calls the demo published on the TOUCHPOINT stream.
	ServiceCalls int
	// Later are the invitations not due yet (a trigger rule's delay): their emails
	// arrive during the run.
	Later []*surveyv1.Invitation
	// Comments are those of the survey answers the demo gave (how many depends on how
	// many emails went out before it answered).
	Comments []string
}

// Run enrols the demo members and plays one round of traffic, then returns what a user
// will want to look at. Keep publishing with Trickle.
func Run(ctx context.Context, s *stack.Stack, out io.Writer, log *slog.Logger) (*Result, error) {
	fleet, err := openFleet(s)
	if err != nil {
		return nil, err
	}
	defer fleet.close()
	ledgerConn, err := s.Conn("ledger", "admin")
	if err != nil {
		return nil, err
	}
	ledger := ledgerv1.NewLedgerServiceClient(ledgerConn)
	res := &Result{}
	for i, p := range people {
		m, err := ledger.Enroll(ctx, &ledgerv1.EnrollRequest{
			IdempotencyKey: fmt.Sprintf("demo-enrol-%d-%s", i, Email(i+1)), DisplayName: p.name, Email: Email(i + 1),
			Locale: p.locale, TimeZone: p.timeZone, SurveyConsent: true, MarketingConsent: i%2 == 0,
		})
		if err != nil {
			return nil, fmt.Errorf("enrol %s: %w", p.name, err)
		}
		res.Members = append(res.Members, m.Member.MemberId)
	}
	buyers, callersOnly := res.Members[:len(res.Members)-callers], res.Members[len(res.Members)-callers:]
	fmt.Fprintf(out, "  enrolled %d members (%s ... %s), survey consent given\n", len(res.Members), Email(1), Email(len(res.Members)))

	r := rand.New(rand.NewPCG(1, 2))
	var first *posv1.PurchaseRecorded
	for i := range 30 {
		member := buyers[i%len(buyers)]
		p := possim.Purchase(r, stores[i%len(stores)], member)
		till := fleet.till(p.StoreId)
		till.JSON = i%3 == 0 // some tills speak protojson
		if err := till.PublishPurchase(ctx, p); err != nil {
			return nil, err
		}
		if i == 0 {
			first = p
			// A till that retries publishes the same transaction again: credited once.
			if err := till.PublishPurchase(ctx, p); err != nil {
				return nil, err
			}
		}
	}
	if err := fleet.till(first.StoreId).PublishReturn(ctx, possim.Return(first)); err != nil {
		return nil, err
	}
	// A card the programme does not know yet: kept as an unmatched purchase.
	if err := fleet.till("berlin-01").PublishPurchase(ctx, possim.Purchase(r, "berlin-01", "0192f0c1-0000-7000-8000-000000000000")); err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "  published 31 purchases (one twice, a third as protojson, one for an unknown card) and a return")

	// The hotline's calls, as the call centre's system publishes them: the members who
	// only called, and one buyer (invited after their purchase already: the contact
	// policy holds the second survey back).
	calls := append(append([]string{}, callersOnly...), buyers[0])
	if err := publishServiceCalls(ctx, s, calls); err != nil {
		return nil, err
	}
	res.ServiceCalls = len(calls)
	fmt.Fprintf(out, "  published %d service calls (store %s, agent %s) on the TOUCHPOINT stream\n", len(calls), HotlineStore, HotlineEmployee)

	// The links are the mailer's to see (role service), not an admin's.
	surveyConn, err := s.Conn("survey", "service")
	if err != nil {
		return nil, err
	}
	survey := surveyv1.NewSurveyServiceClient(surveyConn)
	invitations, err := waitInvitations(ctx, survey, res.Members)
	if err != nil {
		return nil, err
	}
	// Answer all but two of the sent invitations, so that a user has links left to open
	// (in the emails too). Only sent ones: an invitation answered before its email goes
	// out is never emailed. (A second `make run` on the same database finds the
	// invitations of the first: the contact policy allows one per member per 30 days.)
	scores := []int32{10, 3, 9, 8}
	var open []*surveyv1.Invitation
	for _, inv := range invitations {
		switch {
		case inv.GetStatus() == surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED && inv.GetDueAt().AsTime().After(time.Now()):
			res.Later = append(res.Later, inv)
		case inv.GetStatus() == surveyv1.InvitationStatus_INVITATION_STATUS_SENT && !inv.GetAnswered():
			open = append(open, inv)
		}
	}
	answered := 0
	for i, inv := range open {
		if i >= len(open)-2 {
			res.SurveyLinks = append(res.SurveyLinks, inv.Url)
			continue
		}
		if _, err := survey.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{
			Token: tokenOf(inv.Url), Score: scores[i%len(scores)], Comment: comments[i%len(comments)],
		}); err != nil {
			if r := grpcx.Reason(err); r == "LINK_EXPIRED" || r == "NOT_YET_DUE" {
				continue // suppressed meanwhile (the return), or held back until it is due
			}
			return nil, fmt.Errorf("answer survey: %w", err)
		}
		answered++
		res.Comments = append(res.Comments, comments[i%len(comments)])
	}
	fmt.Fprintf(out, "  %d survey invitations; answered %d of them (promoters, a passive, a detractor), %d due later\n", len(invitations), answered, len(res.Later))

	code, err := redeem(ctx, s, res.Members)
	if err != nil {
		return nil, err
	}
	res.CouponCode = code
	return res, nil
}

// publishServiceCalls publishes a service call of each member on the TOUCHPOINT stream
// (touchpoint.contact.recorded.service_call), with the credentials of the retailer's
// contact systems.
func publishServiceCalls(ctx context.Context, s *stack.Stack, members []string) error {
	nc, err := s.NATS("touchpoint", nats.Name("treue-demo-hotline"))
	if err != nil {
		return fmt.Errorf("connect as the contact systems: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	till := possim.Till{JS: js, Namespace: bus.Namespace(s.Namespace)}
	for i, m := range members {
		c := &touchpointv1.ContactRecorded{
			EventId: uuid.Must(uuid.NewV7()).String(), MemberId: m, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
			StoreId: HotlineStore, EmployeeId: HotlineEmployee, Reference: fmt.Sprintf("TICKET-%d", 4711+i),
			OccurredAt: timestamppb.Now(), Channel: commonv1.Channel_CHANNEL_STORE,
		}
		if err := till.PublishContact(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

var comments = []string{
	"Lovely shop, friendly staff.",
	"Waited 20 minutes at the till and the grinder was out of stock.",
	"Great coffee, will be back.",
	"",
}

func tokenOf(url string) string {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == '/' {
			return url[i+1:]
		}
	}
	return url
}

// waitInvitations waits (up to 20 s) until every member has an invitation and none that
// is due is still waiting for its email, and returns them.
func waitInvitations(ctx context.Context, survey surveyv1.SurveyServiceClient, members []string) ([]*surveyv1.Invitation, error) {
	// Generous: on a loaded machine the services take a while to send the first emails,
	// and the demo answers only invitations that were sent.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var all []*surveyv1.Invitation
		invited, sending := 0, 0
		for _, m := range members {
			resp, err := survey.ListInvitations(ctx, &surveyv1.ListInvitationsRequest{MemberId: m})
			if err != nil {
				return nil, err
			}
			if len(resp.Invitations) > 0 {
				invited++
			}
			for _, inv := range resp.Invitations {
				if inv.GetStatus() == surveyv1.InvitationStatus_INVITATION_STATUS_SCHEDULED && !inv.GetDueAt().AsTime().After(time.Now()) {
					sending++
				}
			}
			all = append(all, resp.Invitations...)
		}
		if (invited == len(members) && sending == 0) || time.Now().After(deadline) {
			if len(all) == 0 {
				return nil, errors.New("no survey invitation appeared within 60 s; see the survey log")
			}
			return all, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// redeem creates a coupon reward and redeems it for the member with the most points,
// then validates and uses the coupon at a till.
func redeem(ctx context.Context, s *stack.Stack, members []string) (string, error) {
	rc, err := s.Conn("rewards", "admin")
	if err != nil {
		return "", err
	}
	rewards := rewardsv1.NewRewardsServiceClient(rc)
	rewardID, err := demoReward(ctx, rewards)
	if err != nil {
		return "", err
	}
	lc, err := s.Conn("ledger", "admin")
	if err != nil {
		return "", err
	}
	ledger := ledgerv1.NewLedgerServiceClient(lc)
	best, bestPoints := "", int64(0)
	deadline := time.Now().Add(20 * time.Second)
	for bestPoints < 50 && time.Now().Before(deadline) {
		for _, m := range members {
			b, err := ledger.GetBalance(ctx, &ledgerv1.GetBalanceRequest{MemberId: m})
			if err != nil {
				return "", err
			}
			if b.Available > bestPoints {
				best, bestPoints = m, b.Available
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if bestPoints < 50 {
		return "", errors.New("no member has 50 points after 20 s; see the ledger log")
	}
	red, err := rewards.Redeem(ctx, &rewardsv1.RedeemRequest{
		IdempotencyKey: fmt.Sprintf("demo-redeem-%s-%d", best, time.Now().UnixNano()), MemberId: best, RewardId: rewardID,
	})
	if err != nil {
		return "", fmt.Errorf("redeem: %w", err)
	}
	pc, err := s.Conn("rewards", "pos")
	if err != nil {
		return "", err
	}
	tillAPI := rewardsv1.NewRewardsServiceClient(pc)
	v, err := tillAPI.ValidateCoupon(ctx, &rewardsv1.ValidateCouponRequest{Code: red.CouponCode, TerminalId: "berlin-01-till-3", StoreId: "berlin-01"})
	if err != nil || !v.Valid {
		return "", fmt.Errorf("validate coupon: %v %v", v, err)
	}
	return red.CouponCode, nil
}

const demoRewardName = "5 € off your next purchase"

// demoReward returns the demo's coupon reward, creating it on the first run.
func demoReward(ctx context.Context, rewards rewardsv1.RewardsServiceClient) (string, error) {
	list, err := rewards.ListRewards(ctx, &rewardsv1.ListRewardsRequest{})
	if err != nil {
		return "", err
	}
	for _, r := range list.Rewards {
		if r.Name == demoRewardName {
			return r.RewardId, nil
		}
	}
	created, err := rewards.CreateReward(ctx, &rewardsv1.CreateRewardRequest{
		Name: demoRewardName, Kind: rewardsv1.RewardKind_REWARD_KIND_COUPON,
		PointsPrice: 50, ValueMinor: 500, Currency: "EUR", ValidDays: 90,
	})
	if err != nil {
		return "", fmt.Errorf("create reward: %w", err)
	}
	return created.Reward.RewardId, nil
}

// Trickle publishes a purchase every interval until ctx ends, so the dashboard moves.
func Trickle(ctx context.Context, s *stack.Stack, members []string, interval time.Duration, log *slog.Logger) {
	fleet, err := openFleet(s)
	if err != nil {
		log.Error("simulator: connect", "err", err)
		return
	}
	defer fleet.close()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p := possim.Purchase(r, stores[r.IntN(len(stores))], members[r.IntN(len(members))])
			if err := fleet.till(p.StoreId).PublishPurchase(ctx, p); err != nil && ctx.Err() == nil {
				log.Warn("simulator: publish", "err", err)
			}
		}
	}
}

// fleet is a till per store, each connected with its store's NATS credentials, which
// allow it to publish its own store's POS events only.
type fleet struct {
	tills map[string]possim.Till
	conns []*nats.Conn
}

func openFleet(s *stack.Stack) (*fleet, error) {
	f := &fleet{tills: map[string]possim.Till{}}
	for _, store := range stores {
		nc, err := s.NATS(natsauth.StoreUser(store), nats.Name("treue-pos-simulator-"+store))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("connect as store %s: %w", store, err)
		}
		f.conns = append(f.conns, nc)
		js, err := jetstream.New(nc)
		if err != nil {
			f.close()
			return nil, err
		}
		f.tills[store] = possim.Till{JS: js, Namespace: bus.Namespace(s.Namespace)}
	}
	return f, nil
}

// till returns the till of store, a copy to set JSON on.
func (f *fleet) till(store string) possim.Till { return f.tills[store] }

func (f *fleet) close() {
	for _, nc := range f.conns {
		nc.Close()
	}
}
