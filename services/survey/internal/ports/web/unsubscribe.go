package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/treue/treue/services/survey/internal/domain"
)

// The unsubscribe link of a survey email: GET /u/{token} shows a confirmation page and
// changes nothing (mail scanners follow links); POST /u/{token} (the page's button, or a
// mail client's RFC 8058 one-click POST) withdraws the member's survey consent.

// unsubscribeCSS is the pages' only style, allowed by its hash.
const unsubscribeCSS = `body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f5f4;color:#1c1917;line-height:1.5}
main{max-width:36rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.4rem;margin:0 0 1rem}
button{margin-top:1rem;width:100%;padding:.85rem;font:inherit;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:.4rem;cursor:pointer}
button:focus-visible{outline:3px solid #93c5fd}`

var unsubscribeCSP = func() string {
	sum := sha256.Sum256([]byte(unsubscribeCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

type unsubscribeText struct {
	Title, Ask, Button, DoneTitle, Done, Invalid, Expired, Failed string
}

var unsubscribeTexts = map[string]unsubscribeText{
	"en": {
		Title:     "Unsubscribe from surveys",
		Ask:       "Do you no longer want to be asked for your opinion? Confirm below and we will not send you any more surveys.",
		Button:    "Unsubscribe",
		DoneTitle: "You are unsubscribed",
		Done:      "We will not send you any more surveys. Thank you for your answers so far.",
		Invalid:   "This unsubscribe link is not valid. Please use the link from your email.",
		Expired:   "This unsubscribe link has expired. You can change your preferences in your member account.",
		Failed:    "Something went wrong. Please try again in a moment.",
	},
	"de": {
		Title:     "Von Umfragen abmelden",
		Ask:       "Möchten Sie nicht mehr nach Ihrer Meinung gefragt werden? Bestätigen Sie unten, und wir senden Ihnen keine Umfragen mehr.",
		Button:    "Abmelden",
		DoneTitle: "Sie sind abgemeldet",
		Done:      "Wir senden Ihnen keine Umfragen mehr. Vielen Dank für Ihre bisherigen Antworten.",
		Invalid:   "Dieser Abmeldelink ist ungültig. Bitte verwenden Sie den Link aus Ihrer E-Mail.",
		Expired:   "Dieser Abmeldelink ist abgelaufen. Sie können Ihre Einstellungen in Ihrem Mitgliedskonto ändern.",
		Failed:    "Etwas ist schiefgegangen. Bitte versuchen Sie es gleich noch einmal.",
	},
}

func unsubscribeTextFor(lang string) (string, unsubscribeText) {
	if t, ok := unsubscribeTexts[domain.Language(lang)]; ok {
		return domain.Language(lang), t
	}
	return "en", unsubscribeTexts["en"]
}

var unsubscribeTemplate = template.Must(template.New("unsubscribe").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Heading}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<main>
<h1>{{.Heading}}</h1>
<p>{{.Message}}</p>
{{if .Confirm}}<form method="post">
<button type="submit">{{.Button}}</button>
</form>{{end}}
</main>
</body>
</html>
`))

type unsubscribeView struct {
	Lang, Heading, Message, Button string
	CSS                            template.CSS
	Confirm                        bool
}

// unsubscribeRoutes adds the unsubscribe pages to the handler's mux.
func (h *Handler) unsubscribeRoutes() {
	if h.app.Commands.Delivery.Unsubscribe == nil {
		return // delivery not wired (a handler built for a test of the survey page alone)
	}
	h.mux.HandleFunc("GET /u/{token}", h.unsubscribeAsk)
	h.mux.HandleFunc("POST /u/{token}", h.unsubscribeConfirm)
}

func (h *Handler) unsubscribeAsk(w http.ResponseWriter, r *http.Request) {
	lang := acceptLanguage(r.Header.Get("Accept-Language"))
	token := r.PathValue("token")
	if len(token) > maxTokenLen {
		h.unsubscribePage(w, http.StatusBadRequest, lang, func(t unsubscribeText) (string, string) { return t.Title, t.Invalid }, false)
		return
	}
	inv, err := h.app.Commands.Delivery.Unsubscribe.Check(r.Context(), token)
	if inv.Locale != "" {
		lang = inv.Locale
	}
	if h.unsubscribeProblem(w, r, lang, err) {
		return
	}
	h.unsubscribePage(w, http.StatusOK, lang, func(t unsubscribeText) (string, string) { return t.Title, t.Ask }, true)
}

func (h *Handler) unsubscribeConfirm(w http.ResponseWriter, r *http.Request) {
	// The body (a one-click "List-Unsubscribe=One-Click", or our empty form) says nothing
	// the token does not; read little of it.
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	lang := acceptLanguage(r.Header.Get("Accept-Language"))
	token := r.PathValue("token")
	if len(token) > maxTokenLen {
		h.unsubscribePage(w, http.StatusBadRequest, lang, func(t unsubscribeText) (string, string) { return t.Title, t.Invalid }, false)
		return
	}
	inv, err := h.app.Commands.Delivery.Unsubscribe.Handle(r.Context(), token)
	if inv.Locale != "" {
		lang = inv.Locale
	}
	if h.unsubscribeProblem(w, r, lang, err) {
		return
	}
	h.unsubscribePage(w, http.StatusOK, lang, func(t unsubscribeText) (string, string) { return t.DoneTitle, t.Done }, false)
}

// unsubscribeProblem answers an error with its page and reports whether there was one.
func (h *Handler) unsubscribeProblem(w http.ResponseWriter, r *http.Request, lang string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, domain.ErrTokenInvalid), errors.Is(err, domain.ErrInvitationNotFound):
		h.unsubscribePage(w, http.StatusBadRequest, lang, func(t unsubscribeText) (string, string) { return t.Title, t.Invalid }, false)
	case errors.Is(err, domain.ErrLinkExpired):
		h.unsubscribePage(w, http.StatusGone, lang, func(t unsubscribeText) (string, string) { return t.Title, t.Expired }, false)
	default:
		h.log.ErrorContext(r.Context(), "unsubscribe page failed", "method", r.Method, "err", err)
		h.unsubscribePage(w, http.StatusInternalServerError, lang, func(t unsubscribeText) (string, string) { return t.Title, t.Failed }, false)
	}
	return true
}

func (h *Handler) unsubscribePage(w http.ResponseWriter, code int, lang string, text func(unsubscribeText) (string, string), confirm bool) {
	lang, t := unsubscribeTextFor(lang)
	heading, msg := text(t)
	var buf bytes.Buffer
	if err := unsubscribeTemplate.Execute(&buf, unsubscribeView{
		Lang: lang, Heading: heading, Message: msg, Button: t.Button, CSS: template.CSS(unsubscribeCSS), Confirm: confirm,
	}); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Security-Policy", unsubscribeCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
