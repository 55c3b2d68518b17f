package apitest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// dumpSQLite returns every row of every table of the SQLite store in dir.
func dumpSQLite(tb testing.TB, dir string) string {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "coffer.db")+"?mode=ro")
	if err != nil {
		tb.Fatalf("open sqlite for dump: %v", err)
	}
	defer db.Close()
	tables := queryStrings(tb, db, `SELECT name FROM sqlite_master WHERE type='table'`)
	var b strings.Builder
	for _, t := range tables {
		rows, err := db.Query(`SELECT * FROM "` + t + `"`)
		if err != nil {
			tb.Fatalf("dump %s: %v", t, err)
		}
		writeRows(tb, &b, t, rows)
	}
	return b.String()
}

func queryStrings(tb testing.TB, db *sql.DB, q string) []string {
	rows, err := db.Query(q)
	if err != nil {
		tb.Fatalf("query %q: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func writeRows(tb testing.TB, b *strings.Builder, table string, rows *sql.Rows) {
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatalf("scan %s: %v", table, err)
		}
		fmt.Fprintf(b, "%s:", table)
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(b, " %v", v)
		}
		b.WriteString("\n")
	}
}

// dumpPostgres returns every row of every table of the public schema.
func dumpPostgres(tb testing.TB, url string) string {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect for dump: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		tb.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for _, t := range tables {
		rows, err := conn.Query(ctx, `SELECT t::text FROM "`+t+`" t`)
		if err != nil {
			tb.Fatalf("dump %s: %v", t, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "%s: %s\n", t, l)
		}
	}
	return b.String()
}
