package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cofferhq/coffer/internal/config"
)

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "down" && args[0] != "version") {
		return fmt.Errorf("%w: coffer migrate up|down|version", errUsage)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "up":
		err = db.MigrateUp(ctx)
	case "down":
		err = db.MigrateDown(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate %s: %w", args[0], err)
	}
	v, dirty, err := db.MigrateVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	fmt.Fprintf(stdout, "version %d", v)
	if dirty {
		fmt.Fprint(stdout, " (dirty)")
	}
	fmt.Fprintln(stdout)
	return nil
}
