package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"
)

func iamCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: coffer iam grant|token", errUsage)
	}
	switch args[0] {
	case "grant":
		return iamGrant(ctx, args[1:], stdout, stderr)
	case "token":
		return iamToken(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown iam command %q", errUsage, args[0])
}

func iamGrant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iam grant", flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("project", "", "project UUID")
	subject := fs.String("subject", "", "service account email")
	role := fs.String("role", "", "role to grant")
	if err := fs.Parse(args); err != nil || *project == "" || *subject == "" || *role == "" {
		return fmt.Errorf("%w: coffer iam grant --project UUID --subject EMAIL --role ROLE", errUsage)
	}
	c, err := openCore(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.db.Close()
	sa, err := c.iam.Grant(ctx, *project, *subject, *role)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "granted %s to %s (service account %s of project %s) on project %s\n",
		*role, sa.Email, sa.ID, sa.ProjectID, *project)
	return nil
}

func iamToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iam token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	subject := fs.String("subject", "", "service account email")
	ttl := fs.Duration("ttl", time.Hour, "token lifetime")
	if err := fs.Parse(args); err != nil || *subject == "" {
		return fmt.Errorf("%w: coffer iam token --subject EMAIL [--ttl 1h]", errUsage)
	}
	c, err := openCore(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.db.Close()
	tok, err := c.tokens.Issue(ctx, *subject, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
