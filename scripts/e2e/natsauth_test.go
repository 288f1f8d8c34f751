package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/natsauth"
	"github.com/treue/treue/pkg/svc"
	"github.com/treue/treue/pkg/testkit"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	ledgerv1 "github.com/treue/treue/proto/gen/treue/ledger/v1"
	posv1 "github.com/treue/treue/proto/gen/treue/pos/v1"
	surveyv1 "github.com/treue/treue/proto/gen/treue/survey/v1"
	"github.com/treue/treue/scripts/internal/natsconf"
	"github.com/treue/treue/scripts/internal/possim"
)

// The five services run under the generated NATS users, each with its own seed: a
// store's purchase is credited and its survey answered for the bonus, while the same
// store's forged survey response (which once credited 50 points and counted in the
// NPS) is refused by the server and changes nothing.
func TestWholeLoopUnderNATSAuth(t *testing.T) {
	sys := &system{Env: testkit.NewEnv(t)}
	ns := sys.NS()
	dir := t.TempDir()
	seeds, conf := filepath.Join(dir, "seeds"), filepath.Join(dir, "auth.conf")
	if _, err := natsconf.Write(conf, seeds, []string{"berlin-01", "hamburg-02"}, ns); err != nil {
		t.Fatal(err)
	}
	natsURL, stop, err := devstack.EmbeddedNATS(filepath.Join(dir, "js"), testkit.Logger(t), devstack.NATSOptions{ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	startIn(t, sys, func(service string, b *svc.Base) {
		b.NATSURL = natsURL
		b.NATSCredentials = bus.Credentials{NkeySeedFile: natsauth.SeedFile(seeds, service)}
	})
	ctx := context.Background()
	ledgerAPI := ledgerv1.NewLedgerServiceClient(sys.Conn(sys.ledger, "admin"))
	surveyAPI := surveyv1.NewSurveyServiceClient(sys.Conn(sys.survey, "service"))
	anna := enrol(t, ledgerAPI, "anna", "en")

	// The till of berlin-01, with its store's credentials.
	refusals := make(chan error, 10)
	auth, err := bus.Credentials{NkeySeedFile: natsauth.SeedFile(seeds, natsauth.StoreUser("berlin-01"))}.Options()
	must(t, err)
	nc, err := nats.Connect(natsURL, append(auth,
		nats.CustomInboxPrefix(bus.InboxPrefix(natsauth.StoreUser("berlin-01"))),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { refusals <- err }))...)
	must(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err)
	till := possim.Till{JS: js, Namespace: ns}

	must(t, till.PublishPurchase(ctx, &posv1.PurchaseRecorded{
		EventId: "0192f0c1-3333-7000-8000-000000000001", StoreId: "berlin-01", TransactionId: "T-1",
		MemberId: anna, OccurredAt: timestamppb.Now(), Currency: "EUR", TotalMinor: 6788,
		Channel: commonv1.Channel_CHANNEL_STORE,
	}))
	testkit.Eventually(t, 20*time.Second, "anna credited 67", func() bool { return balance(t, ledgerAPI, anna).Available == 67 })
	inv := invitation(t, surveyAPI, anna)

	// The forgery: a store publishes a survey response of its own.
	forged, err := till.Msg("survey.response.submitted", "0192f0c1-3333-7000-8000-000000000002", &surveyv1.ResponseSubmitted{
		ResponseId: "forged", InvitationId: inv.InvitationId, SurveyId: inv.SurveyId, MemberId: anna,
		Score: 10, NpsClass: commonv1.NpsClass_NPS_CLASS_PROMOTER, SubmittedAt: timestamppb.Now(),
	})
	must(t, err)
	must(t, nc.PublishMsg(forged))
	must(t, nc.Flush())
	select {
	case err := <-refusals:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "survey.response.submitted") {
			t.Fatalf("forged response: got %v, want a permissions violation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the store published a survey response")
	}
	// Another store's purchase is refused too.
	must(t, nc.Publish(ns.Subject("pos.purchase.recorded.hamburg-02"), []byte("{}")))
	must(t, nc.Flush())
	select {
	case err := <-refusals:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("hamburg-02's subject: got %v, want a permissions violation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("berlin-01 published on hamburg-02's subject")
	}

	// Anna's genuine answer earns the bonus once: survey publishes, ledger consumes,
	// each with its own user.
	token := inv.Url[strings.LastIndex(inv.Url, "/")+1:]
	_, err = surveyAPI.SubmitResponse(ctx, &surveyv1.SubmitResponseRequest{Token: token, Score: 9})
	must(t, err)
	testkit.Eventually(t, 20*time.Second, "anna's survey bonus", func() bool { return balance(t, ledgerAPI, anna).Available == 117 })
	// Nothing forged reached the survey stream: the invitation, its sending and the
	// genuine answer.
	surveyUser := connectAs(t, natsURL, seeds, "survey")
	st, err := surveyUser.Stream(ctx, ns.Stream("SURVEY"))
	must(t, err)
	if n := st.CachedInfo().State.Msgs; n != 3 {
		t.Errorf("SURVEY stream holds %d events, want the invitation, its sending and the answer", n)
	}
	if b := balance(t, ledgerAPI, anna).Available; b != 117 {
		t.Errorf("anna holds %d points, want 117", b)
	}
}

func connectAs(t *testing.T, url, seeds, user string) jetstream.JetStream {
	t.Helper()
	auth, err := bus.Credentials{NkeySeedFile: natsauth.SeedFile(seeds, user)}.Options()
	must(t, err)
	nc, err := nats.Connect(url, append(auth, nats.CustomInboxPrefix(bus.InboxPrefix(user)))...)
	must(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err)
	return js
}
