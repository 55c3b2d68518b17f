package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/httpapi"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/transit"
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
	sv, err := c.services()
	if err != nil {
		return err
	}
	if err := startEndpoints(ctx, c, sv); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(envelope.Collectors()...)
	swept := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "coffer", Subsystem: "kms",
		Name: "sweep_total", Help: "Key versions erased, keys purged and expired Vault tokens deleted by the background sweep."}, []string{"what"})
	reg.MustRegister(swept)
	rotations := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "coffer", Subsystem: "transit",
		Name: "auto_rotations_total", Help: "Transit keys rotated by the background sweep because their auto_rotate_period had passed."})
	reg.MustRegister(rotations)
	reg.MustRegister(cache.Collector(c.db.cacheBus()))
	api := httpapi.New(httpapi.Deps{Log: c.log, Instances: sv.instances, KMS: c.kms, Tokens: c.tokens, Authorizer: c.iam,
		DB: c.db, Registry: reg, Gatherer: reg, BodyLimit: c.cfg.BodyLimit})
	vault := vaultapi.New(vaultapi.Deps{Log: c.log, ClusterName: "coffer",
		ClusterID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(c.cfg.Instance.APIURL)).String(),
		Tokens:    sv.tokens, Instances: sv.instances, KV: sv.kv, Transit: sv.transit, Mounts: sv.mounts, Config: c.cfg.Vault, Registry: reg})

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
	g.Go(func() error { sweep(gctx, c, sv, swept, rotations); return nil })
	g.Go(func() error { c.db.listen(gctx, c.log); return nil }) // cache invalidations of other replicas
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

// sweep erases destroyed key versions' material and purges deleted keys once
// their delay has passed, deletes expired Vault tokens, and rotates transit
// keys whose auto_rotate_period has passed, every minute until ctx ends. A
// failure is logged and retried on the next tick; nothing is lost by waiting.
func sweep(ctx context.Context, c *core, sv *services, counter *prometheus.CounterVec, rotations prometheus.Counter) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := sv.tokens.Sweep(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("token sweep failed", "err", err)
		} else {
			counter.WithLabelValues("token_expired").Add(float64(n))
		}
		erased, purged, err := c.kms.Sweep(ctx)
		counter.WithLabelValues("version_erased").Add(float64(erased))
		counter.WithLabelValues("key_purged").Add(float64(purged))
		if err != nil && ctx.Err() == nil {
			c.log.Error("kms sweep failed", "err", err)
		} else if erased+purged > 0 {
			c.log.Info("kms sweep", "versions_erased", erased, "keys_purged", purged)
		}
		autoRotate(ctx, c.log, sv.mounts, sv.transit, rotations)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// autoRotate rotates the due keys of every transit mount (Vault rotates
// them from its periodic function). Replicas may sweep at once: the
// transit Service rotates each due key exactly once.
func autoRotate(ctx context.Context, log *slog.Logger, mounts *mount.Service, tr *transit.Service, rotations prometheus.Counter) {
	list, err := mounts.List(ctx, mount.KindSecret)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("transit auto-rotation: list mounts failed", "err", err)
		}
		return
	}
	for _, m := range list {
		if m.Type != mount.TypeTransit {
			continue
		}
		n, err := tr.AutoRotate(ctx, m.Path)
		rotations.Add(float64(n))
		if err != nil && ctx.Err() == nil {
			log.Error("transit auto-rotation failed", "mount", m.Path, "rotated", n, "err", err)
		} else if n > 0 {
			log.Info("transit auto-rotation", "mount", m.Path, "rotated", n)
		}
	}
}
