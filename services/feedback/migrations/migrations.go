// Package migrations holds the feedback schema's goose migrations.
package migrations

import "embed"

// FS holds the *.sql migrations, applied in order by pkg/svc at start-up.
//
//go:embed *.sql
var FS embed.FS
