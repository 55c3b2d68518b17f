// Package vaultapi implements Coffer's Vault-compatible listener: sys
// (health, seal-status, leader, mounts, auth, the CLI's mount preflight),
// token self-service, userpass login for instance users and for userpass
// mounts, a KV v2 engine per instance at the mount path that is the
// instance ID (and on KV mounts), and the transit engine on transit mounts.
// Errors use Vault's envelope {"errors": [...]} and status codes.
package vaultapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/transit"
)

// Version is the Vault API version Coffer reports in sys/health.
const Version = "1.16.0+coffer"

// Instances is what the listener needs of the control plane.
type Instances interface {
	Login(ctx context.Context, username, password string) (*instance.User, *instance.Instance, error)
	InstanceByID(ctx context.Context, id string) (*instance.Instance, error)
	AllowsAddress(ctx context.Context, instanceID string, addr netip.Addr) (bool, error)
}

// Config holds the listener's settings.
type Config struct {
	Limits Limits
	// TrustedProxies may set X-Forwarded-For; every other peer is the client.
	TrustedProxies []netip.Prefix `env:"-"`
	// LoginFailures per user and per client address before logins are
	// refused (429), refilled one every LoginRefill.
	LoginFailures int           `env:"COFFER_VAULT_LOGIN_FAILURES" envDefault:"10"`
	LoginRefill   time.Duration `env:"COFFER_VAULT_LOGIN_REFILL" envDefault:"1m"`
}

// Deps are what the listener serves.
type Deps struct {
	Log         *slog.Logger
	ClusterName string
	ClusterID   string
	Tokens      Tokens
	Instances   Instances
	KV          *kv.Service
	Transit     *transit.Service
	Mounts      Mounts
	Config      Config
	// Registry receives the listener's HTTP metrics (nil: none).
	Registry prometheus.Registerer
}

// Server is the Vault listener.
type Server struct {
	log         *slog.Logger
	clusterName string
	clusterID   string
	tokens      Tokens
	instances   Instances
	kv          *kv.Service
	transit     *transit.Service
	mounts      Mounts
	cfg         Config
	logins      *loginLimiter
	acls        aclCache
	now         func() time.Time
}

// New returns the Vault listener's handler. It panics when a dependency is
// missing: a wiring defect must stop start-up, not fail requests later.
func New(d Deps) *echo.Echo {
	if d.Log == nil || d.Tokens == nil || d.Instances == nil || d.KV == nil || d.Transit == nil || d.Mounts == nil ||
		d.Config.Limits.MaxBodyBytes < 1 || d.Config.LoginFailures < 1 || d.Config.LoginRefill <= 0 {
		panic("vaultapi.New: missing dependency or config")
	}
	s := &Server{log: d.Log, clusterName: d.ClusterName, clusterID: d.ClusterID, tokens: d.Tokens,
		instances: d.Instances, kv: d.KV, transit: d.Transit, mounts: d.Mounts, cfg: d.Config, now: time.Now,
		logins: newLoginLimiter(d.Config.LoginRefill, d.Config.LoginFailures)}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ipExtractor(d.Config.TrustedProxies)
	e.HTTPErrorHandler = s.errorHandler
	e.Pre(rewriteMethod)
	// Request IDs are UUIDs, as Vault's are, so that the envelope's
	// request_id is the X-Request-Id header's (see requestID).
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: uuid.NewString}),
		middleware.Recover(), requestLogger(d.Log))
	if d.Registry != nil {
		e.Use(echoprometheus.NewMiddlewareWithConfig(echoprometheus.MiddlewareConfig{
			Namespace: "coffer", Subsystem: "vault", Registerer: d.Registry, DoNotUseRequestPathFor404: true}))
	}
	e.Use(middleware.BodyLimit(fmt.Sprint(d.Config.Limits.MaxBodyBytes)))
	s.routes(e)
	return e
}

// requestLogger logs one line per request with the route template (never
// the raw path, which holds secret names), status, latency and request ID.
// Tokens, headers and bodies are never logged.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogLatency: true, LogMethod: true, LogRoutePath: true, LogRequestID: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			// Attrs, not key-value pairs: nothing is boxed per request.
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "vault request", slog.String("method", v.Method),
				slog.String("route", v.RoutePath), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID))
			return nil
		},
	})
}

// ipExtractor trusts X-Forwarded-For only from the configured proxies; by
// default, never (Echo would otherwise trust private and loopback peers).
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		ipnet := &netIPNet{p}
		opts = append(opts, echo.TrustIPRange(ipnet.std()))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

var kindStatus = map[errs.Kind]int{
	errs.InvalidArgument:    http.StatusBadRequest,
	errs.NotFound:           http.StatusNotFound,
	errs.AlreadyExists:      http.StatusBadRequest,
	errs.FailedPrecondition: http.StatusBadRequest,
	errs.PermissionDenied:   http.StatusForbidden,
	errs.Unauthenticated:    http.StatusForbidden, // Vault answers 403 "permission denied" for bad tokens
	errs.ResourceExhausted:  http.StatusTooManyRequests,
	errs.Unavailable:        http.StatusServiceUnavailable,
	errs.Unimplemented:      http.StatusNotImplemented,
}

// errorHandler writes Vault's error envelope {"errors": [...]}.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var gone *kv.GoneError
	if errors.As(err, &gone) { // a deleted or destroyed version: 404 with the full envelope
		_ = c.JSON(http.StatusNotFound, envelope(c, secretData(gone.Secret), nil))
		return
	}
	status, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	var ce *errs.Error
	switch {
	case errors.As(err, &ce):
		if st, ok := kindStatus[ce.Kind]; ok {
			status, msg = st, ce.Msg
		} else {
			s.log.Error("vault request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		}
	case errors.As(err, &he):
		status = he.Code
		msg = fmt.Sprint(he.Message)
		if status == http.StatusNotFound {
			msg = "no handler for route \"" + c.Request().URL.Path + "\". route entry not found."
		}
	default:
		s.log.Error("vault request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	errsOut := []string{msg}
	if status == http.StatusNotFound && errs.KindOf(err) == errs.NotFound {
		errsOut = []string{} // Vault answers a missing path with {"errors":[]}
	}
	_ = c.JSON(status, map[string][]string{"errors": errsOut})
}
