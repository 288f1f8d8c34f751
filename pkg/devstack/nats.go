package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSOptions tunes the embedded server started by NATSWithOptions.
type NATSOptions struct {
	// Port for the embedded server on 127.0.0.1. Zero means a random free
	// port. If the port is taken, a random one is used instead (and logged),
	// so a stale process never blocks startup.
	Port int
	// ConfigFile, when set, is a nats-server configuration (accounts and users, such as
	// the generated auth.conf) for the embedded server; host, port and the JetStream
	// store are still devstack's.
	ConfigFile string
}

// NATS returns the URL of a NATS server with JetStream: $NATS_URL if set
// (verified to be reachable with JetStream enabled), otherwise an embedded
// server on a random loopback port storing JetStream data under storeDir.
//
// stop shuts the embedded server down and waits for it; it is a no-op when
// NATS_URL was used. It is safe to call more than once.
func NATS(ctx context.Context, storeDir string, log *slog.Logger) (url string, stop func(), err error) {
	return NATSWithOptions(ctx, storeDir, log, NATSOptions{})
}

// NATSWithOptions is NATS with a preferred port for the embedded server, so
// `make run` can print a stable URL.
func NATSWithOptions(ctx context.Context, storeDir string, log *slog.Logger, opts NATSOptions) (url string, stop func(), err error) {
	log = orDiscard(log)
	if url := os.Getenv("NATS_URL"); url != "" {
		if err := checkJetStream(ctx, url); err != nil {
			return "", nil, fmt.Errorf("NATS_URL is set but unusable (unset it to use an embedded server): %w", err)
		}
		log.Debug("using NATS from NATS_URL", "url", url)
		return url, func() {}, nil
	}
	return EmbeddedNATS(storeDir, log, opts)
}

// checkJetStream connects to url and confirms JetStream answers, so a server
// without JetStream fails here rather than at the first stream operation.
func checkJetStream(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	nc, err := nats.Connect(url, nats.Timeout(timeout), nats.NoReconnect())
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream on %s: %w", url, err)
	}
	return nil
}

// EmbeddedNATS starts a NATS server with JetStream in this process whatever NATS_URL
// says: for a test that needs a server of its own, such as one with auth.
func EmbeddedNATS(storeDir string, log *slog.Logger, opts NATSOptions) (url string, stop func(), err error) {
	log = orDiscard(log)
	port := opts.Port
	if storeDir == "" {
		return "", nil, errors.New("devstack: NATS storeDir is empty")
	}
	if port > 0 && !portFree(port) {
		log.Warn("NATS port taken, using a random one", "port", port)
		port = 0
	}
	if port <= 0 {
		port = server.RANDOM_PORT
	}
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return "", nil, err
	}
	sopts := &server.Options{}
	if opts.ConfigFile != "" {
		if sopts, err = server.ProcessConfigFile(opts.ConfigFile); err != nil {
			return "", nil, fmt.Errorf("embedded NATS: %w", err)
		}
	}
	sopts.Host, sopts.Port = "127.0.0.1", port
	sopts.JetStream, sopts.StoreDir = true, storeDir
	// The embedding process owns signal handling.
	sopts.NoSigs = true
	s, err := server.NewServer(sopts)
	if err != nil {
		return "", nil, fmt.Errorf("configuring embedded NATS: %w", err)
	}
	s.SetLogger(slogNATS{log}, false, false)
	s.Start()

	stop = sync.OnceFunc(func() {
		s.Shutdown()
		s.WaitForShutdown()
		log.Info("stopped embedded NATS")
	})
	if !s.ReadyForConnections(10 * time.Second) {
		stop()
		return "", nil, errors.New("embedded NATS did not become ready within 10s")
	}
	if !s.JetStreamEnabled() {
		stop()
		return "", nil, fmt.Errorf("embedded NATS started without JetStream (store dir %s unusable?)", storeDir)
	}
	url = s.ClientURL()
	log.Info("started embedded NATS", "url", url, "store", storeDir, "config", opts.ConfigFile)
	return url, stop, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// slogNATS routes the embedded server's logs into slog. Its notices are
// startup chatter, so they go to Debug.
type slogNATS struct{ log *slog.Logger }

func (l slogNATS) Noticef(format string, v ...any) { l.log.Debug("nats: " + fmt.Sprintf(format, v...)) }
func (l slogNATS) Warnf(format string, v ...any)   { l.log.Warn("nats: " + fmt.Sprintf(format, v...)) }
func (l slogNATS) Fatalf(format string, v ...any)  { l.log.Error("nats: " + fmt.Sprintf(format, v...)) }
func (l slogNATS) Errorf(format string, v ...any)  { l.log.Error("nats: " + fmt.Sprintf(format, v...)) }
func (l slogNATS) Debugf(format string, v ...any)  { l.log.Debug("nats: " + fmt.Sprintf(format, v...)) }
func (l slogNATS) Tracef(format string, v ...any)  { l.log.Debug("nats: " + fmt.Sprintf(format, v...)) }
