// Package web serves the survey page a member opens from their link: GET shows the
// question, POST records the answer through the same use case as the gRPC API.
package web

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/treue/treue/pkg/telemetry"
	"github.com/treue/treue/services/survey/internal/app"
	"github.com/treue/treue/services/survey/internal/domain"
	"github.com/treue/treue/services/survey/internal/ports/metrics"
)

const (
	// maxFormBytes caps a posted form: a 4000-character comment, percent-encoded, fits.
	maxFormBytes = 64 << 10
	// maxTokenLen matches the API's limit on tokens.
	maxTokenLen = 512
)

// Handler serves the survey pages and the health check.
type Handler struct {
	app *app.Application
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the HTTP handler of the survey service.
func New(application *app.Application, log *slog.Logger) *Handler {
	h := &Handler{app: application, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /s/{token}", h.show)
	h.mux.HandleFunc("POST /s/{token}", h.submit)
	// Receipt links: the same page under a short code.
	h.mux.HandleFunc("GET /r/{token}", h.show)
	h.mux.HandleFunc("POST /r/{token}", h.submit)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return h
}

// ServeHTTP adds the security headers to every answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// The token in the URL is the member's key to the survey: never leak it to another
	// site or keep the page in a shared cache.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	if page, ok := h.openUnanswered(w, r, http.StatusOK); ok {
		h.form(w, r, http.StatusOK, page, -1, "", "")
	}
}

func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			telemetry.Refused(r.Context(), "body_too_large")
			h.problem(w, r, http.StatusRequestEntityTooLarge, acceptLanguage(r.Header.Get("Accept-Language")), func(t uiText) string { return t.TooLarge })
			return
		}
		h.problem(w, r, http.StatusBadRequest, acceptLanguage(r.Header.Get("Accept-Language")), func(t uiText) string { return t.Invalid })
		return
	}
	page, ok := h.openUnanswered(w, r, http.StatusConflict)
	if !ok {
		return
	}
	comment := r.PostForm.Get("comment")
	lo, hi, _ := page.Version.ScoreQuestion().Scale()
	score, err := strconv.Atoi(r.PostForm.Get("score"))
	if err != nil || score < lo || score > hi {
		_, t := textFor(page.Lang)
		h.form(w, r, http.StatusBadRequest, page, -1, comment, t.ChooseScore)
		return
	}
	resp, err := h.app.Commands.SubmitResponse.HandleScore(r.Context(), r.PathValue("token"), score, comment)
	_, t := textFor(page.Lang)
	switch {
	case err == nil:
		metrics.ResponseReceived(r.Context(), resp)
		h.thanks(w, r, http.StatusOK, page.Lang, resp.Comment, false)
	case errors.Is(err, domain.ErrAlreadyAnswered):
		h.thanks(w, r, http.StatusConflict, page.Lang, "", true)
	case errors.Is(err, domain.ErrCommentTooLong):
		h.form(w, r, http.StatusBadRequest, page, score, comment, t.CommentTooLong)
	case errors.Is(err, domain.ErrScoreOutOfRange):
		h.form(w, r, http.StatusBadRequest, page, -1, comment, t.ChooseScore)
	default:
		h.failed(w, r, page.Lang, err)
	}
}

// openUnanswered reads the page of the request's token; ok is false when it has
// answered instead: with the right problem page, or, for an invitation already answered,
// by thanking the member again with answeredCode.
func (h *Handler) openUnanswered(w http.ResponseWriter, r *http.Request, answeredCode int) (_ app.SurveyPage, ok bool) {
	page, ok := h.open(w, r)
	if ok && page.Answered {
		h.thanks(w, r, answeredCode, page.Lang, "", true)
		return app.SurveyPage{}, false
	}
	return page, ok
}

// open reads the page of the request's token, or answers with the right problem page.
func (h *Handler) open(w http.ResponseWriter, r *http.Request) (app.SurveyPage, bool) {
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
	case err == nil:
		return page, true
	case errors.Is(err, domain.ErrTokenInvalid):
		h.problem(w, r, http.StatusNotFound, lang, func(t uiText) string { return t.Invalid })
	case errors.Is(err, domain.ErrLinkExpired):
		h.problem(w, r, http.StatusGone, lang, func(t uiText) string { return t.Expired })
	case errors.Is(err, domain.ErrNotYetDue):
		h.problem(w, r, http.StatusGone, lang, func(t uiText) string { return t.Gone })
	case errors.Is(err, domain.ErrInvitationNotFound):
		h.problem(w, r, http.StatusGone, lang, func(t uiText) string { return t.Gone })
	default:
		h.failed(w, r, lang, err)
	}
	return app.SurveyPage{}, false
}

func (h *Handler) form(w http.ResponseWriter, r *http.Request, code int, page app.SurveyPage, selected int, comment, problem string) {
	lang, t := textFor(page.Lang)
	q := page.Version.ScoreQuestion()
	text := q.Text(page.Lang, page.Version.DefaultLocale)
	lo, hi, _ := q.Scale()
	scores := make([]int, 0, hi-lo+1)
	for s := lo; s <= hi; s++ {
		scores = append(scores, s)
	}
	h.render(w, r, code, formTemplate, view{
		Lang: lang, Title: t.Title, T: t,
		Question: text.Prompt, LowLabel: text.LowLabel, HighLabel: text.HighLabel,
		Scores: scores, Selected: selected, Error: problem, Comment: comment,
	})
}

func (h *Handler) thanks(w http.ResponseWriter, r *http.Request, code int, lang, comment string, already bool) {
	lang, t := textFor(lang)
	msg := t.Thanks
	if already {
		msg = t.AlreadyAnswered
	}
	h.render(w, r, code, thanksTemplate, view{Lang: lang, Title: t.ThanksTitle, T: t, Message: msg, Comment: comment})
}

func (h *Handler) problem(w http.ResponseWriter, r *http.Request, code int, lang string, msg func(uiText) string) {
	lang, t := textFor(lang)
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
