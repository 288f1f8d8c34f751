// Package migrations holds the staff store's schema, applied as the migration set
// "staff" in the auth schema.
package migrations

import "embed"

// FS holds the goose migrations.
//
//go:embed *.sql
var FS embed.FS
