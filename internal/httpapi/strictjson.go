package httpapi

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
)

// strictJSON refuses a request body that is not exactly one JSON value.
// The OpenAPI validator decodes only the first value of a body, so without
// this `{"name":"a"}{"name":"b"}` would pass as the first object.
// Bodies are already capped by the BodyLimit middleware.
func strictJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Body == nil || req.ContentLength == 0 {
			return next(c)
		}
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return err // BodyLimit's 413 surfaces here
		}
		if len(bytes.TrimSpace(b)) > 0 && !json.Valid(b) {
			return errs.E(errs.InvalidArgument, "request body: malformed JSON (exactly one JSON value expected)")
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		return next(c)
	}
}
