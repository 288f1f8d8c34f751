// Package web serves the survey page a customer opens from their link (/s/<token>, or
// /r/<code> from a receipt's QR code): GET shows the invitation's survey version in the
// member's language, POST records the answers through the same use cases as the gRPC
// API. The page works without JavaScript (a post that reveals follow-up questions shows
// them on the next page, the answers so far kept as a draft); with it, a small
// same-origin script shows them at once and saves drafts as the customer types.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
	"github.com/treue/treue/services/survey/internal/ports/metrics"
)

const (
	// maxFormBytes caps a posted form: a few 4000-character answers, percent-encoded,
	// fit.
	maxFormBytes = 64 << 10
	// maxTokenLen matches the API's limit on tokens.
	maxTokenLen = 512
	// fieldPrefix starts the name of a question's form field: q.<question id>.
	fieldPrefix = "q."
	// shownField lists the questions the customer saw when posting, space-separated.
	shownField = "_shown"
)

// Handler serves the survey pages, their script and the health check.
type Handler struct {
	app *app.Application
	log *slog.Logger
	mux *http.ServeMux
	// cop refuses posts that the browser marks as cross-origin (Sec-Fetch-Site, else
	// Origin against Host). The token in the URL is the capability; this keeps another
	// site from answering with a link it learnt.
	cop *http.CrossOriginProtection
}

// New returns the HTTP handler of the survey service.
func New(application *app.Application, log *slog.Logger) *Handler {
	h := &Handler{app: application, log: log, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection()}
	// /s/<token> is an emailed or messaged link; /r/<code> a receipt's short link.
	for _, prefix := range []string{"/s/", "/r/"} {
		h.mux.HandleFunc("GET "+prefix+"{token}", h.show)
		h.mux.HandleFunc("POST "+prefix+"{token}", h.submit)
		h.mux.HandleFunc("POST "+prefix+"{token}/draft", h.draft)
	}
	h.unsubscribeRoutes()
	h.mux.HandleFunc("GET /static/survey.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		// The same for every member and no secret: a browser may keep it a day.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(surveyJS)
	})
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return h
}

// ServeHTTP adds the security headers to every answer and refuses cross-origin posts.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// The token in the URL is the member's key to the survey: never leak it to another
	// site or keep the page in a shared cache.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if err := h.cop.Check(r); err != nil {
		telemetry.Refused(r.Context(), "csrf")
		h.problem(w, r, http.StatusForbidden, acceptLanguage(r.Header.Get("Accept-Language")), func(t uiText) string { return t.CrossOrigin })
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	page, ok := h.openUnanswered(w, r, http.StatusOK)
	if !ok {
		return
	}
	h.form(w, r, http.StatusOK, page, page.Draft, "", "")
}

func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	page, ok := h.openUnanswered(w, r, http.StatusConflict)
	if !ok {
		return
	}
	answers, badID := formAnswers(page.Version, r.PostForm)
	if badID != "" {
		h.form(w, r, http.StatusBadRequest, page, answers, badID, errorText(page, badID, domain.ErrInvalidAnswer))
		return
	}
	token := r.PathValue("token")
	// A follow-up the customer has not seen yet (without the script, a score reveals
	// its questions only on the server): keep the answers so far and show it.
	if unseen(page.Version, answers, strings.Fields(r.PostForm.Get(shownField))) {
		err := h.app.Commands.SaveDraft.Handle(r.Context(), token, answers)
		if h.answerFailed(w, r, page, answers, err) {
			return
		}
		h.form(w, r, http.StatusOK, page, answers, "", "")
		return
	}
	resp, err := h.app.Commands.SubmitResponse.Handle(r.Context(), token, answers)
	if h.answerFailed(w, r, page, answers, err) {
		return
	}
	metrics.ResponseReceived(r.Context(), resp)
	h.thanks(w, r, http.StatusOK, page, false)
}

// draft saves the answers given so far (the script posts them as the customer types):
// 204, or a status and a short reason as plain text.
func (h *Handler) draft(w http.ResponseWriter, r *http.Request) {
	plain := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(msg + "\n"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			plain(http.StatusRequestEntityTooLarge, "too large")
			return
		}
		plain(http.StatusBadRequest, "not a form")
		return
	}
	token := r.PathValue("token")
	if len(token) > maxTokenLen {
		plain(http.StatusNotFound, "not a survey link")
		return
	}
	page, err := h.app.Queries.OpenSurvey.Handle(r.Context(), token)
	if err == nil && page.Answered {
		err = domain.ErrAlreadyAnswered
	}
	if err == nil {
		answers, badID := formAnswers(page.Version, r.PostForm)
		if badID != "" {
			plain(http.StatusBadRequest, "invalid answer to "+badID)
			return
		}
		err = h.app.Commands.SaveDraft.Handle(r.Context(), token, answers)
	}
	var field *domain.FieldError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.As(err, &field):
		// The field only: the reason may quote what was sent.
		plain(http.StatusBadRequest, "invalid "+field.Field)
	case errors.Is(err, domain.ErrTokenInvalid), errors.Is(err, domain.ErrInvitationNotFound), errors.Is(err, domain.ErrNotYetDue):
		plain(http.StatusNotFound, "not a survey link")
	case errors.Is(err, domain.ErrLinkExpired):
		plain(http.StatusGone, "expired")
	case errors.Is(err, domain.ErrAlreadyAnswered):
		plain(http.StatusConflict, "already answered")
	default:
		if !errors.Is(err, context.Canceled) {
			h.log.ErrorContext(r.Context(), "survey draft failed", "err", err)
		}
		plain(http.StatusInternalServerError, "failed")
	}
}

// parseForm reads a posted form, or answers with the right problem page.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	err := r.ParseForm()
	if err == nil {
		return true
	}
	lang := acceptLanguage(r.Header.Get("Accept-Language"))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		telemetry.Refused(r.Context(), "body_too_large")
		h.problem(w, r, http.StatusRequestEntityTooLarge, lang, func(t uiText) string { return t.TooLarge })
		return false
	}
	h.problem(w, r, http.StatusBadRequest, lang, func(t uiText) string { return t.Invalid })
	return false
}

// answerFailed answers for a use case that failed (with the form again and the error at
// its question, or a problem page) and reports whether it did.
func (h *Handler) answerFailed(w http.ResponseWriter, r *http.Request, page app.SurveyPage, answers domain.Answers, err error) bool {
	var field *domain.FieldError
	switch {
	case err == nil:
		return false
	case errors.As(err, &field):
		id := strings.TrimSuffix(strings.TrimPrefix(field.Field, "answers["), "]")
		if _, ok := page.Version.Question(id); !ok {
			id = page.Version.ScoreQuestionID
		}
		h.form(w, r, http.StatusBadRequest, page, answers, id, errorText(page, id, err))
	case errors.Is(err, domain.ErrAlreadyAnswered):
		h.thanks(w, r, http.StatusConflict, page, true)
	default:
		h.linkProblem(w, r, page.Lang, err)
	}
	return true
}

// openUnanswered reads the page of the request's token; ok is false when it has
// answered instead: with the right problem page, or, for an invitation already answered,
// by thanking the member again with answeredCode.
func (h *Handler) openUnanswered(w http.ResponseWriter, r *http.Request, answeredCode int) (_ app.SurveyPage, ok bool) {
	lang := acceptLanguage(r.Header.Get("Accept-Language"))
	token := r.PathValue("token")
	if len(token) > maxTokenLen {
		h.problem(w, r, http.StatusNotFound, lang, func(t uiText) string { return t.Invalid })
		return app.SurveyPage{}, false
	}
	page, err := h.app.Queries.OpenSurvey.Handle(r.Context(), token)
	if page.Lang != "" {
		lang = page.Lang
	}
	switch {
	case err != nil:
		h.linkProblem(w, r, lang, err)
		return app.SurveyPage{}, false
	case page.Answered:
		h.thanks(w, r, answeredCode, page, true)
		return app.SurveyPage{}, false
	}
	return page, true
}

// linkProblem answers for a link that cannot be answered: unknown or forged 404,
// expired (or closed) 410.
func (h *Handler) linkProblem(w http.ResponseWriter, r *http.Request, lang string, err error) {
	switch {
	case errors.Is(err, domain.ErrTokenInvalid):
		h.problem(w, r, http.StatusNotFound, lang, func(t uiText) string { return t.Invalid })
	case errors.Is(err, domain.ErrLinkExpired):
		h.problem(w, r, http.StatusGone, lang, func(t uiText) string { return t.Expired })
	case errors.Is(err, domain.ErrInvitationNotFound), errors.Is(err, domain.ErrNotYetDue):
		h.problem(w, r, http.StatusNotFound, lang, func(t uiText) string { return t.Gone })
	default:
		h.failed(w, r, lang, err)
	}
}

// formAnswers reads the answers to v's questions from a posted form: q.<id> fields,
// repeated for a multiple choice. An empty field is no answer; a scale answer that is
// no number returns that question's id as badID. Fields of other names are ignored.
func formAnswers(v domain.SurveyVersion, form url.Values) (a domain.Answers, badID string) {
	a = domain.Answers{}
	for _, q := range v.Questions {
		var values []string
		for _, s := range form[fieldPrefix+q.ID] {
			if s = strings.TrimSpace(s); s != "" {
				values = append(values, s)
			}
		}
		if len(values) == 0 {
			continue
		}
		x := domain.Answer{QuestionID: q.ID}
		switch _, _, scale := q.Scale(); {
		case scale:
			n, err := strconv.Atoi(values[0])
			if err != nil || len(values) > 1 {
				if badID == "" {
					badID = q.ID
				}
				continue
			}
			x.Score = &n
		case q.Kind == domain.QuestionOpenText:
			x.Text = strings.Join(values, "\n")
		default:
			x.ChoiceIDs = values
		}
		a[q.ID] = x
	}
	return a, badID
}

// unseen reports whether a question visible with answers was not shown to the
// customer when they posted them.
func unseen(v domain.SurveyVersion, answers domain.Answers, shown []string) bool {
	for _, q := range v.Visible(answers) {
		if !slices.Contains(shown, q.ID) {
			return true
		}
	}
	return false
}

// errorText is the message for an answer to question id that err refuses.
func errorText(page app.SurveyPage, id string, err error) string {
	t := textFor(page.Lang)
	q, _ := page.Version.Question(id)
	lo, hi, scale := q.Scale()
	switch {
	case errors.Is(err, domain.ErrCommentTooLong):
		return t.TooLong
	case scale:
		return fmt.Sprintf(t.ChooseScale, lo, hi)
	case errors.Is(err, domain.ErrAnswerRequired) && q.Kind == domain.QuestionOpenText:
		return t.Required
	case errors.Is(err, domain.ErrAnswerRequired):
		return t.Choose
	}
	return t.Unknown
}

// form renders the survey with answers filled in, the error (if any) at question
// errID, and each question shown or hidden as the answers make it.
func (h *Handler) form(w http.ResponseWriter, r *http.Request, code int, page app.SurveyPage, answers domain.Answers, errID, problem string) {
	v, lang := page.Version, page.Lang
	t := textFor(lang)
	st := v.Text(lang)
	visible := map[string]bool{}
	var shown []string
	for _, q := range v.Visible(answers) {
		visible[q.ID] = true
		shown = append(shown, q.ID)
	}
	vw := view{Lang: lang, Title: st.Title, T: t, Script: true, Intro: st.Intro, Shown: strings.Join(shown, " ")}
	if vw.Title == "" {
		vw.Title = t.Title
	}
	for _, q := range v.Questions {
		qt := q.Text(lang, v.DefaultLocale)
		x := answers[q.ID]
		qv := questionView{ID: q.ID, Prompt: qt.Prompt, Required: q.Required, Hidden: !visible[q.ID]}
		if s := q.ShowIf; s != nil {
			sv := &showIfView{QuestionID: s.QuestionID, AnyOf: strings.Join(s.AnyOf, " ")}
			if s.MinScore != nil {
				sv.Min = strconv.Itoa(*s.MinScore)
			}
			if s.MaxScore != nil {
				sv.Max = strconv.Itoa(*s.MaxScore)
			}
			qv.ShowIf = sv
			// Hidden now, but an answer on this page may still reveal it: the post may
			// lead to a next page.
			if qv.Hidden && visible[s.QuestionID] && !given(answers[s.QuestionID]) {
				vw.Next = true
			}
		}
		var described []string
		if lo, hi, scale := q.Scale(); scale {
			qv.Kind, qv.Min, qv.Max, qv.Low, qv.High = "scale", lo, hi, qt.LowLabel, qt.HighLabel
			for n := lo; n <= hi; n++ {
				qv.Options = append(qv.Options, optionView{Value: strconv.Itoa(n), Label: strconv.Itoa(n), Checked: x.Score != nil && *x.Score == n})
			}
			described = append(described, "q-"+q.ID+"-ends")
		} else if q.Kind == domain.QuestionOpenText {
			qv.Kind, qv.Text = "text", x.Text
		} else {
			qv.Kind = "single"
			if q.Kind == domain.QuestionMultipleChoice {
				qv.Kind = "multiple"
			}
			for _, c := range q.Choices {
				qv.Options = append(qv.Options, optionView{Value: c.ID, Label: c.Label(lang, v.DefaultLocale), Checked: slices.Contains(x.ChoiceIDs, c.ID)})
			}
		}
		if q.ID == errID {
			qv.Error, qv.Focus, qv.Hidden = problem, true, false
			described = append(described, "q-"+q.ID+"-err")
		}
		qv.Described = strings.Join(described, " ")
		vw.Questions = append(vw.Questions, qv)
	}
	h.render(w, r, code, formTemplate, vw)
}

func given(x domain.Answer) bool { return x.Score != nil || len(x.ChoiceIDs) > 0 || x.Text != "" }

// thanks thanks the customer in the survey's own words, or says that the survey was
// answered before.
func (h *Handler) thanks(w http.ResponseWriter, r *http.Request, code int, page app.SurveyPage, already bool) {
	t := textFor(page.Lang)
	msg := page.Version.Text(page.Lang).Thanks
	if msg == "" {
		msg = t.Thanks
	}
	if already {
		msg = t.AlreadyAnswered
	}
	lang := page.Lang
	if lang == "" {
		lang = fallbackLang
	}
	h.render(w, r, code, thanksTemplate, view{Lang: lang, Title: msg, T: t, Message: msg})
}

func (h *Handler) problem(w http.ResponseWriter, r *http.Request, code int, lang string, msg func(uiText) string) {
	t := textFor(lang)
	if _, ok := texts[lang]; !ok {
		lang = fallbackLang
	}
	h.render(w, r, code, problemTemplate, view{Lang: lang, Title: t.ProblemTitle, T: t, Message: msg(t)})
}

func (h *Handler) failed(w http.ResponseWriter, r *http.Request, lang string, err error) {
	if !errors.Is(err, context.Canceled) {
		h.log.ErrorContext(r.Context(), "survey page failed", "method", r.Method, "err", err)
	}
	h.problem(w, r, http.StatusInternalServerError, lang, func(t uiText) string { return t.Failed })
}

// render executes into a buffer first, so that a template error becomes a clean 500
// instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, tmpl *template.Template, v view) {
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.ErrorContext(r.Context(), "render survey page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
