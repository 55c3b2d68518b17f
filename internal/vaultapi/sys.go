package vaultapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// sealStatus answers sys/seal-status: Coffer's seal is a root key, so it is
// always initialized and unsealed. `vault status` calls this.
func (s *Server) sealStatus(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{
		"type": "shamir", "initialized": true, "sealed": false, "t": 1, "n": 1, "progress": 0, "nonce": "",
		"version": Version, "build_date": "", "migration": false, "cluster_name": s.clusterName,
		"cluster_id": s.clusterID, "recovery_seal": false, "storage_type": "coffer",
	})
}

// leader answers sys/leader: one node, no HA (each replica answers for itself).
func (s *Server) leader(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{
		"ha_enabled": false, "is_self": false, "active_time": "0001-01-01T00:00:00Z", "leader_address": "",
		"leader_cluster_address": "", "performance_standby": false, "performance_standby_last_remote_wal": 0,
	})
}
