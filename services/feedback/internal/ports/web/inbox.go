// Package web serves the agent's inbox: the queue of a staff member's team and its
// cases, behind the staff sign-in (pkg/staff). Handlers only translate: a form becomes
// an app command run as the signed-in staff member, whose team decides what they see.
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/treue/treue/pkg/staff"
	"github.com/treue/treue/services/feedback/internal/app"
	"github.com/treue/treue/services/feedback/internal/domain"
)

//go:embed inbox.html
var inboxHTML string

var pages = template.Must(template.New("inbox").Funcs(template.FuncMap{
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"money": func(minor int64, currency string) string { return domain.Money(minor, currency, "en") },
}).Parse(inboxHTML))

// maxFormBytes bounds a form: a note or a reason fits easily.
const maxFormBytes = 16 << 10

// rewardsWait bounds the wait for the rewards catalogue on a case page.
const rewardsWait = 2 * time.Second

// maxText bounds a note, a reason or a resolution note.
const maxText = 4000

// csp: no script, no external asset, forms only to this origin, never framed.
const csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Inbox serves the pages.
type Inbox struct {
	app  *app.Application
	now  func() time.Time
	log  *slog.Logger
	csrf []byte
}

// Outcomes offered on the resolve form (the use case checks them against the case's kind).
var Outcomes = []domain.Outcome{
	domain.OutcomeContactedResolved, domain.OutcomeContactedUnresolved, domain.OutcomeUnreachable,
	domain.OutcomeReferralGiven, domain.OutcomeReferralDeclined, domain.OutcomeNoActionNeeded,
}

// New returns the inbox's handler: the queue at /, a case at /cases/{id}, its forms,
// the sign-in pages of auth, and /healthz. Every page needs a signed-in staff member
// whose email is a feedback staff member's; every form a same-origin request carrying
// the session's CSRF token.
func New(application *app.Application, auth *staff.Web, now func() time.Time, log *slog.Logger) http.Handler {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	in := &Inbox{app: application, now: now, log: log, csrf: key}
	signedIn := auth.RequireStaff()
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", signedIn(http.HandlerFunc(in.queue)))
	mux.Handle("GET /cases/{id}", signedIn(http.HandlerFunc(in.casePage)))
	mux.Handle("POST /cases/{id}/{action}", signedIn(http.HandlerFunc(in.act)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	auth.Routes(mux)
	return auth.Protect(mux)
}

// agent is the signed-in staff member as the feedback service knows them.
type agent struct {
	Email  string
	Staff  domain.Staff
	Team   domain.Team
	Actor  app.Actor
	Mates  []domain.Staff
	Token  string
	Signed staff.Account
}

// errNotStaff: the signed-in account's email is no active feedback staff member's.
var errNotStaff = errors.New("not a feedback staff member")

func (in *Inbox) agent(r *http.Request) (agent, error) {
	acct, ok := staff.AccountFrom(r.Context())
	if !ok {
		return agent{}, errNotStaff
	}
	all, err := in.app.Queries.ListStaff.Handle(r.Context(), "", false)
	if err != nil {
		return agent{}, err
	}
	i := slices.IndexFunc(all, func(s domain.Staff) bool { return strings.EqualFold(s.Email, acct.Username) })
	if i < 0 {
		return agent{}, errNotStaff
	}
	s := all[i]
	team, err := in.app.Queries.GetTeam.Handle(r.Context(), s.TeamID)
	if err != nil {
		return agent{}, err
	}
	mates, err := in.app.Queries.ListStaff.Handle(r.Context(), s.TeamID, false)
	if err != nil {
		return agent{}, err
	}
	// Every staff role works cases as a service agent; an admin account grants as one.
	// The team role (team_lead, manager) counts for goodwill rewards
	// (FEEDBACK_GOODWILL_REWARD_ROLES).
	roles := []string{"service_agent", string(s.Role)}
	if acct.Has("admin") {
		roles = append(roles, "admin")
	}
	a := agent{Email: s.Email, Staff: s, Team: team, Mates: mates, Signed: acct,
		Actor: app.Actor{Name: s.Email, Teams: []string{team.Key}, Roles: roles}}
	if c, err := r.Cookie(staff.CookieName); err == nil {
		a.Token = in.token(c.Value)
	}
	return a, nil
}

// token is the session's CSRF token: an HMAC of the session id under a key of this
// process (a restart asks for a reload of the form, never more).
func (in *Inbox) token(session string) string {
	m := hmac.New(sha256.New, in.csrf)
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

type row struct {
	app.CaseView
	Assignee string
	Due      time.Time
	DueWhat  string
}

type queueView struct {
	Agent   agent
	Mine    bool
	Rows    []row
	Overdue int
}

func (in *Inbox) queue(w http.ResponseWriter, r *http.Request) {
	a, ok := in.who(w, r)
	if !ok {
		return
	}
	v := queueView{Agent: a, Mine: r.URL.Query().Get("mine") == "1"}
	q := app.ListCasesQuery{Team: a.Team.Key, ByDue: true, PageSize: 200, Actor: a.Actor}
	if v.Mine {
		q.Assignee = a.Staff.ID
	}
	for _, st := range []domain.Status{domain.StatusOpen, domain.StatusAcknowledged, domain.StatusContacted, domain.StatusWaiting} {
		q.Status, q.After = st, nil
		var cases []app.CaseView
		// Every page: a queue that cut at a page would hide cases and undercount overdue.
		for {
			page, err := in.app.Queries.ListCases.Handle(r.Context(), q)
			if err != nil {
				in.fail(w, r, err)
				return
			}
			cases = append(cases, page.Cases...)
			if page.Next == nil {
				break
			}
			q.After = page.Next
		}
		for _, c := range cases {
			rw := row{CaseView: c, Assignee: name(a.Mates, c.Assignee)}
			what, due, _ := c.NextDeadline()
			rw.Due, rw.DueWhat = due, string(what)
			if c.Overdue {
				v.Overdue++
			}
			v.Rows = append(v.Rows, rw)
		}
	}
	slices.SortStableFunc(v.Rows, func(x, y row) int {
		switch {
		case x.Due.IsZero() != y.Due.IsZero():
			if x.Due.IsZero() {
				return 1
			}
			return -1
		}
		return x.Due.Compare(y.Due)
	})
	in.render(w, r, http.StatusOK, "queue", v)
}

type caseView struct {
	Agent    agent
	Case     app.CaseView
	Assignee string
	Outcomes []domain.Outcome
	Open     bool
	Error    string
	// Timeline is the newest of the member's timeline, across departments (timelineShown).
	Timeline []timelineLine
	// MayReward: the agent may grant a coupon reward as goodwill, one of Rewards.
	MayReward bool
	Rewards   []app.Reward
}

// timelineShown is how much of the member's timeline the case page shows.
const timelineShown = 50

// timelineLine is one timeline entry as the case page shows it.
type timelineLine struct {
	At         time.Time
	Kind, Text string
	// This is an entry of the case on the page.
	This bool
}

// timelineText says what a timeline entry was, in a line.
func timelineText(e app.TimelineEntry) string {
	switch e.Kind {
	case app.TimelineCase:
		s := "case " + shortID(e.CaseID) + " (" + e.Team + "): " + e.Action
		if e.FromStatus != "" && e.FromStatus != e.ToStatus {
			s += ", " + e.FromStatus + " → " + e.ToStatus
		}
		if e.By != "" {
			s += " by " + e.By
		}
		if e.Note != "" {
			s += ": " + e.Note
		}
		return s
	case app.TimelineNote:
		return "note on case " + shortID(e.CaseID) + " by " + e.By + ": " + e.Note
	case app.MemberResponse:
		r := e.Response
		s := "answered " + strconv.Itoa(r.Score) + " (" + r.ScoreKind + ")"
		if r.Touchpoint != "" {
			s += " after " + r.Touchpoint
		}
		if r.StoreID != "" {
			s += " in " + r.StoreID
		}
		if r.Comment != "" {
			s += ": " + r.Comment
		}
		return s
	case app.LoyaltyPointsCredited:
		return "+" + strconv.FormatInt(e.Points, 10) + " points (" + e.Reason + ")"
	case app.LoyaltyPointsDebited:
		return "−" + strconv.FormatInt(e.Points, 10) + " points (" + e.Reason + ")"
	case app.LoyaltyTierChanged:
		return "tier " + e.FromTier + " → " + e.ToTier
	}
	return e.Kind
}

// shortID is the first block of a case id: enough to tell a member's cases apart.
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

func (in *Inbox) casePage(w http.ResponseWriter, r *http.Request) {
	a, ok := in.who(w, r)
	if !ok {
		return
	}
	in.showCase(w, r, a, http.StatusOK, "")
}

func (in *Inbox) showCase(w http.ResponseWriter, r *http.Request, a agent, code int, msg string) {
	c, err := in.app.Queries.GetCase.Handle(r.Context(), r.PathValue("id"), a.Actor)
	if err != nil {
		in.fail(w, r, err)
		return
	}
	// The lifecycle writes staff ids into its notes ("told <id>"); people read names.
	pairs := make([]string, 0, 2*len(a.Mates))
	for _, m := range a.Mates {
		pairs = append(pairs, m.ID, m.Name)
	}
	names := strings.NewReplacer(pairs...)
	c.History = slices.Clone(c.History)
	for i := range c.History {
		c.History[i].Note = names.Replace(c.History[i].Note)
	}
	v := caseView{Agent: a, Case: c, Assignee: name(a.Mates, c.Assignee), Outcomes: Outcomes,
		Open: c.Status != domain.StatusResolved && c.Status != domain.StatusClosed, Error: msg}
	// GetCase filled Customer only for a role that may see the member; so is the timeline.
	if c.Customer != nil {
		page, err := in.app.Queries.GetCustomerTimeline.Handle(r.Context(), app.TimelineQuery{MemberID: c.MemberID, PageSize: timelineShown})
		if err != nil {
			in.fail(w, r, err)
			return
		}
		for _, e := range page.Entries {
			v.Timeline = append(v.Timeline, timelineLine{At: e.At, Kind: e.Kind, Text: names.Replace(timelineText(e)),
				This: e.CaseID == c.ID || (e.Response != nil && e.Response.ResponseID == c.ResponseID)})
		}
	}
	if v.Open && in.app.Commands.ResolveCase.MayGrantReward(a.Actor.Roles) {
		// Without the catalogue (in time) the form offers points only; the page still answers.
		ctx, cancel := context.WithTimeout(r.Context(), rewardsWait)
		v.Rewards, err = in.app.Queries.GoodwillRewards.Handle(ctx)
		cancel()
		if err != nil {
			in.log.WarnContext(r.Context(), "inbox: goodwill rewards not listed", "err", err)
		}
		v.MayReward = len(v.Rewards) > 0
	}
	in.render(w, r, code, "case", v)
}

func (in *Inbox) act(w http.ResponseWriter, r *http.Request) {
	a, ok := in.who(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed or too large form", http.StatusBadRequest)
		return
	}
	if a.Token == "" || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(a.Token)) {
		http.Error(w, "the form's CSRF token is missing or stale; reload the page", http.StatusForbidden)
		return
	}
	id := r.PathValue("id")
	note := r.PostForm.Get("note")
	if len(note) > maxText || len(r.PostForm.Get("reason")) > maxText {
		in.showCase(w, r, a, http.StatusUnprocessableEntity, "The text is too long (at most 4000 characters).")
		return
	}
	if utf8.RuneCountInString(r.PostForm.Get("reason")) > domain.MaxGoodwillReason {
		in.showCase(w, r, a, http.StatusUnprocessableEntity, fmt.Sprintf("The goodwill reason is too long (at most %d characters).", domain.MaxGoodwillReason))
		return
	}
	if !text(note) || !text(r.PostForm.Get("reason")) {
		in.showCase(w, r, a, http.StatusUnprocessableEntity, "The text holds characters that are not text.")
		return
	}
	ctx := r.Context()
	var err error
	next := "/cases/" + url.PathEscape(id)
	switch r.PathValue("action") {
	case "acknowledge":
		_, err = in.app.Commands.TransitionCase.Handle(ctx, app.TransitionCaseCommand{CaseID: id, Action: app.ActionAcknowledge, Note: note, Actor: a.Actor})
	case "contact":
		_, err = in.app.Commands.TransitionCase.Handle(ctx, app.TransitionCaseCommand{CaseID: id, Action: app.ActionContact, Note: note, Actor: a.Actor})
	case "note":
		if strings.TrimSpace(note) == "" {
			in.showCase(w, r, a, http.StatusUnprocessableEntity, "A note needs some text.")
			return
		}
		_, err = in.app.Commands.AddNote.Handle(ctx, app.AddNoteCommand{CaseID: id, Text: note, Actor: a.Actor})
	case "resolve":
		outcome := domain.Outcome(r.PostForm.Get("outcome"))
		if !slices.Contains(Outcomes, outcome) {
			in.showCase(w, r, a, http.StatusUnprocessableEntity, "Choose an outcome.")
			return
		}
		var points int64
		if p := strings.TrimSpace(r.PostForm.Get("goodwill_points")); p != "" {
			points, err = strconv.ParseInt(p, 10, 64)
			if err != nil || points < 0 {
				in.showCase(w, r, a, http.StatusUnprocessableEntity, "Goodwill points must be a whole number, 0 or more.")
				return
			}
		}
		reward := strings.TrimSpace(r.PostForm.Get("goodwill_reward_id"))
		if reward != "" && uuid.Validate(reward) != nil {
			in.showCase(w, r, a, http.StatusUnprocessableEntity, "Choose a goodwill coupon of the list.")
			return
		}
		_, err = in.app.Commands.ResolveCase.Handle(ctx, app.ResolveCaseCommand{CaseID: id, Outcome: outcome, Note: note,
			ResolvedBy: a.Actor.Name, Actor: a.Actor, Roles: a.Actor.Roles,
			GoodwillPoints: points, GoodwillReason: r.PostForm.Get("reason"), GoodwillRewardID: reward})
		next = "/"
	case "reassign":
		to := r.PostForm.Get("staff_id")
		if !slices.ContainsFunc(a.Mates, func(s domain.Staff) bool { return s.ID == to }) {
			in.showCase(w, r, a, http.StatusUnprocessableEntity, "Choose a colleague of your team.")
			return
		}
		_, err = in.app.Commands.ReassignCase.Handle(ctx, app.ReassignCaseCommand{CaseID: id, StaffID: to, Note: note, Actor: a.Actor})
	default:
		in.notFound(w, r)
		return
	}
	if err != nil {
		if msg, ok := refusal(err); ok {
			in.showCase(w, r, a, http.StatusConflict, msg)
			return
		}
		in.fail(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// text: valid UTF-8 without NUL, which Postgres cannot store.
func text(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// refusal is the message of a rule of the domain the form broke.
func refusal(err error) (string, bool) {
	for _, e := range []error{domain.ErrIllegalTransition, domain.ErrAlreadyResolved, domain.ErrOutcomeNotAllowed,
		domain.ErrGoodwillLimit, domain.ErrGoodwillAnonymous, domain.ErrGoodwillAlreadyGranted, domain.ErrGoodwillRewardNotAllowed,
		app.ErrGoodwillRewardsOff, app.ErrNotTeamStaff, domain.ErrInvalidTeam} {
		if errors.Is(err, e) {
			return "Not done: " + err.Error(), true
		}
	}
	return "", false
}

// who is the signed-in agent, or an answer already written.
func (in *Inbox) who(w http.ResponseWriter, r *http.Request) (agent, bool) {
	a, err := in.agent(r)
	if errors.Is(err, errNotStaff) {
		http.Error(w, "your account is not a member of a feedback team; ask an admin to add your email as staff", http.StatusForbidden)
		return agent{}, false
	}
	if err != nil {
		in.fail(w, r, err)
		return agent{}, false
	}
	return a, true
}

func (in *Inbox) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, app.ErrNotYourTeam) || errors.Is(err, domain.ErrCaseNotFound) {
		in.notFound(w, r)
		return
	}
	in.log.ErrorContext(r.Context(), "inbox", "path", r.URL.Path, "err", err)
	http.Error(w, "the inbox could not answer; try again shortly", http.StatusInternalServerError)
}

// notFound answers the same for a case of another team as for none, so that an agent
// learns nothing of other teams' cases.
func (in *Inbox) notFound(w http.ResponseWriter, r *http.Request) {
	in.render(w, r, http.StatusNotFound, "notfound", nil)
}

func (in *Inbox) render(w http.ResponseWriter, r *http.Request, code int, name string, v any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
		in.log.ErrorContext(r.Context(), "inbox: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func name(staff []domain.Staff, id string) string {
	if id == "" {
		return "unassigned"
	}
	for _, s := range staff {
		if s.ID == id {
			return s.Name
		}
	}
	return id
}
