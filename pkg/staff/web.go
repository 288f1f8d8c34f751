package staff

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/treue/treue/pkg/telemetry"
)

// Paths of the sign-in pages, the same on every service's web port.
const (
	LoginPath  = "/login"
	LogoutPath = "/logout"
	// CookieName holds the session id.
	CookieName = "treue_staff"
)

// maxFormBytes bounds the login form: a user name, a password and a path fit easily.
const maxFormBytes = 8 << 10

//go:embed login.html
var loginHTML string

var loginTemplate = template.Must(template.New("login").Parse(loginHTML))

// Web is the sign-in of one web port: the login page, logout, the middleware that
// guards pages, and cross-origin protection for every form.
//
// CSRF: Protect uses net/http's CrossOriginProtection, which refuses a state-changing
// request that the browser marks as cross-origin (Sec-Fetch-Site, else Origin against
// Host). Every browser Treue supports sends these headers, so no token needs keeping in
// the session or in each form, and the pages stay plain HTML; the session cookie is
// SameSite=Lax as a second line.
//
// Single sign-on would add a route that ends an OIDC code flow by opening a session
// (Store.openSession) for the account mapped from the token's subject: the cookie, the
// middleware and the pages would not change.
type Web struct {
	store  *Store
	log    *slog.Logger
	secure bool
	cop    *http.CrossOriginProtection
}

// NewWeb returns the sign-in for a web port.
func NewWeb(store *Store, log *slog.Logger) *Web {
	w := &Web{store: store, log: log, secure: store.cfg.SecureCookies, cop: http.NewCrossOriginProtection()}
	w.cop.SetDenyHandler(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		telemetry.Refused(r.Context(), "csrf")
		http.Error(rw, "cross-origin request refused", http.StatusForbidden)
	}))
	return w
}

// Routes adds the login page and logout to mux.
func (w *Web) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+LoginPath, w.loginPage)
	mux.HandleFunc("POST "+LoginPath, w.login)
	mux.HandleFunc("POST "+LogoutPath, w.logout)
}

// Protect refuses cross-origin state-changing requests to h (see Web).
func (w *Web) Protect(h http.Handler) http.Handler { return w.cop.Handler(h) }

type accountKey struct{}

// AccountFrom returns the signed-in staff member of a request that RequireStaff let in.
func AccountFrom(ctx context.Context) (Account, bool) {
	a, ok := ctx.Value(accountKey{}).(Account)
	return a, ok
}

// RequireStaff lets a request through only with a live session of an account holding
// one of roles (any role when none is given). Without one, a page is redirected to the
// login page and a JSON request gets 401; a signed-in member without the role gets 403.
func (w *Web) RequireStaff(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			// Pages behind a sign-in are nobody else's: no shared cache keeps them.
			rw.Header().Set("Cache-Control", "no-store")
			rw.Header().Add("Vary", "Cookie")
			acct, err := w.account(r)
			switch {
			case errors.Is(err, ErrNoSession):
				telemetry.Refused(r.Context(), "page_unauthenticated")
				w.unauthenticated(rw, r)
				return
			case err != nil:
				w.log.ErrorContext(r.Context(), "staff: reading the session", "err", err)
				http.Error(rw, "sign-in is unavailable; try again shortly", http.StatusServiceUnavailable)
				return
			case !acct.Has(roles...):
				telemetry.Refused(r.Context(), "page_forbidden")
				http.Error(rw, acct.Username+" may not see this page (needs one of: "+strings.Join(roles, ", ")+")", http.StatusForbidden)
				return
			}
			next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), accountKey{}, acct)))
		})
	}
}

func (w *Web) account(r *http.Request) (Account, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return Account{}, ErrNoSession
	}
	return w.store.Session(r.Context(), c.Value)
}

func (w *Web) unauthenticated(rw http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusUnauthorized)
		_, _ = rw.Write([]byte(`{"error":"sign in required","login":"` + LoginPath + `"}` + "\n"))
		return
	}
	http.Redirect(rw, r, LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// wantsJSON tells an API client from a browser: a .json path, or an Accept header that
// names JSON and not HTML.
func wantsJSON(r *http.Request) bool {
	if strings.HasSuffix(r.URL.Path, ".json") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

type loginView struct {
	Error, Note, Next, Username string
}

func (w *Web) loginPage(rw http.ResponseWriter, r *http.Request) {
	v := loginView{Next: localPath(r.URL.Query().Get("next"))}
	if r.URL.Query().Get("signed_out") == "1" {
		v.Note = "You are signed out."
	}
	w.render(rw, r, http.StatusOK, v)
}

func (w *Web) login(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			telemetry.Refused(r.Context(), "body_too_large")
			http.Error(rw, "form too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(rw, "malformed form", http.StatusBadRequest)
		return
	}
	v := loginView{Next: localPath(r.PostForm.Get("next")), Username: r.PostForm.Get("username")}
	if len(v.Username) > 64 {
		v.Username = ""
	}
	id, acct, err := w.store.SignIn(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"), r.RemoteAddr)
	switch {
	case errors.Is(err, ErrLocked):
		telemetry.Refused(r.Context(), "login_locked")
		v.Error = "Too many failed sign-ins. Try again later."
		w.render(rw, r, http.StatusTooManyRequests, v)
		return
	case errors.Is(err, ErrBadCredentials):
		telemetry.Refused(r.Context(), "login_failed")
		v.Error = "Wrong user name or password."
		w.render(rw, r, http.StatusUnauthorized, v)
		return
	case err != nil:
		w.log.ErrorContext(r.Context(), "staff: sign-in", "err", err)
		v.Error = "Sign-in is unavailable; try again shortly."
		w.render(rw, r, http.StatusServiceUnavailable, v)
		return
	}
	w.log.InfoContext(r.Context(), "staff signed in", "user", acct.Username)
	http.SetCookie(rw, &http.Cookie{
		Name: CookieName, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.secure || r.TLS != nil,
	})
	next := v.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(rw, r, next, http.StatusSeeOther)
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		if err := w.store.SignOut(r.Context(), c.Value); err != nil {
			w.log.ErrorContext(r.Context(), "staff: sign-out", "err", err)
			http.Error(rw, "sign-out failed; try again", http.StatusServiceUnavailable)
			return
		}
	}
	http.SetCookie(rw, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.secure || r.TLS != nil,
	})
	http.Redirect(rw, r, LoginPath+"?signed_out=1", http.StatusSeeOther)
}

func (w *Web) render(rw http.ResponseWriter, r *http.Request, code int, v loginView) {
	var buf bytes.Buffer
	if err := loginTemplate.Execute(&buf, v); err != nil {
		w.log.ErrorContext(r.Context(), "staff: render login page", "err", err)
		http.Error(rw, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	// The login page must not be framed (clickjacking).
	rw.Header().Set("X-Frame-Options", "DENY")
	rw.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	rw.WriteHeader(code)
	_, _ = rw.Write(buf.Bytes())
}

// localPath keeps a redirect target on this site: a path, not "//host" or a URL.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return ""
	}
	u, err := url.Parse(p)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return p
}
