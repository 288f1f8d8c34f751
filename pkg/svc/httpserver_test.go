package svc_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/treue/treue/pkg/svc"
)

// TestHTTPServerLimits runs the web port's server on loopback: a panicking handler
// answers a bare 500, a body over the cap is 413, and oversized headers are refused.
func TestHTTPServerLimits(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) {
		panic("secret detail: connection string postgres://u:p@db")
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		_, _ = io.WriteString(w, strings.Repeat("x", int(n%10)))
	})
	srv := svc.NewHTTPServer(mux, log)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + lis.Addr().String()

	resp, err := http.Get(base + "/panic")
	if err != nil {
		t.Fatalf("GET /panic: %v (the connection was dropped?)", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || strings.TrimSpace(string(body)) != "internal error" {
		t.Errorf("GET /panic: %d %q, want 500 \"internal error\"", resp.StatusCode, body)
	}
	if !strings.Contains(logged.String(), "secret detail") || !strings.Contains(logged.String(), "goroutine") {
		t.Errorf("the panic and its stack are not logged: %s", logged.String())
	}

	post := func(body io.Reader, size int64) int {
		req, err := http.NewRequest(http.MethodPost, base+"/echo", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /echo: %v", err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(strings.NewReader("small"), 5); code != http.StatusOK {
		t.Errorf("a 5-byte body: %d", code)
	}
	big := strings.Repeat("x", svc.MaxBodyBytes+1)
	if code := post(strings.NewReader(big), int64(len(big))); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a declared body over the cap: %d, want 413", code)
	}
	// Chunked, with no length declared: the cap stops the read.
	if code := post(io.MultiReader(strings.NewReader(big)), -1); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a chunked body over the cap: %d, want 413", code)
	}

	req, _ := http.NewRequest(http.MethodGet, base+"/panic", nil)
	req.Header.Set("X-Big", strings.Repeat("h", svc.MaxHeaderBytes+8<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers over the cap: %d, want 431", resp.StatusCode)
	}
}
