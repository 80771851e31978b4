// Package sql embeds the repeatable SQL objects (functions, views, policies
// and grants) that axtract migrate re-creates after the migrations. Files run
// in lexical order, all in one transaction, and each must be safe to run
// again on a database that already has its objects.
package sql

import "embed"

// FS holds every NN_name.sql file in this directory.
//
//go:embed *.sql
var FS embed.FS
