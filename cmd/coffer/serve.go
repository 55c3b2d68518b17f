package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/cofferhq/coffer/internal/httpapi"
	"github.com/cofferhq/coffer/internal/vaultapi"
)

// serve runs both listeners until ctx is cancelled, then shuts them down
// within the configured timeout.
func serve(ctx context.Context, args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	c, err := openCore(ctx, logOut)
	if err != nil {
		return err
	}
	defer c.db.Close()
	svc, err := c.instanceService()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api := httpapi.New(httpapi.Deps{Log: c.log, Instances: svc, Tokens: c.tokens, Authorizer: c.iam,
		DB: c.db, Registry: reg, Gatherer: reg, BodyLimit: c.cfg.BodyLimit})
	vault := vaultapi.New(c.log, "coffer", uuid.NewSHA1(uuid.NameSpaceURL, []byte(c.cfg.Instance.APIURL)).String())

	servers := []*http.Server{
		{Addr: c.cfg.APIAddr, Handler: api, ReadHeaderTimeout: 10 * time.Second},
		{Addr: c.cfg.VaultAddr, Handler: vault, ReadHeaderTimeout: 10 * time.Second},
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", srv.Addr, err)
		}
		c.log.Info("listening", "addr", ln.Addr().String())
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve %s: %w", srv.Addr, err)
			}
			return nil
		})
	}
	c.log.Info("coffer started", "config", c.cfg.String())
	g.Go(func() error {
		<-gctx.Done()
		c.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
		defer cancel()
		var errsOut []error
		for _, srv := range servers {
			errsOut = append(errsOut, srv.Shutdown(sctx))
		}
		return errors.Join(errsOut...)
	})
	return g.Wait()
}
