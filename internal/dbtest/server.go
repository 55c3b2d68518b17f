package dbtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rubenv/pgtest"

	"github.com/cofferhq/coffer/internal/store/postgres"
)

// server is the PostgreSQL server the tests of this process use.
type server struct {
	base     url.URL       // URL of the administration database
	admin    *pgxpool.Pool // connected to base
	template string        // migrated database that clones copy
	pg       *pgtest.PG    // the ephemeral server; nil with EnvURL

	cloneMu sync.Mutex // PostgreSQL refuses concurrent clones of one template
}

// start connects to the EnvURL server or starts an ephemeral one, and
// creates and migrates the template database.
func start(ctx context.Context) (*server, error) {
	s := &server{}
	if raw := os.Getenv(EnvURL); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, fmt.Errorf("%s must be a postgres:// URL", EnvURL)
		}
		s.base = *u
	} else {
		pg, err := pgtest.Start()
		if err != nil {
			return nil, fmt.Errorf("start an ephemeral server: %w", err)
		}
		s.pg = pg
		_ = pg.DB.Close() // pgtest's own lib/pq handle; we use pgx
		s.base = url.URL{Scheme: "postgres", Path: "/postgres",
			RawQuery: url.Values{"host": {pg.Host}, "sslmode": {"disable"}}.Encode()}
		if pg.User != "" {
			s.base.User = url.User(pg.User)
		}
	}
	if err := s.init(ctx); err != nil {
		return nil, errors.Join(err, s.close())
	}
	return s, nil
}

// init connects the admin pool and creates the template database.
func (s *server) init(ctx context.Context) error {
	admin, err := pgxpool.New(ctx, s.base.String())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s.admin = admin
	if err := admin.Ping(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if s.pg != nil {
		if err := s.silence(ctx); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("coffer_template_%d_%s", os.Getpid(), randomHex())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	s.template = name
	if err := migrate(ctx, s.url(name)); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	// No stray connection may keep CREATE DATABASE ... TEMPLATE from working.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("seal template database: %w", err)
	}
	return nil
}

// silenceSQL turns the ephemeral server's logging off.
//
// NOTE: pgtest connects the server's stderr to a pipe that nobody reads.
// Once some 64 KiB of log lines (every failed statement logs its error and
// text) fill the pipe, the server blocks for good; without this, a few
// hundred expected errors, such as unique violations, hang the tests.
var silenceSQL = []string{
	`ALTER SYSTEM SET log_min_messages = 'panic'`,
	`ALTER SYSTEM SET log_min_error_statement = 'panic'`,
	`ALTER SYSTEM SET log_checkpoints = off`,
	`SELECT pg_reload_conf()`,
}

// silence applies silenceSQL, one statement at a time (ALTER SYSTEM may
// not run in a transaction).
func (s *server) silence(ctx context.Context) error {
	for _, q := range silenceSQL {
		if _, err := s.admin.Exec(ctx, q); err != nil {
			return fmt.Errorf("turn server logging off: %w", err)
		}
	}
	return nil
}

func migrate(ctx context.Context, databaseURL string) error {
	db, err := postgres.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	return errors.Join(db.MigrateUp(ctx), db.Close())
}

// url returns the URL of the database name on the server.
func (s *server) url(name string) string {
	u := s.base
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// clone creates the database name as a copy of the template.
func (s *server) clone(ctx context.Context, name string) error {
	s.cloneMu.Lock()
	defer s.cloneMu.Unlock()
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(s.template)); err != nil {
		return fmt.Errorf("clone template database: %w", err)
	}
	return nil
}

// drop drops the database name, closing any connection still open to it.
func (s *server) drop(ctx context.Context, name string) error {
	if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// close drops the template, disconnects, and stops the ephemeral server.
func (s *server) close() error {
	var errList []error
	if s.admin != nil {
		if s.template != "" && s.pg == nil {
			errList = append(errList, s.drop(context.Background(), s.template))
		}
		s.admin.Close()
	}
	if s.pg != nil {
		if err := s.pg.Stop(); err != nil {
			errList = append(errList, fmt.Errorf("stop the ephemeral server: %w", err))
		}
	}
	return errors.Join(errList...)
}

// ident quotes name as an SQL identifier.
func ident(name string) string {
	return pgx.Identifier{name}.Sanitize()
}
