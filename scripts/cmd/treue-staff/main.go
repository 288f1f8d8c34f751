// Command treue-staff manages the staff accounts that sign in to Treue's web pages (the
// reporting dashboard, and later the case inbox). It talks to the auth schema directly
// (AUTH_DATABASE_URL, else DATABASE_URL), so it creates the first admin before any
// account exists:
//
//	treue-staff create -user ada@example.com -roles admin          # prints a generated password
//	treue-staff create -user bob -roles marketing,auditor -password-stdin < pw.txt
//	treue-staff list
//	treue-staff password -user bob                                  # new generated password
//	treue-staff disable -user bob
//
// A new password, a disabled account, each ends the account's sessions.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/treue/treue/pkg/config"
	"github.com/treue/treue/pkg/staff"
)

const usage = `usage: treue-staff <command> [flags]

commands:
  create   -user NAME -roles ROLE[,ROLE] [-password-stdin]   add an account
  list                                                       every account
  password -user NAME [-password-stdin]                      set a new password
  disable  -user NAME                                        refuse its sign-in

Roles: ` + "admin, marketing, service_agent, auditor" + `
Without -password-stdin a password is generated and printed once.
Database: AUTH_DATABASE_URL, else DATABASE_URL, else the dev database.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "treue-staff:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	user := fs.String("user", "", "the account's user name")
	roles := fs.String("roles", "", "comma-separated roles")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	env := &config.Env{}
	cfg := staff.LoadConfig(env)
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = env.String("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/treue?sslmode=disable")
	}
	if err := env.Err(); err != nil {
		return err
	}
	store, err := staff.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer store.Close()

	password := func() (string, bool, error) {
		if !*fromStdin {
			return staff.GeneratePassword(), true, nil
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	needUser := func() error {
		if *user == "" {
			return fmt.Errorf("%s: -user is required", cmd)
		}
		return nil
	}

	switch cmd {
	case "create":
		if err := needUser(); err != nil {
			return err
		}
		pw, generated, err := password()
		if err != nil {
			return err
		}
		a, err := store.Create(ctx, *user, splitRoles(*roles), pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "created %s (%s)\n", a.Username, strings.Join(a.Roles, ", "))
		if generated {
			fmt.Fprintf(out, "password: %s\n", pw)
		}
	case "password":
		if err := needUser(); err != nil {
			return err
		}
		pw, generated, err := password()
		if err != nil {
			return err
		}
		if err := store.SetPassword(ctx, *user, pw); err != nil {
			return err
		}
		fmt.Fprintf(out, "new password set for %s; its sessions are ended\n", *user)
		if generated {
			fmt.Fprintf(out, "password: %s\n", pw)
		}
	case "disable":
		if err := needUser(); err != nil {
			return err
		}
		if err := store.Disable(ctx, *user); err != nil {
			return err
		}
		fmt.Fprintf(out, "disabled %s; its sessions are ended\n", *user)
	case "list":
		accts, err := store.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tROLES\tCREATED\tSTATE")
		for _, a := range accts {
			state := "active"
			if a.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Username, strings.Join(a.Roles, ","), a.CreatedAt.UTC().Format("2006-01-02 15:04"), state)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	return nil
}

func splitRoles(s string) []string {
	var out []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}
