package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cofferhq/coffer/internal/httpapi/kmsapi"
	"github.com/cofferhq/coffer/internal/httpapi/smapi"
	"github.com/cofferhq/coffer/internal/iam"
)

// specPermissionOverrides are Coffer's deliberate departures from the
// specs' x-stackit-authorization, by operationId. STACKIT lets
// kms.keyring.get use keys; Coffer splits kms.key.use out of it so that
// kms.reader can read key metadata without using the keys (iam/roles.go).
var specPermissionOverrides = map[string]string{
	"Encrypt": iam.PermKeyUse,
	"Decrypt": iam.PermKeyUse,
	"Sign":    iam.PermKeyUse,
	"Verify":  iam.PermKeyUse,
}

// TestRoutePermissionsMatchSpec checks the routes table against the
// x-stackit-authorization action (or implicit action) that the OpenAPI
// specs name for each operation. The behavioural tests in routes_test.go
// can only tell read from write with the built-in roles; this one pins the
// exact permission of every route.
func TestRoutePermissionsMatchSpec(t *testing.T) {
	specs := map[string]func() (*openapi3.T, error){"secretsmanager": smapi.GetSwagger, "kms": kmsapi.GetSwagger}
	param := regexp.MustCompile(`\{([A-Za-z]+)\}`)
	seen := map[string]bool{}
	for name, load := range specs {
		spec, err := load()
		if err != nil {
			t.Fatalf("load %s spec: %v", name, err)
		}
		for path, item := range spec.Paths.Map() {
			echoPath := param.ReplaceAllString(path, ":$1")
			for method, op := range item.Operations() {
				key := method + " " + echoPath
				seen[key] = true
				var authz struct {
					Actions         []string `json:"actions"`
					ImplicitActions []string `json:"implicit-actions"`
				}
				raw, err := json.Marshal(op.Extensions["x-stackit-authorization"])
				if err == nil {
					err = json.Unmarshal(raw, &authz)
				}
				actions := append(authz.Actions, authz.ImplicitActions...)
				if err != nil || len(actions) != 1 {
					t.Errorf("%s spec, %s (%s): want exactly one x-stackit-authorization action, got %v (%v)",
						name, key, op.OperationID, actions, err)
					continue
				}
				want := actions[0]
				if p, ok := specPermissionOverrides[op.OperationID]; ok {
					want = p
				}
				got, ok := routePermission(method, echoPath)
				switch {
				case !ok:
					t.Errorf("%s spec, %s (%s): not in routePermissions (routes.go); want %s",
						name, key, op.OperationID, want)
				case got != want:
					t.Errorf("%s spec, %s (%s): routePermissions says %s, want %s (spec: %s)",
						name, key, op.OperationID, got, want, actions[0])
				}
			}
		}
	}
	for key := range routePermissions {
		if !seen[key] {
			t.Errorf("routePermissions has %s, which is not an operation of any spec", key)
		}
	}
	for key := range publicRoutes {
		method, path, _ := strings.Cut(key, " ")
		if _, ok := routePermission(method, path); ok {
			t.Errorf("%s is both public and in routePermissions", key)
		}
	}
}
