// Package migrations embeds the rewards schema's goose migrations.
package migrations

import "embed"

// FS holds the migrations, applied by the service at start-up.
//
//go:embed *.sql
var FS embed.FS
