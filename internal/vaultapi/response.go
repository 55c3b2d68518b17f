package vaultapi

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// response is Vault's success envelope; every 2xx answer with a body has
// all eight keys, as the Go client and the CLI expect.
type response struct {
	RequestID     string   `json:"request_id"`
	LeaseID       string   `json:"lease_id"`
	Renewable     bool     `json:"renewable"`
	LeaseDuration int      `json:"lease_duration"`
	Data          any      `json:"data"`
	WrapInfo      any      `json:"wrap_info"`
	Warnings      []string `json:"warnings"`
	Auth          any      `json:"auth"`
}

// ok writes data in the envelope with status 200, with the warnings
// gathered while the request was parsed.
func ok(c echo.Context, data any) error {
	return c.JSON(http.StatusOK, envelope(c, data, nil))
}

// okAuth writes an auth block (logins, token creation) in the envelope.
func okAuth(c echo.Context, auth any) error {
	return c.JSON(http.StatusOK, envelope(c, nil, auth))
}

func envelope(c echo.Context, data, auth any) response {
	r := response{RequestID: requestID(c), Data: data, Auth: auth}
	if w, _ := c.Get(warningsKey).([]string); len(w) > 0 {
		r.Warnings = w
	}
	return r
}

func requestID(c echo.Context) string {
	if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" {
		if _, err := uuid.Parse(id); err == nil {
			return id
		}
	}
	return uuid.NewString()
}

const warningsKey = "vault.warnings"

// warn adds a warning to the response, as Vault does for ignored parameters.
func warn(c echo.Context, msg string) {
	w, _ := c.Get(warningsKey).([]string)
	c.Set(warningsKey, append(w, msg))
}
