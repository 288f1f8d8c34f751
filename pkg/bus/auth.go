package bus

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Credentials are what a process presents to NATS: a user nkey seed, inline or in a
// file. The server's configuration holds only the public key. The zero value connects
// anonymously, as to the test kit's embedded server, which has no auth.
type Credentials struct {
	// NkeySeed is the seed itself ("SU..."): NATS_NKEY_SEED.
	NkeySeed string
	// NkeySeedFile is a file holding the seed, such as a mounted secret:
	// NATS_NKEY_SEED_FILE. Preferred to NkeySeed, which an environment dump shows.
	NkeySeedFile string
}

// Anonymous reports whether c holds no credentials.
func (c Credentials) Anonymous() bool { return c.NkeySeed == "" && c.NkeySeedFile == "" }

// Options returns the connect options that present c; none for anonymous credentials.
// A seed that is not a user's nkey seed is refused here rather than at the server.
func (c Credentials) Options() ([]nats.Option, error) {
	seed := strings.TrimSpace(c.NkeySeed)
	switch {
	case seed != "" && c.NkeySeedFile != "":
		return nil, errors.New("bus: set NATS_NKEY_SEED or NATS_NKEY_SEED_FILE, not both")
	case c.NkeySeedFile != "":
		b, err := os.ReadFile(c.NkeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("bus: NATS_NKEY_SEED_FILE: %w", err)
		}
		seed = strings.TrimSpace(string(b))
	case seed == "":
		return nil, nil
	}
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return nil, fmt.Errorf("bus: NATS nkey seed: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("bus: NATS nkey seed: %w", err)
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return nil, errors.New("bus: NATS nkey seed is not a user seed (it must start with SU)")
	}
	return []nats.Option{nats.Nkey(pub, kp.Sign)}, nil
}

// InboxPrefix is the prefix of the reply subjects of a process connecting as user: a
// user may subscribe to its own replies only, so no other can read them.
func InboxPrefix(user string) string { return "_INBOX_" + user }
