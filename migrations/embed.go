// Package migrations embeds the versioned goose migrations of the AxTract
// schema, so the binary can apply them without the source tree.
package migrations

import "embed"

// FS holds every NNNNN_name.sql migration in this directory.
//
//go:embed *.sql
var FS embed.FS
