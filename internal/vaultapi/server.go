// Package vaultapi implements Coffer's Vault-compatible listener. For now it
// serves sys/health; every other path answers Vault's 404 envelope.
package vaultapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/cofferhq/coffer/internal/errs"
)

// Version is the Vault API version Coffer reports in sys/health.
const Version = "1.16.0+coffer"

// Server is the Vault listener.
type Server struct {
	log         *slog.Logger
	clusterName string
	clusterID   string
}

// New returns the Vault listener's handler.
func New(log *slog.Logger, clusterName, clusterID string) *echo.Echo {
	s := &Server{log: log, clusterName: clusterName, clusterID: clusterID}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.RequestID(), middleware.Recover())
	e.Pre(rewriteMethod)
	e.GET("/v1/sys/health", s.health)
	e.HEAD("/v1/sys/health", s.health)
	e.GET("/v1/sys/seal-status", s.sealStatus)
	e.GET("/v1/sys/leader", s.leader)
	return e
}

var kindStatus = map[errs.Kind]int{
	errs.InvalidArgument:  http.StatusBadRequest,
	errs.NotFound:         http.StatusNotFound,
	errs.PermissionDenied: http.StatusForbidden,
	errs.Unauthenticated:  http.StatusForbidden, // Vault answers 403 "permission denied" for bad tokens
	errs.Unavailable:      http.StatusServiceUnavailable,
}

// errorHandler writes Vault's error envelope {"errors": [...]}.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		msg = fmt.Sprint(he.Message)
		if status == http.StatusNotFound {
			msg = "no handler for route \"" + c.Request().URL.Path + "\". route entry not found."
		}
	default:
		if st, ok := kindStatus[errs.KindOf(err)]; ok {
			status, msg = st, errs.Message(err)
		} else {
			s.log.Error("vault request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, map[string][]string{"errors": {msg}})
}
