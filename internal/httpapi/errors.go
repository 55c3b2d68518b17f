package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
)

// errorBody is the error body of every 4xx and 5xx answer: {"message": "..."}.
type errorBody struct {
	Message string `json:"message"`
}

var kindStatus = map[errs.Kind]int{
	errs.InvalidArgument:    http.StatusBadRequest,
	errs.NotFound:           http.StatusNotFound,
	errs.AlreadyExists:      http.StatusConflict,
	errs.FailedPrecondition: http.StatusConflict,
	errs.ResourceExhausted:  http.StatusConflict,
	errs.PermissionDenied:   http.StatusForbidden,
	errs.Unauthenticated:    http.StatusUnauthorized,
	errs.Unavailable:        http.StatusServiceUnavailable,
	errs.Unimplemented:      http.StatusNotImplemented,
	errs.Internal:           http.StatusInternalServerError,
}

// errorHandler is the API listener's only echo.HTTPErrorHandler: it maps an
// error to a status and writes {"message": ...}. Errors of unknown kind are
// logged with the request ID; the client gets a generic message and that ID.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, msg := classify(err)
		if status >= http.StatusInternalServerError && status != http.StatusNotImplemented &&
			status != http.StatusServiceUnavailable {
			rid := c.Response().Header().Get(echo.HeaderXRequestID)
			log.Error("request failed", "request_id", rid, "method", c.Request().Method, "route", c.Path(), "err", err)
			msg = "internal error (request id " + rid + ")"
		}
		if status == http.StatusUnauthorized {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="coffer"`)
		}
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(status)
		} else {
			werr = c.JSON(status, errorBody{Message: msg})
		}
		if werr != nil {
			log.Warn("write error response", "err", werr)
		}
	}
}

func classify(err error) (int, string) {
	// An error whose kind was set by the code that knew the cause wins, even
	// when its chain holds lower-level errors (a JWT's JSON, say).
	var ce *errs.Error
	if errors.As(err, &ce) {
		status, ok := kindStatus[ce.Kind]
		if !ok {
			status = http.StatusInternalServerError
		}
		return status, ce.Msg
	}
	// Binding errors of the generated handlers: values the validator let
	// through but Go cannot hold.
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return http.StatusBadRequest, fmt.Sprintf("request body field %q: value out of range for %s", ute.Field, ute.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return http.StatusBadRequest, "request body: malformed JSON"
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if he.Code == http.StatusBadRequest && he.Internal != nil {
			return http.StatusBadRequest, validationMessage(he.Internal)
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			return he.Code, "request body too large"
		}
		return he.Code, fmt.Sprint(he.Message)
	}
	return http.StatusInternalServerError, ""
}

// validationMessage turns an OpenAPI validation error (a RequestError, a
// SchemaError, or a MultiError of them) into a short message that names the
// parameter or body field.
func validationMessage(err error) string {
	var re *openapi3filter.RequestError
	var se *openapi3.SchemaError
	hasRE, hasSE := errors.As(err, &re), errors.As(err, &se)
	reason := firstLine(err.Error())
	if hasRE && re.Reason != "" {
		reason = re.Reason
	}
	if hasSE {
		reason = se.Reason
		if se.SchemaField == "format" && se.Schema != nil {
			reason = "must be of format " + se.Schema.Format
		}
	}
	switch {
	case hasRE && re.Parameter != nil:
		return fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, reason)
	case hasSE:
		if field := strings.Join(se.JSONPointer(), "."); field != "" {
			return fmt.Sprintf("request body field %q: %s", field, reason)
		}
		return "request body: " + reason
	case hasRE && re.RequestBody != nil:
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) || strings.Contains(reason, "JSON") || strings.Contains(reason, "decod") {
			return "request body: malformed JSON"
		}
		return "request body: " + reason
	}
	return reason
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
