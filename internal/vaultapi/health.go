package vaultapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
)

// healthResponse is the body of sys/health (api-docs/system/health).
type healthResponse struct {
	Initialized                bool   `json:"initialized"`
	Sealed                     bool   `json:"sealed"`
	Standby                    bool   `json:"standby"`
	PerformanceStandby         bool   `json:"performance_standby"`
	ReplicationPerformanceMode string `json:"replication_performance_mode"`
	ReplicationDRMode          string `json:"replication_dr_mode"`
	ServerTimeUTC              int64  `json:"server_time_utc"`
	Version                    string `json:"version"`
	ClusterName                string `json:"cluster_name"`
	ClusterID                  string `json:"cluster_id"`
}

// health answers sys/health. Coffer is always initialized, unsealed and
// active, so only activecode applies; the other overrides are validated and
// accepted as Vault does.
func (s *Server) health(c echo.Context) error {
	code := http.StatusOK
	for _, name := range []string{"activecode", "standbycode", "drsecondarycode", "performancestandbycode",
		"sealedcode", "uninitcode", "removedcode"} {
		v := c.QueryParam(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 599 {
			return errs.E(errs.InvalidArgument, "bad code for %s: %q", name, v)
		}
		if name == "activecode" {
			code = n
		}
	}
	body := healthResponse{Initialized: true, ReplicationPerformanceMode: "disabled",
		ReplicationDRMode: "disabled", ServerTimeUTC: time.Now().Unix(), Version: Version,
		ClusterName: s.clusterName, ClusterID: s.clusterID}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(code)
	}
	return c.JSON(code, body)
}
