package httpapi

import (
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"

	"github.com/cofferhq/coffer/internal/httpapi/kmsapi"
	"github.com/cofferhq/coffer/internal/httpapi/smapi"
)

// uuidPattern accepts any 8-4-4-4-12 hex string, as google/uuid does: the
// seed's own examples (11111111-1111-1111-1111-111111111111) are not RFC 4122
// variants, and STACKIT accepts them.
const uuidPattern = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`

// base64Pattern is standard, padded base64 (RFC 4648 section 4), which the
// KMS API's `format: byte` fields carry; kin-openapi's own check is looser.
const base64Pattern = `^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`

// registerControlPlane registers the generated routes of both REST
// contracts: the Secrets Manager (v1 and v2) and the KMS v1. Each route
// runs, in order: authentication (401), a strict JSON check and validation
// against its OpenAPI document (400), authorization by the routes table
// (403), then the handler.
func registerControlPlane(e *echo.Echo, d Deps) {
	sm, err := smapi.GetSwagger()
	if err != nil {
		panic("embedded Secrets Manager spec does not load: " + err.Error()) // a build defect, caught by tests
	}
	smapi.RegisterHandlers(chain(e, d, sm), smapi.NewStrictHandler(&controlPlane{svc: d.Instances}, nil))
	km, err := kmsapi.GetSwagger()
	if err != nil {
		panic("embedded KMS spec does not load: " + err.Error())
	}
	kmsapi.RegisterHandlers(chain(e, d, km), kmsapi.NewStrictHandler(&kmsAPI{svc: d.KMS}, nil))
}

// chain returns a router that gives each route the control plane's
// middleware, validating requests against spec.
func chain(e *echo.Echo, d Deps, spec *openapi3.T) routeMiddleware {
	spec.Servers = nil
	validate := oapimw.OapiRequestValidatorWithOptions(spec, &oapimw.Options{
		Options: openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			// The strict handlers bind the validated value with exact member
			// names, not a second case-insensitive decode of the raw body.
			KeepValidatedValue: true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{
				// Without this, a schema error embeds the rejected value as
				// indented JSON: quadratic in nesting depth, so a small
				// deeply nested body would cost gigabytes.
				openapi3.DisableSchemaErrorDetails(),
				openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(uuidPattern)),
				openapi3.WithStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail)),
				openapi3.WithStringFormatValidator("byte", openapi3.NewRegexpFormatValidator(base64Pattern)),
			},
		},
		ErrorHandler: func(_ echo.Context, err *echo.HTTPError) error {
			return err // errorHandler renders it, naming the field
		},
		MultiErrorHandler: func(me openapi3.MultiError) *echo.HTTPError {
			if len(me) > 0 {
				return &echo.HTTPError{Code: http.StatusBadRequest, Message: firstLine(me.Error()), Internal: me[0]}
			}
			return echo.NewHTTPError(http.StatusBadRequest, "invalid request")
		},
	})
	return routeMiddleware{e: e, mw: []echo.MiddlewareFunc{authenticate(d.Tokens), strictJSON, validate, authorize(d.Authorizer)}}
}

func serveSpec(doc []byte) echo.HandlerFunc {
	return func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", doc) }
}

// routeMiddleware is an smapi.EchoRouter that adds middleware to each route
// it registers, so only the generated routes run the control plane's chain.
type routeMiddleware struct {
	e  *echo.Echo
	mw []echo.MiddlewareFunc
}

func (r routeMiddleware) add(method, path string, h echo.HandlerFunc, m []echo.MiddlewareFunc) *echo.Route {
	return r.e.Add(method, path, h, append(append([]echo.MiddlewareFunc{}, r.mw...), m...)...)
}

func (r routeMiddleware) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodConnect, p, h, m)
}
func (r routeMiddleware) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodDelete, p, h, m)
}
func (r routeMiddleware) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodGet, p, h, m)
}
func (r routeMiddleware) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodHead, p, h, m)
}
func (r routeMiddleware) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodOptions, p, h, m)
}
func (r routeMiddleware) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPatch, p, h, m)
}
func (r routeMiddleware) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPost, p, h, m)
}
func (r routeMiddleware) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodPut, p, h, m)
}
func (r routeMiddleware) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.add(http.MethodTrace, p, h, m)
}
