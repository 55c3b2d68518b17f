// Package migrations embeds Coffer's database schema migrations: numbered
// up/down pairs for PostgreSQL and for SQLite, applied with golang-migrate's
// iofs source by the stores (from `coffer migrate` and from test helpers).
//
// Once a migration has shipped it is never edited; a change is a new pair.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres holds the PostgreSQL migrations at its root, ready for
// iofs.New(Postgres, ".").
var Postgres = mustSub("postgres")

// SQLite holds the SQLite migrations at its root, ready for
// iofs.New(SQLite, "."). They contain no BEGIN/COMMIT: golang-migrate's
// SQLite driver runs each file in a transaction of its own.
var SQLite = mustSub("sqlite")

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic("migrations: " + err.Error()) // unreachable: dir is a literal that go:embed checked
	}
	return sub
}
