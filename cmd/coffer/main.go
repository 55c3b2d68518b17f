// Command coffer runs Coffer, a self-hosted Secrets Manager and KMS, and its
// operator subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: coffer <command> [flags]

commands:
  serve                         run the API and Vault listeners
  migrate up|down|version       apply, roll back one step, or show the schema version
  iam grant --project P --subject EMAIL --role ROLE
                                bind a role (creates the service account if missing)
  iam token --subject EMAIL [--ttl 1h]
                                print a bearer token for a service account
  vault root-token              print a new root token for the Vault listener (shown once)
  relationships [--endpoint ID] [--raw]
                                print the Vault KMS endpoints' relationships, base64 JSON as
                                _RELATIONSHIPS holds it (--raw: indented JSON); they hold tokens
  relationships rotate-token --endpoint ID [--print [--raw]]
                                give an endpoint a new token and revoke the old one

Configuration comes from COFFER_* environment variables (see README.md).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "coffer:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr)
	case "iam":
		return iamCmd(ctx, args[1:], stdout, stderr)
	case "vault":
		return vaultCmd(ctx, args[1:], stdout, stderr)
	case "relationships":
		return relationshipsCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}
