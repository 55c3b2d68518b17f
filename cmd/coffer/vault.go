package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cofferhq/coffer/internal/token"
)

// vaultCmd: `coffer vault root-token` prints a new root token for the Vault
// listener, once; only its hash is stored. Revoke it with
// auth/token/revoke-self when done.
func vaultCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "root-token" {
		return fmt.Errorf("%w: coffer vault root-token", errUsage)
	}
	c, err := openCore(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.db.Close()
	tokens, err := c.vaultTokens()
	if err != nil {
		return err
	}
	secret, _, err := tokens.Create(ctx, token.RootSpec())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	return nil
}
