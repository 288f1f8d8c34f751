// Command treue-natsconf writes the NATS users of Treue (deploy/nats/auth.conf) from the
// event contract: one nkey user per service, per store and for the retailer's contact
// systems, each allowed only what it needs. Seeds are kept in -seeds (one file per user,
// made when missing); the configuration holds only their public keys.
//
//	go run ./scripts/cmd/treue-natsconf -stores berlin-01,hamburg-02
//	go run ./scripts/cmd/treue-natsconf -stores berlin-01,hamburg-02 -rotate store-berlin-01
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/natsauth"
	"github.com/treue/treue/scripts/internal/natsconf"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "treue-natsconf:", err)
		os.Exit(1)
	}
}

func run() error {
	stores := flag.String("stores", "", "comma-separated store ids that get credentials for their POS events (required)")
	out := flag.String("out", "deploy/nats/auth.conf", "the configuration to write")
	seeds := flag.String("seeds", ".nats-seeds", "folder of the users' seeds (<user>.nk, mode 0600), made when missing; keep it secret")
	ns := flag.String("namespace", "", "TREUE_NAMESPACE of the services (\"\" in production)")
	rotate := flag.String("rotate", "", "comma-separated users (ledger, store-berlin-01, touchpoint, ...) that get a new seed")
	envFile := flag.String("env", "", "also write the services' seeds as NATS_SEED_<SERVICE>=... lines to this file (mode 0600), for docker compose's .env")
	flag.Parse()
	if *stores == "" {
		return fmt.Errorf("-stores is required (e.g. -stores berlin-01,hamburg-02)")
	}
	users, err := natsconf.Write(*out, *seeds, split(*stores), bus.Namespace(*ns), split(*rotate)...)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d users; seeds in %s\n", *out, len(users), *seeds)
	for _, u := range users {
		fmt.Printf("  %-9s %-20s %s\n", u.Kind, u.Name, natsauth.SeedFile(*seeds, u.Name))
	}
	if *envFile != "" {
		var b strings.Builder
		for _, u := range users {
			if u.Kind != natsauth.KindService {
				continue
			}
			seed, err := os.ReadFile(natsauth.SeedFile(*seeds, u.Name))
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "NATS_SEED_%s=%s\n", strings.ToUpper(u.Name), strings.TrimSpace(string(seed)))
		}
		if err := os.WriteFile(*envFile, []byte(b.String()), 0o600); err != nil {
			return err
		}
		fmt.Printf("wrote the services' seeds to %s\n", *envFile)
	}
	fmt.Println("Reload a running server to apply it: nats-server --signal reload (or SIGHUP).")
	return nil
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
