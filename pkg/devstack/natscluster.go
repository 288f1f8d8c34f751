package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ClusterNode is one member of a JetStream cluster on loopback.
type ClusterNode struct {
	// Name is the node's server name, unique in the cluster (JetStream places replicas
	// by it).
	Name string
	// Cluster is the cluster's name, the same on every node.
	Cluster string
	// ClientPort takes client connections on 127.0.0.1.
	ClientPort int
	// ClusterPort takes the routes of the other nodes on 127.0.0.1.
	ClusterPort int
	// Peers are the cluster ports of the other nodes.
	Peers []int
	// StoreDir is this node's own JetStream store.
	StoreDir string
}

// Env is the node as environment entries, for a process that runs it with
// ClusterNodeFromEnv.
func (n ClusterNode) Env(prefix string) []string {
	peers := make([]string, len(n.Peers))
	for i, p := range n.Peers {
		peers[i] = strconv.Itoa(p)
	}
	return []string{
		prefix + "NAME=" + n.Name, prefix + "CLUSTER=" + n.Cluster,
		prefix + "CLIENT_PORT=" + strconv.Itoa(n.ClientPort), prefix + "CLUSTER_PORT=" + strconv.Itoa(n.ClusterPort),
		prefix + "PEERS=" + strings.Join(peers, ","), prefix + "STORE_DIR=" + n.StoreDir,
	}
}

// ClusterNodeFromEnv reads what Env wrote.
func ClusterNodeFromEnv(prefix string) (ClusterNode, error) {
	n := ClusterNode{Name: os.Getenv(prefix + "NAME"), Cluster: os.Getenv(prefix + "CLUSTER"), StoreDir: os.Getenv(prefix + "STORE_DIR")}
	var err error
	if n.ClientPort, err = strconv.Atoi(os.Getenv(prefix + "CLIENT_PORT")); err != nil {
		return n, fmt.Errorf("%sCLIENT_PORT: %w", prefix, err)
	}
	if n.ClusterPort, err = strconv.Atoi(os.Getenv(prefix + "CLUSTER_PORT")); err != nil {
		return n, fmt.Errorf("%sCLUSTER_PORT: %w", prefix, err)
	}
	for _, p := range strings.Split(os.Getenv(prefix+"PEERS"), ",") {
		port, err := strconv.Atoi(p)
		if err != nil {
			return n, fmt.Errorf("%sPEERS: %w", prefix, err)
		}
		n.Peers = append(n.Peers, port)
	}
	return n, nil
}

// URL is the node's client URL.
func (n ClusterNode) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.ClientPort) }

// StartClusterNode starts n as an embedded server and waits until it takes clients. The
// cluster's JetStream answers only once a majority of nodes is up and has elected a
// meta leader: see WaitJetStream.
func StartClusterNode(n ClusterNode, log *slog.Logger) (*server.Server, error) {
	log = orDiscard(log)
	if n.Name == "" || n.Cluster == "" || n.StoreDir == "" || len(n.Peers) == 0 {
		return nil, errors.New("devstack: a cluster node needs a name, a cluster name, a store dir and peers")
	}
	if err := os.MkdirAll(n.StoreDir, 0o700); err != nil {
		return nil, err
	}
	routes := make([]string, len(n.Peers))
	for i, p := range n.Peers {
		routes[i] = "nats-route://127.0.0.1:" + strconv.Itoa(p)
	}
	s, err := server.NewServer(&server.Options{
		ServerName: n.Name,
		Host:       "127.0.0.1",
		Port:       n.ClientPort,
		JetStream:  true,
		StoreDir:   n.StoreDir,
		Cluster:    server.ClusterOpts{Name: n.Cluster, Host: "127.0.0.1", Port: n.ClusterPort},
		Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
		NoSigs:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring NATS node %s: %w", n.Name, err)
	}
	s.SetLogger(slogNATS{log.With("node", n.Name)}, false, false)
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("NATS node %s did not take clients within 10s", n.Name)
	}
	return s, nil
}

// WaitJetStream waits until JetStream answers at url: in a cluster, until a meta leader
// is elected.
func WaitJetStream(ctx context.Context, url string) error {
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(actx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("JetStream at %s: %w (last error: %v)", url, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
