// Package migrations holds the ledger schema's migrations (goose), embedded in the binary.
package migrations

import "embed"

// FS holds the *.sql migrations at its root.
//
//go:embed *.sql
var FS embed.FS
