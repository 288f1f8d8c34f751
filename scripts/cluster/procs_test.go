//go:build linux

package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/treue/treue/pkg/devstack"
	"github.com/treue/treue/pkg/svc"
	feedback "github.com/treue/treue/services/feedback/service"
	ledger "github.com/treue/treue/services/ledger/service"
	reporting "github.com/treue/treue/services/reporting/service"
	rewards "github.com/treue/treue/services/rewards/service"
	survey "github.com/treue/treue/services/survey/service"
)

// roleEnv makes this test binary, started by the test, one process of the system: a
// NATS node or a service, exactly as its own main would run it. The binary go test built
// already links all five services, so nothing is built twice.
const (
	roleEnv    = "TREUE_CLUSTER_ROLE"
	natsPrefix = "TREUE_CLUSTER_NATS_"
)

// runRole runs the process role names and never returns.
func runRole(role string) {
	switch role {
	case "nats":
		n, err := devstack.ClusterNodeFromEnv(natsPrefix)
		if err == nil {
			// Its notices are Debug: the node's log is for when a run fails.
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			_, err = devstack.StartClusterNode(n, log)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "nats node:", err)
			os.Exit(1)
		}
		fmt.Println("nats node ready", n.Name)
		// Runs until killed.
		select {}
	case ledger.Name:
		svc.Main(ledger.Name, ledger.LoadConfig, ledger.New)
	case survey.Name:
		svc.Main(survey.Name, survey.LoadConfig, survey.New)
	case feedback.Name:
		svc.Main(feedback.Name, feedback.LoadConfig, feedback.New)
	case rewards.Name:
		svc.Main(rewards.Name, rewards.LoadConfig, rewards.New)
	case reporting.Name:
		svc.Main(reporting.Name, reporting.LoadConfig, reporting.New)
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		os.Exit(2)
	}
	os.Exit(0)
}

// proc is one process of the system.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startProc runs this test binary as role with env added to the test's environment; its
// output goes to a log file in dir.
func startProc(t *testing.T, dir, name, role string, env []string) *proc {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	// The run filter matches nothing: the role is decided in TestMain before any test.
	p.cmd = exec.Command(bin, "-test.run=^$", "-test.timeout=10m")
	p.cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	// Dies with the test process, whatever ends it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill ends the process with SIGKILL, as a crash or a lost machine would.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitServing waits until the process's gRPC health check says SERVING.
func waitServing(ctx context.Context, p *proc, addr string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited during start-up:\n%s", p.name, p.tail(30))
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not serving (last error %v):\n%s", p.name, err, p.tail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePort returns a port free now for a child process to listen on. It is taken below
// Linux's ephemeral range (32768 and up): a port the kernel picked for "port 0" is
// handed out again at once to the next outgoing connection or listener of any test
// running beside this one, and the child, binding a moment later, finds it taken.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + mrand.IntN(12000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// balancer is what a Kubernetes Service is to the ledger's replicas: one address for
// rewards, each connection taken to the next replica that answers. gRPC dials one
// address; without it a rewards replica would be tied to one ledger replica.
type balancer struct {
	l        net.Listener
	backends []string
	next     atomic.Uint64
	wg       sync.WaitGroup
}

func newBalancer(t *testing.T, backends ...string) *balancer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{l: l, backends: backends}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(func() { l.Close(); b.wg.Wait() })
	return b
}

func (b *balancer) addr() string { return b.l.Addr().String() }

func (b *balancer) serve() {
	defer b.wg.Done()
	for {
		c, err := b.l.Accept()
		if err != nil {
			return
		}
		go b.relay(c)
	}
}

func (b *balancer) relay(c net.Conn) {
	defer c.Close()
	start := b.next.Add(1)
	var up net.Conn
	for i := range len(b.backends) {
		var err error
		up, err = net.DialTimeout("tcp", b.backends[(int(start)+i)%len(b.backends)], 500*time.Millisecond)
		if err == nil {
			break
		}
	}
	if up == nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	// Either side gone ends both: a dead replica's connections close, and gRPC dials
	// again, reaching a live one.
	<-done
}
