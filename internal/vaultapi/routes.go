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

	// The transit engine on mounts of type "transit": its endpoints' first
	// segments differ from KV's, so both share the /v1/:mount group.
	tr := kv
	tr.POST("/keys/:name", s.transitCreateKey)
	tr.GET("/keys/:name", s.transitReadKey)
	tr.DELETE("/keys/:name", s.transitDeleteKey)
	tr.Add("LIST", "/keys", s.transitListKeys)
	tr.POST("/keys/:name/config", s.transitConfigKey)
	tr.POST("/keys/:name/rotate", s.transitRotateKey)
	tr.POST("/encrypt/:name", s.transitEncrypt)
	tr.POST("/decrypt/:name", s.transitDecrypt)
	tr.POST("/rewrap/:name", s.transitRewrap)
	for _, p := range []string{"/sign/:name", "/sign/:name/:algo"} {
		tr.POST(p, s.transitSign)
	}
	for _, p := range []string{"/verify/:name", "/verify/:name/:algo"} {
		tr.POST(p, s.transitVerify)
	}
	for _, p := range []string{"/hmac/:name", "/hmac/:name/:algo"} {
		tr.POST(p, s.transitHMAC)
	}
	tr.POST("/keys/:name/trim", s.transitTrimKey)
	tr.GET("/export/:key_type/:name", s.transitExport)
	tr.GET("/export/:key_type/:name/:version", s.transitExport)
	tr.GET("/backup/:name", s.transitBackup)
	tr.POST("/restore", s.transitRestore)
	tr.POST("/restore/:name", s.transitRestore)
	tr.GET("/config/keys", s.transitReadKeysConfig)
	tr.POST("/config/keys", s.transitWriteKeysConfig)
	tr.GET("/cache-config", s.transitReadCacheConfig)
	tr.POST("/cache-config", s.transitWriteCacheConfig)
	tr.POST("/datakey/:type/:name", s.transitDataKey)
	for _, p := range []string{"/random", "/random/:a", "/random/:a/:b"} {
		tr.POST(p, s.transitRandom)
	}
	for _, p := range []string{"/hash", "/hash/:algo"} {
		tr.POST(p, s.transitHash)
	}
}
