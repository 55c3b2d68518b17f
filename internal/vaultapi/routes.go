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
	for _, prefix := range []string{"/v1/sys/mounts", "/v1/sys/auth"} {
		e.GET(prefix, s.listMounts, s.requireToken)
		e.POST(prefix+"/:path", s.enableMount, s.requireToken)
		e.DELETE(prefix+"/:path", s.disableMount, s.requireToken)
		e.GET(prefix+"/:path/tune", s.readTune, s.requireToken)
		e.POST(prefix+"/:path/tune", s.tuneMount, s.requireToken)
	}

	e.POST("/v1/auth/userpass/login/:username", s.userpassLogin)
	e.GET("/v1/auth/token/lookup-self", s.lookupSelf, s.requireToken)
	e.POST("/v1/auth/token/renew-self", s.renewSelf, s.requireToken)
	e.POST("/v1/auth/token/revoke-self", s.revokeSelf, s.requireToken)
	e.POST("/v1/auth/token/create", s.createToken, s.requireToken)
	e.POST("/v1/auth/:mount/login/:username", s.mountLogin)
	e.POST("/v1/auth/:mount/users/:username", s.putUser, s.requireToken)
	e.GET("/v1/auth/:mount/users/:username", s.readUser, s.requireToken)
	e.DELETE("/v1/auth/:mount/users/:username", s.deleteUser, s.requireToken)
	e.Add("LIST", "/v1/auth/:mount/users", s.listUsers, s.requireToken)

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
