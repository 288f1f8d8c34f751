package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/devstack"
	commonv1 "github.com/treue/treue/proto/gen/treue/common/v1"
	touchpointv1 "github.com/treue/treue/proto/gen/treue/touchpoint/v1"
)

// surveyBench is the survey section: an SMTP catcher in this process (go-smtp) that the
// survey service mails to.
type surveyBench struct {
	catcher *devstack.SMTPCatcher
}

// startSurveyBench starts the catcher and returns the survey service's environment for it.
func startSurveyBench() (*surveyBench, []string, error) {
	c, err := devstack.StartSMTPCatcher("127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	return &surveyBench{catcher: c}, []string{
		"SURVEY_SMTP_ADDR=" + c.Addr(), "SURVEY_SMTP_TLS=none", "SURVEY_QUIET_HOURS=off",
		"SURVEY_DISPATCH_INTERVAL=50ms",
	}, nil
}

func (b *surveyBench) close() { _ = b.catcher.Close() }

// run measures the survey's path from a touchpoint to an email: n members the survey
// knows (with an email address and survey consent; written into its member copy, as the
// ledger's enrolment events would) each have a service call published on the TOUCHPOINT
// stream; the seeded trigger rule ("NPS after every contact", at once) schedules an
// invitation for each through the contact policy, and the dispatcher mails it to the
// catcher. It reports how fast touchpoints became scheduled invitations and how fast
// those were sent, and checks each was mailed exactly once.
func (b *surveyBench) run(ctx context.Context, js jetstream.JetStream, ns bus.Namespace, pool *pgxpool.Pool, n int) error {
	before := len(b.catcher.Messages())
	members := make([]string, n)
	for i := range members {
		members[i] = "bench-" + uuid.NewString()
	}
	if _, err := pool.Exec(ctx, `INSERT INTO survey.members (member_id, locale, survey_consent, as_of, email)
		SELECT m, 'en', true, now(), m || '@example.test' FROM unnest($1::text[]) AS m`, members); err != nil {
		return fmt.Errorf("survey members: %w", err)
	}
	msgs := make([]*nats.Msg, n)
	now := time.Now()
	for i, m := range members {
		id := uuid.NewString()
		data, err := proto.Marshal(&touchpointv1.ContactRecorded{
			EventId: id, MemberId: m, Touchpoint: commonv1.Touchpoint_TOUCHPOINT_SERVICE_CALL,
			StoreId: "bench", Reference: "call-" + strconv.Itoa(i), EmployeeId: "agent-" + strconv.Itoa(i%20),
			OccurredAt: timestamppb.New(now),
		})
		if err != nil {
			return err
		}
		msg := &nats.Msg{Subject: ns.Subject("touchpoint.contact.recorded.service_call"), Data: data, Header: nats.Header{}}
		msg.Header.Set(bus.HeaderContentType, bus.ContentTypeProto)
		msg.Header.Set(bus.HeaderEventType, "treue.touchpoint.v1.ContactRecorded")
		msg.Header.Set(nats.MsgIdHdr, id)
		msgs[i] = msg
	}

	count := func(q string) (int, error) {
		var c int
		err := pool.QueryRow(ctx, q, members).Scan(&c)
		return c, err
	}
	start := time.Now()
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var scheduled, sentIn time.Duration
	deadline := time.Now().Add(10 * time.Minute)
	for sentIn == 0 {
		if scheduled == 0 {
			c, err := count(`SELECT count(*) FROM survey.invitations WHERE member_id = ANY($1)`)
			if err != nil {
				return err
			}
			if c == n {
				scheduled = time.Since(start)
			}
		}
		c, err := count(`SELECT count(*) FROM survey.invitations WHERE member_id = ANY($1) AND status = 'SENT'`)
		if err != nil {
			return err
		}
		if c == n {
			sentIn = time.Since(start)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("survey: %d of %d invitations sent after 10 minutes", c, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if scheduled == 0 {
		scheduled = sentIn
	}
	ids := make([]string, 0, n)
	rows, err := pool.Query(ctx, `SELECT id::text FROM survey.invitations WHERE member_id = ANY($1)`, members)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	msgsIn := b.catcher.Messages()[before:]
	seen := map[string]int{}
	for _, m := range msgsIn {
		seen[m.Header.Get("Message-Id")]++
	}
	for _, id := range ids {
		if c := seen["<"+id+"@treue>"]; c != 1 {
			return fmt.Errorf("survey: invitation %s mailed %d times", id, c)
		}
	}
	fmt.Printf("  survey: %d service calls -> %d invitations scheduled by the trigger rule in %v: %8.0f invitations/s\n",
		n, len(ids), scheduled.Round(time.Millisecond), float64(n)/scheduled.Seconds())
	fmt.Printf("  survey: all mailed to the SMTP catcher, each exactly once, %v after the first publish: %8.0f emails/s (%s)\n",
		sentIn.Round(time.Millisecond), float64(n)/sentIn.Seconds(), strings.TrimSpace(mailSize(msgsIn)))
	return nil
}

func mailSize(msgs []devstack.Mail) string {
	if len(msgs) == 0 {
		return ""
	}
	total := 0
	for _, m := range msgs {
		total += len(m.Data)
	}
	return fmt.Sprintf("%.1f KiB a message, HTML and text", float64(total)/float64(len(msgs))/1024)
}
