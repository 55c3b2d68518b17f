// Package httpapi implements Coffer's API listener: the Secrets Manager
// control plane (v1 and regional v2), the JWKS of Coffer's token issuer,
// health, readiness and metrics. Handlers are generated from openapi/ and
// every request is validated against that spec before it reaches them.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/openapi"
)

// Pinger reports whether the database is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the API listener serves.
type Deps struct {
	Log       *slog.Logger
	Instances *instance.Service
	KMS       *keyservice.Service
	Tokens    interface {
		Verifier
		JWKS() map[string][]iam.JWK
	}
	Authorizer Authorizer
	DB         Pinger
	// Registry receives the HTTP metrics; /metrics serves Gatherer.
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	// BodyLimit caps request bodies, e.g. "1M".
	BodyLimit string
}

// New returns the API listener's handler. It panics when a dependency is
// missing: a wiring defect must stop start-up, not fail requests later.
func New(d Deps) *echo.Echo {
	if d.Log == nil || d.Instances == nil || d.KMS == nil || d.Tokens == nil || d.Authorizer == nil ||
		d.DB == nil || d.Registry == nil || d.Gatherer == nil {
		panic("httpapi.New: missing dependency")
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect() // never trust X-Forwarded-For from clients
	e.HTTPErrorHandler = errorHandler(d.Log)
	e.Use(middleware.RequestID(), recoverer(d.Log), requestLogger(d.Log),
		echoprometheus.NewMiddlewareWithConfig(echoprometheus.MiddlewareConfig{
			Namespace: "coffer", Subsystem: "api", Registerer: d.Registry, DoNotUseRequestPathFor404: true}),
		middleware.BodyLimit(d.BodyLimit))

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", readyz(d.DB))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})))
	e.GET("/.well-known/jwks.json", func(c echo.Context) error { return c.JSON(http.StatusOK, d.Tokens.JWKS()) })
	e.GET("/openapi/secretsmanager.yaml", serveSpec(openapi.SecretsManagerYAML))
	e.GET("/openapi/kms.yaml", serveSpec(openapi.KMSYAML))

	registerControlPlane(e, d)
	return e
}

func readyz(db Pinger) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, errorBody{Message: "database unreachable"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
}

// recoverer turns a panic into a logged 500 without the panic value in the answer.
func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err,
				"stack", string(stack))
			return err
		},
	})
}

// requestLogger logs one line per request: route template (never the raw
// URL, which may hold a query string), status, latency and request ID.
// Headers and bodies are never logged.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogLatency: true, LogMethod: true, LogRoutePath: true, LogRequestID: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			log.Info("request", "method", v.Method, "route", v.RoutePath, "status", v.Status,
				"latency", v.Latency, "request_id", v.RequestID)
			return nil
		},
	})
}
