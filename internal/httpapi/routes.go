package httpapi

import (
	"strings"

	"github.com/cofferhq/coffer/internal/iam"
)

// routePermissions lists every authenticated route of the API listener with
// the permission it needs on the path's project. It is the one place that
// says who may call what; a test checks that it and the router agree.
//
// The v1 and v2 forms of a route need the same permission; the table keys
// the v1 form and routePermission maps v2 paths onto it.
var routePermissions = map[string]string{
	"GET /v1/projects/:projectId/instances":                              iam.PermInstanceList,
	"POST /v1/projects/:projectId/instances":                             iam.PermInstanceCreate,
	"GET /v1/projects/:projectId/instances/:instanceId":                  iam.PermInstanceGet,
	"PUT /v1/projects/:projectId/instances/:instanceId":                  iam.PermInstanceUpdate,
	"DELETE /v1/projects/:projectId/instances/:instanceId":               iam.PermInstanceDelete,
	"GET /v1/projects/:projectId/instances/:instanceId/users":            iam.PermInstanceGet,
	"POST /v1/projects/:projectId/instances/:instanceId/users":           iam.PermInstanceUpdate,
	"GET /v1/projects/:projectId/instances/:instanceId/users/:userId":    iam.PermInstanceGet,
	"PUT /v1/projects/:projectId/instances/:instanceId/users/:userId":    iam.PermInstanceUpdate,
	"DELETE /v1/projects/:projectId/instances/:instanceId/users/:userId": iam.PermInstanceUpdate,
	"GET /v1/projects/:projectId/instances/:instanceId/acls":             iam.PermInstanceGet,
	"POST /v1/projects/:projectId/instances/:instanceId/acls":            iam.PermInstanceUpdate,
	"PUT /v1/projects/:projectId/instances/:instanceId/acls":             iam.PermInstanceUpdate,
	"GET /v1/projects/:projectId/instances/:instanceId/acls/:aclId":      iam.PermInstanceGet,
	"PUT /v1/projects/:projectId/instances/:instanceId/acls/:aclId":      iam.PermInstanceUpdate,
	"DELETE /v1/projects/:projectId/instances/:instanceId/acls/:aclId":   iam.PermInstanceUpdate,

	// KMS v1: reads need kms.keyring.get, changes kms.keyring.update, as the
	// STACKIT spec's x-stackit-authorization says; using a key needs kms.key.use.
	"GET " + kmsRings:                                    iam.PermKeyRingList,
	"POST " + kmsRings:                                   iam.PermKeyRingCreate,
	"GET " + kmsRing:                                     iam.PermKeyRingGet,
	"DELETE " + kmsRing:                                  iam.PermKeyRingDelete,
	"GET " + kmsRing + "/keys":                           iam.PermKeyRingGet,
	"POST " + kmsRing + "/keys":                          iam.PermKeyRingUpdate,
	"GET " + kmsKey:                                      iam.PermKeyRingGet,
	"DELETE " + kmsKey:                                   iam.PermKeyRingUpdate,
	"POST " + kmsKey + "/import":                         iam.PermKeyRingUpdate,
	"POST " + kmsKey + "/restore":                        iam.PermKeyRingUpdate,
	"POST " + kmsKey + "/rotate":                         iam.PermKeyRingUpdate,
	"GET " + kmsKey + "/versions":                        iam.PermKeyRingGet,
	"GET " + kmsVersion:                                  iam.PermKeyRingGet,
	"POST " + kmsVersion + "/disable":                    iam.PermKeyRingUpdate,
	"POST " + kmsVersion + "/enable":                     iam.PermKeyRingUpdate,
	"POST " + kmsVersion + "/destroy":                    iam.PermKeyRingUpdate,
	"POST " + kmsVersion + "/restore":                    iam.PermKeyRingUpdate,
	"POST " + kmsVersion + "/encrypt":                    iam.PermKeyUse,
	"POST " + kmsVersion + "/decrypt":                    iam.PermKeyUse,
	"POST " + kmsVersion + "/sign":                       iam.PermKeyUse,
	"POST " + kmsVersion + "/verify":                     iam.PermKeyUse,
	"GET " + kmsRing + "/wrappingkeys":                   iam.PermKeyRingGet,
	"POST " + kmsRing + "/wrappingkeys":                  iam.PermKeyRingUpdate,
	"GET " + kmsRing + "/wrappingkeys/:wrappingKeyId":    iam.PermKeyRingGet,
	"DELETE " + kmsRing + "/wrappingkeys/:wrappingKeyId": iam.PermKeyRingUpdate,
}

const (
	kmsRings   = "/v1/projects/:projectId/regions/:regionId/keyrings"
	kmsRing    = kmsRings + "/:keyRingId"
	kmsKey     = kmsRing + "/keys/:keyId"
	kmsVersion = kmsKey + "/versions/:versionNumber"
)

// publicRoutes need no token.
var publicRoutes = map[string]bool{
	"GET /healthz":                     true,
	"GET /readyz":                      true,
	"GET /metrics":                     true,
	"GET /.well-known/jwks.json":       true,
	"GET /openapi/secretsmanager.yaml": true,
	"GET /openapi/kms.yaml":            true,
}

const v2Regional = "/v2/projects/:projectId/regions/:regionId/"

// routePermission returns the permission that method on the route template
// path needs, and whether the route is declared at all.
func routePermission(method, path string) (string, bool) {
	if p, ok := routePermissions[method+" "+path]; ok {
		return p, true
	}
	if rest, ok := strings.CutPrefix(path, v2Regional); ok {
		path = "/v1/projects/:projectId/" + rest
	}
	p, ok := routePermissions[method+" "+path]
	return p, ok
}
