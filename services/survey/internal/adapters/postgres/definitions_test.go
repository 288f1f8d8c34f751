package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/pg"
	"github.com/treue/treue/services/survey/internal/adapters/postgres"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/convert"
	"github.com/treue/treue/services/survey/internal/domain"
)

// application wires the survey's use cases on the real store.
func application(t *testing.T, pool *pgxpool.Pool) (*app.Application, *domain.LinkSigner, *postgres.Store) {
	t.Helper()
	outbox, err := bus.NewOutbox(convert.Produces...)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := domain.NewLinkSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pg.NewDB(pool, nil), outbox)
	a, err := app.New(app.Deps{
		Config: app.Config{SurveyID: domain.DefaultNPSSurveyID, LinkTTL: time.Hour, PendingTTL: time.Hour},
		Store:  store, Links: app.NewLinks(signer, "https://survey.example.test"), Now: time.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, signer, store
}

func n(v int) *int { return &v }

func TestDraftsAreMergedSubmittedAndErased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migrated(t)
	a, signer, store := application(t, pool)
	inv := openInvitation(t, pool, "m1")
	token := signer.Sign(uuid.MustParse(inv.ID), inv.ExpiresAt)

	if err := a.Commands.SaveDraft.Handle(ctx, token, domain.Answers{"nps": {Score: n(3)}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Commands.SaveDraft.Handle(ctx, token, domain.Answers{"reason": {Text: " Zu voll "}}); err != nil {
		t.Fatal(err)
	}
	var fe *domain.FieldError
	if err := a.Commands.SaveDraft.Handle(ctx, token, domain.Answers{"nps": {Score: n(11)}}); !errors.As(err, &fe) || fe.Field != "answers[nps]" {
		t.Errorf("a bad draft: %v", err)
	}
	page, err := a.Queries.OpenSurvey.Handle(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if page.Lang != "de" || page.Version.Version != 1 || page.Answered || len(page.Draft) != 2 ||
		*page.Draft["nps"].Score != 3 || page.Draft["reason"].Text != "Zu voll" {
		t.Errorf("page = %+v", page)
	}
	if got := page.Version.Visible(page.Draft); len(got) != 2 || got[1].ID != "reason" {
		t.Errorf("visible with the draft = %+v", got)
	}
	data, err := store.MemberData(ctx, "m1")
	if err != nil || len(data.Drafts) != 1 || data.Drafts[0].Answers["reason"].Text != "Zu voll" {
		t.Errorf("export of drafts = %+v, %v", data.Drafts, err)
	}

	// The final answers: the draft goes, the invitation is answered.
	resp, err := a.Commands.SubmitResponse.Handle(ctx, token, page.Draft)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Score != 3 || resp.Class != domain.Detractor || resp.Comment != "Zu voll" || resp.SurveyVersion != 1 || resp.Locale != "de" {
		t.Errorf("response = %+v", resp)
	}
	var drafts, events int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM response_drafts), (SELECT count(*) FROM outbox)`).Scan(&drafts, &events); err != nil {
		t.Fatal(err)
	}
	if drafts != 0 || events != 1 {
		t.Errorf("%d drafts, %d events after the submission; want 0 and 1", drafts, events)
	}
	if page, err := a.Queries.OpenSurvey.Handle(ctx, token); err != nil || !page.Answered {
		t.Errorf("page after the submission: %+v, %v", page, err)
	}
	if err := a.Commands.SaveDraft.Handle(ctx, token, domain.Answers{"nps": {Score: n(9)}}); !errors.Is(err, domain.ErrAlreadyAnswered) {
		t.Errorf("a draft after the submission: %v", err)
	}
	if _, err := a.Commands.SubmitResponse.Handle(ctx, token, page.Draft); !errors.Is(err, domain.ErrAlreadyAnswered) {
		t.Errorf("a second submission: %v", err)
	}

	// Erasure deletes drafts.
	other := openInvitation(t, pool, "m2")
	if err := a.Commands.SaveDraft.Handle(ctx, signer.Sign(uuid.MustParse(other.ID), other.ExpiresAt),
		domain.Answers{"reason": {Text: "Herr Meier"}}); err != nil {
		t.Fatal(err)
	}
	tx := begin(t, pool)
	if err := postgres.NewTx(tx, nil).EraseMembers(ctx, []string{"m2"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM response_drafts`).Scan(&drafts); err != nil || drafts != 0 {
		t.Errorf("%d drafts after the erasure (%v), want 0", drafts, err)
	}
}

// Two submissions at once: one wins, the other finds the invitation answered.
func TestConcurrentSubmissionsRecordOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migrated(t)
	a, signer, _ := application(t, pool)
	for i := range 5 {
		inv := openInvitation(t, pool, uuid.NewString())
		token := signer.Sign(uuid.MustParse(inv.ID), inv.ExpiresAt)
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := a.Commands.SubmitResponse.HandleScore(ctx, token, i+3, "x")
				errs <- err
			}()
		}
		e1, e2 := <-errs, <-errs
		if (e1 == nil) == (e2 == nil) || !errors.Is(errors.Join(e1, e2), domain.ErrAlreadyAnswered) {
			t.Errorf("two submissions: %v and %v; want one to win", e1, e2)
		}
	}
}

func TestPublishedVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := migrated(t)
	a, _, store := application(t, pool)
	for id, want := range map[string]error{
		domain.DefaultNPSSurveyID:              nil,
		"0192f0c8-5a1e-7000-8000-000000000003": nil,
		uuid.NewString():                       domain.ErrSurveyNotFound,
	} {
		if v, err := store.PublishedVersion(ctx, id); !errors.Is(err, want) || (err == nil && v != 1) {
			t.Errorf("PublishedVersion(%s) = %d, %v; want 1 or %v", id, v, err, want)
		}
	}
	spec := app.SurveySpec{DefaultLocale: "en", Texts: map[string]domain.SurveyText{"en": {Title: "T"}}, ScoreQuestionID: "ces",
		Questions: []domain.Question{{ID: "ces", Kind: domain.QuestionCES, Required: true, Texts: map[string]domain.QuestionText{"en": {Prompt: "Easy?"}}}}}
	sv, _, err := a.Commands.CreateSurvey.Handle(ctx, app.CreateSurveyCommand{IdempotencyKey: uuid.NewString(), Name: "x", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PublishedVersion(ctx, sv.ID); !errors.Is(err, domain.ErrNoPublishedVersion) {
		t.Errorf("a draft only: %v", err)
	}
	if _, _, err := a.Commands.PublishVersion.Handle(ctx, sv.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Commands.CreateVersion.Handle(ctx, app.CreateVersionCommand{SurveyID: sv.ID, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if v, err := store.PublishedVersion(ctx, sv.ID); err != nil || v != 1 {
		t.Errorf("with a draft of 2: %d, %v; want 1", v, err)
	}
	if _, _, err := a.Commands.PublishVersion.Handle(ctx, sv.ID, 2); err != nil {
		t.Fatal(err)
	}
	if v, err := store.PublishedVersion(ctx, sv.ID); err != nil || v != 2 {
		t.Errorf("after publishing 2: %d, %v", v, err)
	}
	if _, err := a.Commands.RetireSurvey.Handle(ctx, sv.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PublishedVersion(ctx, sv.ID); !errors.Is(err, domain.ErrSurveyRetired) {
		t.Errorf("retired: %v", err)
	}
}
