package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
	vaultkms "github.com/cofferhq/coffer/internal/services"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

func (d pgDB) endpointStore() vaultkms.Store   { return d.TransitEndpoints() }
func (d liteDB) endpointStore() vaultkms.Store { return d.TransitEndpoints() }

// vaultClusterName is the Vault listener's cluster_name, which
// relationships give as "cluster".
const vaultClusterName = "coffer"

// endpointManager returns the Manager of the services file's endpoints.
func (c *core) endpointManager(tokens *token.Service, keys vaultkms.Keys, mounts vaultkms.Mounts) *vaultkms.Manager {
	return vaultkms.NewManager(vaultkms.Deps{Store: c.db.endpointStore(), Keys: keys, Mounts: mounts, Tokens: tokens,
		Revoker: c.db.tokenStore(), Seal: c.seal, Log: c.log})
}

// startEndpoints runs on every start of serve, before any listener opens.
// With a services file (COFFER_TRANSIT_CONFIG) it applies it, and any
// problem of the file stops serve with a message naming it: nothing of
// the file is applied then. Without one it only makes sure the transit
// mount "transit" exists (a mount of another type there is logged and
// left alone), and leaves the stored endpoints as they are.
//
// The transit mount is created whenever it is missing, so disabling it
// (which deletes its keys) lasts until the next start, which brings it
// back with fresh keys for the services file.
func startEndpoints(ctx context.Context, c *core, sv *services) error {
	m := c.endpointManager(sv.tokens, sv.transit, sv.mounts)
	if c.cfg.TransitConfig == "" {
		if err := m.EnsureMount(ctx); err != nil {
			c.log.Warn("no default transit mount", "err", err)
		}
		return nil
	}
	f, err := vaultkms.Load(c.cfg.TransitConfig)
	if err != nil {
		return err
	}
	if err := m.Apply(ctx, f); err != nil {
		return fmt.Errorf("COFFER_TRANSIT_CONFIG %s: %w", c.cfg.TransitConfig, err)
	}
	c.log.Info("Vault KMS endpoints applied", "file", c.cfg.TransitConfig, "service", f.Service, "endpoints", len(f.Endpoints))
	return nil
}

// offlineManager opens the core and the endpoint Manager for the
// relationships commands; the caller closes c.db.
func offlineManager(ctx context.Context, stderr io.Writer) (*core, *vaultkms.Manager, error) {
	c, err := openCore(ctx, stderr)
	if err != nil {
		return nil, nil, err
	}
	tokens, err := c.vaultTokens()
	if err != nil {
		c.db.Close()
		return nil, nil, err
	}
	m := c.endpointManager(tokens, transit.NewService(c.db.transitStore(), c.seal), mount.NewService(c.db.mountStore(), nil))
	return c, m, nil
}

// relationshipsCmd: `coffer relationships [--endpoint ID] [--raw]` prints
// the relationships of the services file's endpoints, keyed by endpoint id,
// as the platform's _RELATIONSHIPS variable holds them: the base64 (std) of
// the JSON, one line; --raw prints the JSON indented. Each relationship's
// "password" is the endpoint's token. `coffer relationships rotate-token`
// is rotateTokenCmd.
func relationshipsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "rotate-token" {
		return rotateTokenCmd(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("relationships", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "print only this endpoint's relationship")
	raw := fs.Bool("raw", false, "print indented JSON instead of base64")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: coffer relationships [--endpoint ID] [--raw]", errUsage)
	}
	c, m, err := offlineManager(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.db.Close()
	return printRelationships(ctx, c, m, *endpoint, *raw, stdout, stderr)
}

// printRelationships prints the relationships of endpoint (every endpoint
// when empty), warning on stderr about tokens that no longer work.
func printRelationships(ctx context.Context, c *core, m *vaultkms.Manager, endpoint string, raw bool, stdout, stderr io.Writer) error {
	conn, err := vaultkms.ConnFromURL(c.cfg.Instance.APIURL, vaultClusterName)
	if err != nil {
		return err
	}
	creds, err := m.Credentials(ctx, endpoint)
	if err != nil {
		return err
	}
	if len(creds) == 0 {
		fmt.Fprintln(stderr, "coffer: no Vault KMS endpoints yet: set COFFER_TRANSIT_CONFIG and start coffer serve")
	}
	for _, cr := range creds {
		if !cr.Live {
			fmt.Fprintf(stderr, "coffer: warning: the token of endpoint %s has expired or was revoked; "+
				"the next start of coffer serve issues a new one, or run coffer relationships rotate-token --endpoint %s\n",
				cr.Endpoint, cr.Endpoint)
		}
	}
	rels := vaultkms.Relationships(creds, conn)
	if raw {
		b, err := json.MarshalIndent(rels, "", "  ")
		if err != nil {
			return fmt.Errorf("encode relationships: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	b, err := json.Marshal(rels)
	if err != nil {
		return fmt.Errorf("encode relationships: %w", err)
	}
	_, err = fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(b))
	return err
}

// rotateTokenCmd: `coffer relationships rotate-token --endpoint ID
// [--print [--raw]]` issues a new token for the endpoint (one year, the
// endpoint's policies) and revokes the old one. It prints the new token's
// accessor and expiry, nothing secret; with --print it prints the
// endpoint's new relationships instead, as `coffer relationships` does
// (the accessor line then goes to stderr).
func rotateTokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relationships rotate-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "the endpoint whose token to replace")
	show := fs.Bool("print", false, "print the endpoint's new relationships (they hold the token)")
	raw := fs.Bool("raw", false, "with --print: indented JSON instead of base64")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *endpoint == "" || (*raw && !*show) {
		return fmt.Errorf("%w: coffer relationships rotate-token --endpoint ID [--print [--raw]]", errUsage)
	}
	c, m, err := offlineManager(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.db.Close()
	t, err := m.Rotate(ctx, *endpoint)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return err
		}
		return fmt.Errorf("rotate the token of endpoint %s: %w", *endpoint, err)
	}
	info := stdout
	if *show {
		info = stderr
	}
	fmt.Fprintf(info, "endpoint %s: new token issued (accessor %s, expires %s); the previous token is revoked\n",
		*endpoint, t.Accessor, t.ExpiresAt.UTC().Format(time.RFC3339))
	if *show {
		return printRelationships(ctx, c, m, *endpoint, *raw, stdout, stderr)
	}
	return nil
}
