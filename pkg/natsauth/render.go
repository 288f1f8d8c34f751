package natsauth

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Render writes users as a nats-server configuration block: the account Account with
// JetStream and one nkey user per entry of users, keyed by the public keys in keys (by
// user name). Include it from the server's configuration (`include ./auth.conf`).
func Render(users []User, keys map[string]string, header string) (string, error) {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
	}
	fmt.Fprintf(&b, "accounts {\n  %s {\n    jetstream: enabled\n    users: [\n", Account)
	for _, u := range users {
		key, ok := keys[u.Name]
		if !ok {
			return "", fmt.Errorf("natsauth: no public key for user %s", u.Name)
		}
		fmt.Fprintf(&b, "      # %s %s\n", u.Kind, u.Name)
		fmt.Fprintf(&b, "      {\n        nkey: %s\n        permissions: {\n", key)
		list(&b, "publish", u.Publish)
		list(&b, "subscribe", u.Subscribe)
		b.WriteString("        }\n      }\n")
	}
	b.WriteString("    ]\n  }\n}\n")
	return b.String(), nil
}

func list(b *strings.Builder, what string, subjects []string) {
	fmt.Fprintf(b, "          %s: { allow: [\n", what)
	for _, s := range subjects {
		// Quoted: "$JS..." unquoted would be a variable reference.
		fmt.Fprintf(b, "            %s\n", strconv.Quote(s))
	}
	b.WriteString("          ] }\n")
}

// userKey matches a rendered user's comment and public key.
var userKey = regexp.MustCompile(`(?m)^\s*# (service|store|external) (\S+)\n\s*\{\n\s*nkey: (U[A-Z2-7]{55})$`)

// Keys returns the public keys of the users in a configuration Render wrote, by user
// name: what a check that the file is up to date regenerates it with.
func Keys(conf string) map[string]string {
	out := map[string]string{}
	for _, m := range userKey.FindAllStringSubmatch(conf, -1) {
		out[m[2]] = m[3]
	}
	return out
}
