package httpapi

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
)

// Verifier authenticates bearer tokens.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*iam.Principal, error)
}

// Authorizer answers whether a principal holds a permission on a project.
type Authorizer interface {
	Authorize(ctx context.Context, p *iam.Principal, projectID, permission string) error
}

const principalKey = "coffer.principal"

// authenticate requires a valid bearer token and stores its principal.
func authenticate(v Verifier) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, raw, ok := strings.Cut(h, " ")
			if h == "" {
				return errs.E(errs.Unauthenticated, "Jwt is missing")
			}
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
				return errs.E(errs.Unauthenticated, "Jwt is missing: expected an Authorization: Bearer header")
			}
			p, err := v.Verify(c.Request().Context(), strings.TrimSpace(raw))
			if err != nil {
				return err
			}
			c.Set(principalKey, p)
			return next(c)
		}
	}
}

// authorize checks the route's permission (from the routes table) on the
// path's project. A route missing from the table is refused: fail closed.
func authorize(a Authorizer) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			perm, ok := routePermission(c.Request().Method, c.Path())
			if !ok {
				return errs.E(errs.Internal, "no permission declared for %s %s", c.Request().Method, c.Path())
			}
			p, _ := c.Get(principalKey).(*iam.Principal)
			if err := a.Authorize(c.Request().Context(), p, c.Param("projectId"), perm); err != nil {
				return err
			}
			return next(c)
		}
	}
}
