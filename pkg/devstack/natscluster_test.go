package devstack

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Three nodes form one JetStream cluster: a stream replicated three times takes
// publishes, and still does with one of its followers gone.
func TestClusterNodesReplicateAndOutliveOneNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 3
	nodes := make([]ClusterNode, n)
	for i := range nodes {
		nodes[i] = ClusterNode{Name: "n" + strconv.Itoa(i), Cluster: "devstack", ClientPort: freeLoopbackPort(t),
			ClusterPort: freeLoopbackPort(t), StoreDir: filepath.Join(t.TempDir(), "js")}
	}
	urls := make([]string, n)
	for i := range nodes {
		for j := range nodes {
			if j != i {
				nodes[i].Peers = append(nodes[i].Peers, nodes[j].ClusterPort)
			}
		}
		urls[i] = nodes[i].URL()
	}
	servers := map[string]*server.Server{}
	for _, node := range nodes {
		// What a node process reads is what Env wrote.
		for _, kv := range node.Env("X_") {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		read, err := ClusterNodeFromEnv("X_")
		if err != nil {
			t.Fatal(err)
		}
		s, err := StartClusterNode(read, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Shutdown)
		servers[node.Name] = s
	}
	url := strings.Join(urls, ",")
	if err := WaitJetStream(ctx, url); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream placed on %+v, want a leader and two replicas", info.Cluster)
	}
	if _, err := js.Publish(ctx, "r3.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	// A follower goes: two of three still make a quorum.
	follower := info.Cluster.Replicas[0].Name
	servers[follower].Shutdown()
	servers[follower].WaitForShutdown()
	// A publish the client wrote to the node as it went down is lost with the node's
	// socket, and its reply never comes: publish again, deduplicated by message ID, as
	// the outbox relay does.
	for attempt := 1; ; attempt++ {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.Publish(actx, "r3.a", []byte("2"), jetstream.WithMsgID("2"))
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("publish with %s down, %d attempts: %v", follower, attempt, err)
		}
	}
	if info, err = stream.Info(ctx); err != nil || info.State.Msgs != 2 {
		t.Fatalf("stream holds %v messages (%v), want 2", info.State.Msgs, err)
	}
}
