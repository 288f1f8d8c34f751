package svc

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/treue/treue/pkg/telemetry"
)

// Limits of every service's web port. Handlers that read a form or JSON cap their body
// tighter (the survey's answer, the login form); MaxBodyBytes is the cap of any other.
const (
	MaxHeaderBytes = 64 << 10
	MaxBodyBytes   = 1 << 20
)

// NewHTTPServer is the HTTP server of a service's web port: timeouts for slow clients,
// header and body limits, and a panic in a handler answered with a bare 500.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           Guard(h, log),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: MaxHeaderBytes,
		// The server's own complaints (TLS handshakes, bad requests) go to the log.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Guard caps every request body at MaxBodyBytes and turns a panic in h into a 500 that
// says nothing of the cause; the stack goes to the log. net/http would recover too, but
// by dropping the connection, which a browser shows as a broken page.
func Guard(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			telemetry.Refused(r.Context(), "body_too_large")
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		rec := &recordingWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			// ErrAbortHandler is net/http's own way to abort a response: let it do so.
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.ErrorContext(r.Context(), "panic in HTTP handler", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rec.wrote {
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(rec, r)
	})
}

// recordingWriter notes whether the handler began its response, so a panic after that
// is not answered with a second status line.
type recordingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *recordingWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Flush, deadlines).
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
