// Package migrations holds the reporting schema's goose migrations.
package migrations

import "embed"

// FS holds the migrations, applied to the reporting schema at start-up.
//
//go:embed *.sql
var FS embed.FS
