package vaultapi

import (
	"github.com/labstack/echo/v4"
)

// routes lists the listener's whole surface. Instance mounts are UUIDs, so
// they never collide with the static "sys" and "auth" prefixes.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/v1/sys/health", s.health)
	e.HEAD("/v1/sys/health", s.health)
	e.GET("/v1/sys/seal-status", s.sealStatus)
	e.GET("/v1/sys/leader", s.leader)
	e.GET("/v1/sys/internal/ui/mounts/*", s.uiMount, s.requireToken)

	e.POST("/v1/auth/userpass/login/:username", s.userpassLogin)
	e.GET("/v1/auth/token/lookup-self", s.lookupSelf, s.requireToken)
	e.POST("/v1/auth/token/renew-self", s.renewSelf, s.requireToken)
	e.POST("/v1/auth/token/revoke-self", s.revokeSelf, s.requireToken)

	kv := e.Group("/v1/:mount", s.requireToken)
	kv.GET("/data/*", s.kvReadData)
	kv.POST("/data/*", s.kvWriteData)
	kv.PATCH("/data/*", s.kvPatchData)
	kv.DELETE("/data/*", s.kvDeleteLatest)
	kv.POST("/delete/*", s.kvDeleteVersions)
	kv.POST("/undelete/*", s.kvUndelete)
	kv.POST("/destroy/*", s.kvDestroy)
	kv.GET("/metadata/*", s.kvReadMetadata)
	kv.Add("LIST", "/metadata/*", s.kvList)
	kv.Add("LIST", "/metadata", s.kvList)
	kv.POST("/metadata/*", s.kvWriteMetadata)
	kv.PATCH("/metadata/*", s.kvPatchMetadata)
	kv.DELETE("/metadata/*", s.kvDeleteMetadata)
	kv.GET("/subkeys/*", s.kvSubkeys)
	kv.GET("/config", s.kvReadConfig)
	kv.POST("/config", s.kvWriteConfig)
}
