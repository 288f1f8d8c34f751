// Package natsconf is the NATS users of this system: natsauth applied to the contracts
// of the five services. treue-natsconf writes them for an operator, the dev stack starts
// its embedded server with them, and the tests hold the committed example to them.
package natsconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/treue/treue/pkg/bus"
	"github.com/treue/treue/pkg/natsauth"
	feedback "github.com/treue/treue/services/feedback/service"
	ledger "github.com/treue/treue/services/ledger/service"
	reporting "github.com/treue/treue/services/reporting/service"
	rewards "github.com/treue/treue/services/rewards/service"
	survey "github.com/treue/treue/services/survey/service"
)

// ExampleStores are the stores of deploy/nats/auth.conf and of the demo.
var ExampleStores = []string{"berlin-01", "hamburg-02", "web"}

// Contracts returns every service's event contract.
func Contracts() ([]bus.Contract, error) {
	var out []bus.Contract
	for _, contract := range []func() (bus.Contract, error){
		ledger.Contract, survey.Contract, feedback.Contract, rewards.Contract, reporting.Contract,
	} {
		c, err := contract()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Users returns the NATS users of the five services, the retailer's contact systems
// and the stores, with subjects inside ns.
func Users(stores []string, ns bus.Namespace) ([]natsauth.User, error) {
	cs, err := Contracts()
	if err != nil {
		return nil, err
	}
	return natsauth.Users(natsauth.Spec{Contracts: cs, Stores: stores, Namespace: ns})
}

// Header is the comment atop a generated configuration.
func Header(stores []string, ns bus.Namespace) string {
	h := "NATS users of Treue and what each may do, generated from the event contract by\n" +
		"  go run ./scripts/cmd/treue-natsconf -stores " + strings.Join(stores, ",")
	if ns != "" {
		h += " -namespace " + string(ns)
	}
	return h + "\nDo not edit: regenerate. Each user is an nkey; its seed never enters this file.\n" +
		"Include it from the server's configuration: include ./auth.conf"
}

// Write makes or reads a seed for every user in seedDir (rotating those named), and
// writes the configuration to confPath. It returns the users.
func Write(confPath, seedDir string, stores []string, ns bus.Namespace, rotate ...string) ([]natsauth.User, error) {
	users, err := Users(stores, ns)
	if err != nil {
		return nil, err
	}
	keys, err := natsauth.Seeds(seedDir, users, rotate...)
	if err != nil {
		return nil, err
	}
	conf, err := natsauth.Render(users, keys, Header(stores, ns))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(confPath), 0o755); err != nil {
		return nil, err
	}
	tmp := confPath + ".new"
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, confPath); err != nil {
		return nil, fmt.Errorf("natsconf: %w", err)
	}
	return users, nil
}
