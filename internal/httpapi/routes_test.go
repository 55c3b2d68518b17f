package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/httpapi/kmsapi"
	"github.com/cofferhq/coffer/internal/httpapi/smapi"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
)

// authzClass is what a route does, which decides who may call it.
type authzClass int

const (
	smRead    authzClass = iota // Secrets Manager reads
	smWrite                     // Secrets Manager changes
	kmsRead                     // KMS reads (kms.keyring.list, kms.keyring.get)
	kmsChange                   // KMS changes (kms.keyring.create, .update, .delete)
	kmsUse                      // encrypt, decrypt, sign, verify (kms.key.use)
)

func (c authzClass) String() string {
	return [...]string{"smRead", "smWrite", "kmsRead", "kmsChange", "kmsUse"}[c]
}

func (c authzClass) kms() bool  { return c >= kmsRead }
func (c authzClass) read() bool { return c == smRead || c == kmsRead }

// authzRoles are the built-in roles of a project, each held alone by one
// caller of TestRouteAuthorization.
var authzRoles = []string{iam.RoleSecretsManagerReader, iam.RoleSecretsManagerAdmin, iam.RoleKMSReader,
	iam.RoleKMSUser, iam.RoleKMSAdmin, iam.RoleOwner}

// authzAllowed are the roles that may call a route of each class; every
// other role of authzRoles must get 403. This is the contract (iam/roles.go
// and the roles' documentation), written out independently of the code.
var authzAllowed = map[authzClass][]string{
	smRead:    {iam.RoleSecretsManagerReader, iam.RoleSecretsManagerAdmin, iam.RoleOwner},
	smWrite:   {iam.RoleSecretsManagerAdmin, iam.RoleOwner},
	kmsRead:   {iam.RoleKMSReader, iam.RoleKMSUser, iam.RoleKMSAdmin, iam.RoleOwner},
	kmsChange: {iam.RoleKMSAdmin, iam.RoleOwner},
	kmsUse:    {iam.RoleKMSUser, iam.RoleOwner},
}

// authzCase says how to call one authenticated route of the API listener.
// The URL comes from the route template itself (authzURL fills its
// parameters), so a case only adds what the template cannot say.
type authzCase struct {
	class authzClass
	body  string // a valid JSON body (operations with a request body only)
	want  int    // the status of a successful call by an authorized caller
	// prep, for KMS routes, brings the fresh fixture (authzPrepare) into the
	// state a successful call needs, adjusting ids; a non-empty result
	// replaces body (for bodies that depend on the fixture).
	prep func(tb testing.TB, env *apitest.Env, ids *authzIDs) string
	// check, when set, checks the answer and effect of a successful call.
	check func(tb testing.TB, env *apitest.Env, ids authzIDs, body []byte)
}

// The KMS v1 route templates (as routes.go spells them).
const (
	authzKMSRings   = "/v1/projects/:projectId/regions/:regionId/keyrings"
	authzKMSRing    = authzKMSRings + "/:keyRingId"
	authzKMSKey     = authzKMSRing + "/keys/:keyId"
	authzKMSVersion = authzKMSKey + "/versions/:versionNumber"
)

// authzPlaintext is what the encrypt, decrypt, sign and verify cases use.
const authzPlaintext = "attack at dawn"

var authzPlaintextB64 = base64.StdEncoding.EncodeToString([]byte(authzPlaintext))

// authzCases has one case per authenticated route, keyed "METHOD template" as
// echo.Route spells them. TestRouteTableMatchesRouter fails when a registered
// route has no case here, or a case has no route.
var authzCases = map[string]authzCase{
	// v1 (the STACKIT paths; success codes as STACKIT answers them)
	"GET /v1/projects/:projectId/instances":                              {class: smRead, want: http.StatusOK},
	"POST /v1/projects/:projectId/instances":                             {class: smWrite, body: `{"name":"created-v1"}`, want: http.StatusCreated},
	"GET /v1/projects/:projectId/instances/:instanceId":                  {class: smRead, want: http.StatusOK},
	"PUT /v1/projects/:projectId/instances/:instanceId":                  {class: smWrite, body: `{"name":"renamed-v1"}`, want: http.StatusCreated},
	"DELETE /v1/projects/:projectId/instances/:instanceId":               {class: smWrite, want: http.StatusNoContent},
	"GET /v1/projects/:projectId/instances/:instanceId/users":            {class: smRead, want: http.StatusOK},
	"POST /v1/projects/:projectId/instances/:instanceId/users":           {class: smWrite, body: `{"description":"ci","write":true}`, want: http.StatusOK},
	"GET /v1/projects/:projectId/instances/:instanceId/users/:userId":    {class: smRead, want: http.StatusOK},
	"PUT /v1/projects/:projectId/instances/:instanceId/users/:userId":    {class: smWrite, body: `{"description":"ci2","write":false}`, want: http.StatusOK},
	"DELETE /v1/projects/:projectId/instances/:instanceId/users/:userId": {class: smWrite, want: http.StatusNoContent},
	"GET /v1/projects/:projectId/instances/:instanceId/acls":             {class: smRead, want: http.StatusOK},
	"POST /v1/projects/:projectId/instances/:instanceId/acls":            {class: smWrite, body: `{"cidr":"10.0.0.0/24"}`, want: http.StatusCreated},
	"PUT /v1/projects/:projectId/instances/:instanceId/acls":             {class: smWrite, body: `{"cidrs":[{"cidr":"10.1.0.0/16"}]}`, want: http.StatusOK},
	"GET /v1/projects/:projectId/instances/:instanceId/acls/:aclId":      {class: smRead, want: http.StatusOK},
	"PUT /v1/projects/:projectId/instances/:instanceId/acls/:aclId":      {class: smWrite, body: `{"cidr":"10.2.0.0/16"}`, want: http.StatusOK},
	"DELETE /v1/projects/:projectId/instances/:instanceId/acls/:aclId":   {class: smWrite, want: http.StatusNoContent},

	// v2 (regional)
	"GET /v2/projects/:projectId/regions/:regionId/instances":                              {class: smRead, want: http.StatusOK},
	"POST /v2/projects/:projectId/regions/:regionId/instances":                             {class: smWrite, body: `{"name":"created-v2"}`, want: http.StatusCreated},
	"GET /v2/projects/:projectId/regions/:regionId/instances/:instanceId":                  {class: smRead, want: http.StatusOK},
	"PUT /v2/projects/:projectId/regions/:regionId/instances/:instanceId":                  {class: smWrite, body: `{"name":"renamed-v2"}`, want: http.StatusCreated},
	"DELETE /v2/projects/:projectId/regions/:regionId/instances/:instanceId":               {class: smWrite, want: http.StatusNoContent},
	"GET /v2/projects/:projectId/regions/:regionId/instances/:instanceId/users":            {class: smRead, want: http.StatusOK},
	"POST /v2/projects/:projectId/regions/:regionId/instances/:instanceId/users":           {class: smWrite, body: `{"description":"ci","write":false}`, want: http.StatusOK},
	"GET /v2/projects/:projectId/regions/:regionId/instances/:instanceId/users/:userId":    {class: smRead, want: http.StatusOK},
	"PUT /v2/projects/:projectId/regions/:regionId/instances/:instanceId/users/:userId":    {class: smWrite, body: `{"write":true}`, want: http.StatusOK},
	"DELETE /v2/projects/:projectId/regions/:regionId/instances/:instanceId/users/:userId": {class: smWrite, want: http.StatusNoContent},
	"GET /v2/projects/:projectId/regions/:regionId/instances/:instanceId/acls":             {class: smRead, want: http.StatusOK},
	"POST /v2/projects/:projectId/regions/:regionId/instances/:instanceId/acls":            {class: smWrite, body: `{"cidr":"2001:db8::/32"}`, want: http.StatusCreated},
	"PUT /v2/projects/:projectId/regions/:regionId/instances/:instanceId/acls":             {class: smWrite, body: `{"cidrs":[{"cidr":"10.3.0.0/16"},{"cidr":"fd00::/8"}]}`, want: http.StatusOK},
	"GET /v2/projects/:projectId/regions/:regionId/instances/:instanceId/acls/:aclId":      {class: smRead, want: http.StatusOK},
	"PUT /v2/projects/:projectId/regions/:regionId/instances/:instanceId/acls/:aclId":      {class: smWrite, body: `{"cidr":"10.4.0.0/16"}`, want: http.StatusOK},
	"DELETE /v2/projects/:projectId/regions/:regionId/instances/:instanceId/acls/:aclId":   {class: smWrite, want: http.StatusNoContent},

	// KMS v1 (success codes as STACKIT answers them: 202 for the
	// asynchronous-looking operations, 501 for key import and wrapping keys)
	"GET " + authzKMSRings: {class: kmsRead, want: http.StatusOK},
	"POST " + authzKMSRings: {class: kmsChange, want: http.StatusAccepted,
		body: `{"displayName":"created-ring","description":"made by TestRouteAuthorization"}`, check: authzCheckRingCreated},
	"GET " + authzKMSRing: {class: kmsRead, want: http.StatusOK},
	"DELETE " + authzKMSRing: {class: kmsChange, want: http.StatusNoContent, prep: authzEmptyRing,
		check: authzCheckRingDeleted},
	"GET " + authzKMSRing + "/keys": {class: kmsRead, want: http.StatusOK},
	"POST " + authzKMSRing + "/keys": {class: kmsChange, want: http.StatusAccepted,
		body:  `{"displayName":"created-key","algorithm":"aes_256_gcm","purpose":"symmetric_encrypt_decrypt","protection":"software"}`,
		check: authzCheckKeyCreated},
	"GET " + authzKMSKey: {class: kmsRead, want: http.StatusOK},
	"DELETE " + authzKMSKey: {class: kmsChange, want: http.StatusAccepted,
		check: authzCheckKeyState(keyservice.KeyDeleted)},
	"POST " + authzKMSKey + "/import": {class: kmsChange, want: http.StatusNotImplemented,
		body: `{"wrappingKeyId":"11111111-1111-1111-1111-111111111111","wrappedKey":"AAAA"}`, check: authzCheckNotImplemented},
	"POST " + authzKMSKey + "/restore": {class: kmsChange, want: http.StatusNoContent, prep: authzDeletedKey,
		check: authzCheckKeyState(keyservice.KeyActive)},
	"POST " + authzKMSKey + "/rotate":  {class: kmsChange, want: http.StatusAccepted, check: authzCheckRotated},
	"GET " + authzKMSKey + "/versions": {class: kmsRead, want: http.StatusOK},
	"GET " + authzKMSVersion:           {class: kmsRead, want: http.StatusOK},
	"POST " + authzKMSVersion + "/disable": {class: kmsChange, want: http.StatusNoContent,
		check: authzCheckVersionState(keyservice.VersionDisabled)},
	"POST " + authzKMSVersion + "/enable": {class: kmsChange, want: http.StatusNoContent, prep: authzDisabledVersion,
		check: authzCheckVersionState(keyservice.VersionActive)},
	"POST " + authzKMSVersion + "/destroy": {class: kmsChange, want: http.StatusNoContent,
		check: authzCheckVersionState(keyservice.VersionDestroyed)},
	"POST " + authzKMSVersion + "/restore": {class: kmsChange, want: http.StatusNoContent, prep: authzDestroyedVersion,
		check: authzCheckVersionState(keyservice.VersionDisabled)},
	"POST " + authzKMSVersion + "/encrypt": {class: kmsUse, want: http.StatusOK,
		body: `{"data":"` + authzPlaintextB64 + `"}`, check: authzCheckEncrypted},
	"POST " + authzKMSVersion + "/decrypt": {class: kmsUse, want: http.StatusOK,
		body: `{"data":"AAAA"}`, prep: authzCiphertext, check: authzCheckDecrypted},
	"POST " + authzKMSVersion + "/sign": {class: kmsUse, want: http.StatusOK,
		body: `{"data":"` + authzPlaintextB64 + `"}`, prep: authzSignKey, check: authzCheckSigned},
	"POST " + authzKMSVersion + "/verify": {class: kmsUse, want: http.StatusOK,
		body: `{"data":"AAAA","signature":"AAAA"}`, prep: authzSignature, check: authzCheckVerified},
	"GET " + authzKMSRing + "/wrappingkeys": {class: kmsRead, want: http.StatusNotImplemented, check: authzCheckNotImplemented},
	"POST " + authzKMSRing + "/wrappingkeys": {class: kmsChange, want: http.StatusNotImplemented, check: authzCheckNotImplemented,
		body: `{"displayName":"wk","algorithm":"rsa_2048_oaep_sha256","purpose":"wrap_symmetric_key","protection":"software"}`},
	"GET " + authzKMSRing + "/wrappingkeys/:wrappingKeyId": {class: kmsRead, want: http.StatusNotImplemented,
		check: authzCheckNotImplemented},
	"DELETE " + authzKMSRing + "/wrappingkeys/:wrappingKeyId": {class: kmsChange, want: http.StatusNotImplemented,
		check: authzCheckNotImplemented},
}

// authzPublicRoutes need no token: they must answer 200 without one.
var authzPublicRoutes = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /.well-known/jwks.json",
	"GET /openapi/secretsmanager.yaml",
	"GET /openapi/kms.yaml",
}

// authzIDs are the values authzURL fills into a route template.
type authzIDs struct {
	Project, Region, Instance, User, ACL string
	Ring, Key, Version, WrappingKey      string
}

func authzRandomIDs(project string) authzIDs {
	return authzIDs{Project: project, Region: apitest.Region, Instance: uuid.NewString(),
		User: uuid.NewString(), ACL: uuid.NewString(), Ring: uuid.NewString(), Key: uuid.NewString(),
		Version: "1", WrappingKey: uuid.NewString()}
}

// authzURL fills the parameters of a route template such as
// /v1/projects/:projectId/instances/:instanceId with ids.
func authzURL(tb testing.TB, template string, ids authzIDs) string {
	tb.Helper()
	segs := strings.Split(template, "/")
	for i, s := range segs {
		name, ok := strings.CutPrefix(s, ":")
		if !ok {
			continue
		}
		switch name {
		case "projectId":
			segs[i] = ids.Project
		case "regionId":
			segs[i] = ids.Region
		case "instanceId":
			segs[i] = ids.Instance
		case "userId":
			segs[i] = ids.User
		case "aclId":
			segs[i] = ids.ACL
		case "keyRingId":
			segs[i] = ids.Ring
		case "keyId":
			segs[i] = ids.Key
		case "versionNumber":
			segs[i] = ids.Version
		case "wrappingKeyId":
			segs[i] = ids.WrappingKey
		default:
			tb.Fatalf("route %s has a parameter :%s that authzURL cannot fill: add it to authzIDs and authzURL "+
				"(routes_test.go)", template, name)
		}
	}
	return strings.Join(segs, "/")
}

// authzURLAny is authzURL for a route without a case: parameters that
// authzIDs does not know are filled with "1" for numbers (names ending in
// "Number") and a random UUID otherwise.
func authzURLAny(template string, ids authzIDs) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		name, ok := strings.CutPrefix(s, ":")
		if !ok {
			continue
		}
		switch {
		case name == "projectId":
			segs[i] = ids.Project
		case name == "regionId":
			segs[i] = ids.Region
		case strings.HasSuffix(name, "Number"):
			segs[i] = "1"
		default:
			segs[i] = uuid.NewString()
		}
	}
	return strings.Join(segs, "/")
}

// authzFixture creates an instance with one user and one ACL in project,
// through the service (not the API under test).
func authzFixture(tb testing.TB, env *apitest.Env, project string) authzIDs {
	tb.Helper()
	ctx := context.Background()
	sc := instance.Scope{ProjectID: project, RegionID: apitest.Region}
	in, err := env.Instances.CreateInstance(ctx, sc, instance.Spec{Name: "fixture"})
	if err != nil {
		tb.Fatalf("create fixture instance: %v", err)
	}
	u, err := env.Instances.CreateUser(ctx, sc, in.ID, "fixture user", false)
	if err != nil {
		tb.Fatalf("create fixture user: %v", err)
	}
	a, err := env.Instances.CreateACL(ctx, sc, in.ID, "192.168.0.0/16")
	if err != nil {
		tb.Fatalf("create fixture ACL: %v", err)
	}
	return authzIDs{Project: project, Region: apitest.Region, Instance: in.ID, User: u.ID, ACL: a.ID}
}

// authzKMSFixture creates a key ring with an aes_256_gcm key in project,
// through the embedded KMS, and returns ids naming the key's version 1 (and
// a wrapping key ID, which never exists). It is lighter than
// apitest.CreateKMSKeys: generating the ECDSA key there costs ~20 ms under
// -race, and the bad-input table prepares hundreds of these.
func authzKMSFixture(tb testing.TB, env *apitest.Env, project string) authzIDs {
	tb.Helper()
	ids := authzIDs{Project: project, Region: apitest.Region, Version: "1", WrappingKey: uuid.NewString()}
	kr, err := env.KMS.CreateKeyRing(context.Background(), authzScope(ids), "fixture", "")
	authzMust(tb, "create key ring", err)
	ids.Ring = kr.ID
	ids.Key = authzNewKey(tb, env, ids, keyring.AES256GCM)
	return ids
}

// authzNewKey creates a key of alg in ids.Ring and returns its ID.
func authzNewKey(tb testing.TB, env *apitest.Env, ids authzIDs, alg keyring.Algorithm) string {
	tb.Helper()
	k, err := env.KMS.CreateKey(context.Background(), authzScope(ids), ids.Ring, keyservice.KeySpec{
		DisplayName: "fixture", Algorithm: alg, Purpose: alg.Purpose(), Protection: "software"})
	authzMust(tb, "create "+string(alg)+" key", err)
	return k.ID
}

// authzFix is a fresh fixture for one route: the IDs for its URL and its
// valid body.
type authzFix struct {
	ids  authzIDs
	body string
}

// authzPrepare creates a fresh fixture in project on which a call of route
// by an authorized caller succeeds with authzCases[route].want.
func authzPrepare(tb testing.TB, env *apitest.Env, project, route string) authzFix {
	tb.Helper()
	c, ok := authzCases[route]
	if !ok {
		tb.Fatalf("no case for %s", route)
	}
	if !c.class.kms() {
		return authzFix{ids: authzFixture(tb, env, project), body: c.body}
	}
	ids := authzKMSFixture(tb, env, project)
	body := c.body
	if c.prep != nil {
		if b := c.prep(tb, env, &ids); b != "" {
			body = b
		}
	}
	return authzFix{ids: ids, body: body}
}

// authzScope and authzRef are the embedded KMS's names for ids.
func authzScope(ids authzIDs) keyservice.Scope {
	return keyservice.Scope{ProjectID: ids.Project, RegionID: ids.Region}
}

func authzRef(tb testing.TB, ids authzIDs) keyservice.Ref {
	tb.Helper()
	n, err := strconv.ParseInt(ids.Version, 10, 64)
	if err != nil {
		tb.Fatalf("version %q: %v", ids.Version, err)
	}
	return keyservice.Ref{Scope: authzScope(ids), KeyRingID: ids.Ring, KeyID: ids.Key, Number: n}
}

func authzMust(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// The prep functions of the KMS cases.

func authzEmptyRing(tb testing.TB, env *apitest.Env, ids *authzIDs) string {
	tb.Helper()
	kr, err := env.KMS.CreateKeyRing(context.Background(), authzScope(*ids), "empty", "")
	authzMust(tb, "create empty key ring", err)
	ids.Ring, ids.Key = kr.ID, uuid.NewString()
	return ""
}

func authzDeletedKey(tb testing.TB, env *apitest.Env, ids *authzIDs) string {
	tb.Helper()
	authzMust(tb, "DeleteKey", env.KMS.DeleteKey(context.Background(), authzScope(*ids), ids.Ring, ids.Key))
	return ""
}

func authzDisabledVersion(tb testing.TB, env *apitest.Env, ids *authzIDs) string {
	tb.Helper()
	authzMust(tb, "DisableVersion", env.KMS.DisableVersion(context.Background(), authzScope(*ids), ids.Ring, ids.Key, 1))
	return ""
}

func authzDestroyedVersion(tb testing.TB, env *apitest.Env, ids *authzIDs) string {
	tb.Helper()
	authzMust(tb, "DestroyVersion", env.KMS.DestroyVersion(context.Background(), authzScope(*ids), ids.Ring, ids.Key, 1))
	return ""
}

func authzCiphertext(tb testing.TB, env *apitest.Env, ids *authzIDs) string {
	tb.Helper()
	ct, err := env.KMS.Encrypt(context.Background(), authzRef(tb, *ids), []byte(authzPlaintext), nil)
	authzMust(tb, "Encrypt", err)
	return `{"data":"` + base64.StdEncoding.EncodeToString(ct) + `"}`
}

func authzSignKey(tb testing.TB, env *apitest.Env, ids *authzIDs) string {
	tb.Helper()
	ids.Key = authzNewKey(tb, env, *ids, keyring.ECDSAP256SHA256)
	return ""
}

func authzSignature(tb testing.TB, env *apitest.Env, ids *authzIDs) string {
	tb.Helper()
	authzSignKey(tb, env, ids)
	sig, err := env.KMS.Sign(context.Background(), authzRef(tb, *ids), []byte(authzPlaintext))
	authzMust(tb, "Sign", err)
	return `{"data":"` + authzPlaintextB64 + `","signature":"` + base64.StdEncoding.EncodeToString(sig) + `"}`
}

// The check functions of the KMS cases.

func authzDecodeBody(tb testing.TB, body []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("answer %q: %v", body, err)
	}
}

func authzCheckRingCreated(tb testing.TB, env *apitest.Env, ids authzIDs, body []byte) {
	tb.Helper()
	var got kmsapi.KeyRing
	authzDecodeBody(tb, body, &got)
	kr, err := env.KMS.KeyRing(context.Background(), authzScope(ids), got.Id.String())
	if err != nil || kr.DisplayName != "created-ring" || got.DisplayName != "created-ring" {
		tb.Errorf("answered key ring %+v; stored: %+v, %v", got, kr, err)
	}
}

func authzCheckRingDeleted(tb testing.TB, env *apitest.Env, ids authzIDs, _ []byte) {
	tb.Helper()
	if _, err := env.KMS.KeyRing(context.Background(), authzScope(ids), ids.Ring); !errs.Is(err, errs.NotFound) {
		tb.Errorf("key ring after 204: %v, want not found", err)
	}
}

func authzCheckKeyCreated(tb testing.TB, env *apitest.Env, ids authzIDs, body []byte) {
	tb.Helper()
	var got kmsapi.Key
	authzDecodeBody(tb, body, &got)
	k, err := env.KMS.Key(context.Background(), authzScope(ids), ids.Ring, got.Id.String())
	if err != nil || k.DisplayName != "created-key" || string(k.Algorithm) != "aes_256_gcm" || got.KeyRingId.String() != ids.Ring {
		tb.Errorf("answered key %+v; stored: %+v, %v", got, k, err)
	}
}

func authzCheckKeyState(want string) func(testing.TB, *apitest.Env, authzIDs, []byte) {
	return func(tb testing.TB, env *apitest.Env, ids authzIDs, _ []byte) {
		tb.Helper()
		k, err := env.KMS.Key(context.Background(), authzScope(ids), ids.Ring, ids.Key)
		if err != nil || k.State != want {
			tb.Errorf("key after the call: %+v, %v; want state %s", k, err, want)
		}
	}
}

func authzCheckRotated(tb testing.TB, env *apitest.Env, ids authzIDs, body []byte) {
	tb.Helper()
	var got kmsapi.Version
	authzDecodeBody(tb, body, &got)
	vs, err := env.KMS.ListVersions(context.Background(), authzScope(ids), ids.Ring, ids.Key)
	if err != nil || len(vs) != 2 || got.Number != 2 || got.State != "active" {
		tb.Errorf("answered version %+v; stored %d versions, %v; want a new active version 2", got, len(vs), err)
	}
}

func authzCheckVersionState(want string) func(testing.TB, *apitest.Env, authzIDs, []byte) {
	return func(tb testing.TB, env *apitest.Env, ids authzIDs, _ []byte) {
		tb.Helper()
		v, err := env.KMS.Version(context.Background(), authzScope(ids), ids.Ring, ids.Key, authzRef(tb, ids).Number)
		if err != nil || v.State != want {
			tb.Errorf("version after the call: %+v, %v; want state %s", v, err, want)
		}
	}
}

func authzCheckEncrypted(tb testing.TB, env *apitest.Env, ids authzIDs, body []byte) {
	tb.Helper()
	var got kmsapi.EncryptedData
	authzDecodeBody(tb, body, &got)
	pt, err := env.KMS.Decrypt(context.Background(), authzRef(tb, ids), got.Data, nil)
	if err != nil || string(pt) != authzPlaintext {
		tb.Errorf("the answered ciphertext decrypts to %q, %v; want %q", pt, err, authzPlaintext)
	}
}

func authzCheckDecrypted(tb testing.TB, _ *apitest.Env, _ authzIDs, body []byte) {
	tb.Helper()
	var got kmsapi.DecryptedData
	authzDecodeBody(tb, body, &got)
	if string(got.Data) != authzPlaintext {
		tb.Errorf("decrypted %q, want %q", got.Data, authzPlaintext)
	}
}

func authzCheckSigned(tb testing.TB, env *apitest.Env, ids authzIDs, body []byte) {
	tb.Helper()
	var got kmsapi.SignedData
	authzDecodeBody(tb, body, &got)
	ok, err := env.KMS.Verify(context.Background(), authzRef(tb, ids), []byte(authzPlaintext), got.Signature)
	if string(got.Data) != authzPlaintext || !ok || err != nil {
		tb.Errorf("signed %q with a signature that verifies: %v, %v; want %q, true", got.Data, ok, err, authzPlaintext)
	}
}

func authzCheckVerified(tb testing.TB, _ *apitest.Env, _ authzIDs, body []byte) {
	tb.Helper()
	var got kmsapi.VerifiedData
	authzDecodeBody(tb, body, &got)
	if !got.Valid {
		tb.Errorf("a valid signature verified as %s", body)
	}
}

func authzCheckNotImplemented(tb testing.TB, _ *apitest.Env, _ authzIDs, body []byte) {
	tb.Helper()
	var got struct{ Message string }
	authzDecodeBody(tb, body, &got)
	if !strings.Contains(got.Message, "not implemented") {
		tb.Errorf("501 message %q does not say \"not implemented\"", got.Message)
	}
}

// authzResponse is an answer of the API listener, read in full.
type authzResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

var authzClient = &http.Client{Timeout: 30 * time.Second}

// authzDo sends method url with the Authorization header authz (none when
// empty) and body (as application/json when not empty).
func authzDo(tb testing.TB, method, url, authz, body string) authzResponse {
	tb.Helper()
	return authzDoCT(tb, method, url, authz, body, "application/json")
}

// authzDoCT is authzDo with an explicit Content-Type ("" for none).
func authzDoCT(tb testing.TB, method, url, authz, body, contentType string) authzResponse {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatalf("new request %s %s: %v", method, url, err)
	}
	if body != "" && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := authzClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("read %s %s: %v", method, url, err)
	}
	return authzResponse{Status: res.StatusCode, Header: res.Header, Body: b}
}

// authzErrorMessage checks that r is a JSON error body {"message": "..."}
// with a non-empty message, and returns the message.
func authzErrorMessage(tb testing.TB, r authzResponse) string {
	tb.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("status %d: Content-Type = %q, want application/json (body %q)", r.Status, ct, r.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		tb.Errorf("status %d: body %q is not a JSON object: %v", r.Status, r.Body, err)
		return ""
	}
	msg, _ := body["message"].(string)
	if msg == "" {
		tb.Errorf("status %d: body %q has no non-empty \"message\"", r.Status, r.Body)
	}
	return msg
}

// authzShape is what a client can tell apart of an error answer.
type authzShape struct {
	Status      int
	ContentType string
	Message     string
}

var authzUUID = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// authzShapeOf returns r's shape. With anonymize, every UUID in the message
// is replaced by "<id>", so that answers about different resources compare.
func authzShapeOf(tb testing.TB, r authzResponse, anonymize bool) authzShape {
	tb.Helper()
	msg := authzErrorMessage(tb, r)
	if anonymize {
		msg = authzUUID.ReplaceAllString(msg, "<id>")
	}
	return authzShape{Status: r.Status, ContentType: r.Header.Get("Content-Type"), Message: msg}
}

// authzRouteSet is the router's routes, sorted into the case table's terms.
type authzRouteSet struct {
	cased   []string // authenticated routes with a case in authzCases
	uncased []string // routes neither public nor in authzCases
	stale   []string // cases without a registered route
	missing []string // authzPublicRoutes that are not registered
	dup     []string // routes registered twice
}

// authzRoutes sorts env's routes by the case table; all lists are sorted.
func authzRoutes(t *testing.T, env *apitest.Env) authzRouteSet {
	t.Helper()
	var rs authzRouteSet
	registered := map[string]bool{}
	for _, r := range env.Routes {
		key := r.Method + " " + r.Path
		if strings.HasPrefix(r.Method, "echo_") { // Echo's own (RouteNotFound, Any) entries
			t.Logf("ignoring Echo-internal route %s", key)
			continue
		}
		if registered[key] {
			rs.dup = append(rs.dup, key)
		}
		registered[key] = true
		switch _, ok := authzCases[key]; {
		case slices.Contains(authzPublicRoutes, key):
		case ok:
			rs.cased = append(rs.cased, key)
		default:
			rs.uncased = append(rs.uncased, key)
		}
	}
	for key := range authzCases {
		if !registered[key] {
			rs.stale = append(rs.stale, key)
		}
	}
	for _, key := range authzPublicRoutes {
		if !registered[key] {
			rs.missing = append(rs.missing, key)
		}
	}
	for _, l := range [][]string{rs.cased, rs.uncased, rs.stale, rs.missing, rs.dup} {
		slices.Sort(l)
	}
	return rs
}

// authzSpecOps returns the operations of both OpenAPI documents, keyed
// "METHOD template" as echo.Route spells them.
func authzSpecOps(tb testing.TB) map[string]*openapi3.Operation {
	tb.Helper()
	param := regexp.MustCompile(`\{([A-Za-z]+)\}`)
	ops := map[string]*openapi3.Operation{}
	for name, load := range map[string]func() (*openapi3.T, error){"secretsmanager": smapi.GetSwagger, "kms": kmsapi.GetSwagger} {
		spec, err := load()
		if err != nil {
			tb.Fatalf("load the %s spec: %v", name, err)
		}
		for path, item := range spec.Paths.Map() {
			for method, op := range item.Operations() {
				ops[method+" "+param.ReplaceAllString(path, ":$1")] = op
			}
		}
	}
	return ops
}

func TestRouteTableMatchesRouter(t *testing.T) {
	env := apitest.Start(t, apitest.SQLite)
	rs := authzRoutes(t, env)
	t.Logf("%d routes: %d public, %d authenticated with a case (%d cases), %d without", len(env.Routes),
		len(authzPublicRoutes), len(rs.cased), len(authzCases), len(rs.uncased))
	for _, key := range rs.uncased {
		t.Errorf("route %s needs a token but has no case in authzCases (internal/httpapi/routes_test.go): "+
			"add one with its class (who may call it), a valid body, and its success status, so that "+
			"TestRouteAuthorization checks who may call it; a route that needs no token belongs in "+
			"authzPublicRoutes (and routes.go publicRoutes)", key)
	}
	for _, key := range rs.stale {
		t.Errorf("authzCases has a case for %s, but no such route is registered: remove the case", key)
	}
	for _, key := range rs.missing {
		t.Errorf("public route %s is not registered: remove it from authzPublicRoutes", key)
	}
	for _, key := range rs.dup {
		t.Errorf("route %s is registered twice", key)
	}
	var roles []string
	for _, r := range iam.Roles() {
		if !slices.Contains(authzRoles, r) {
			t.Errorf("role %s is not in authzRoles: add it there and to authzAllowed (routes_test.go)", r)
		}
		roles = append(roles, r)
	}
	for _, r := range authzRoles {
		if !slices.Contains(roles, r) {
			t.Errorf("authzRoles has %s, which iam.Roles() does not know", r)
		}
	}
	ops := authzSpecOps(t)
	for key, c := range authzCases {
		method, tmpl, _ := strings.Cut(key, " ")
		if c.class.read() != (method == http.MethodGet) {
			t.Errorf("authzCases[%q].class = %v: GET routes read, others do not", key, c.class)
		}
		if c.class.kms() != strings.Contains(tmpl, "/keyrings") {
			t.Errorf("authzCases[%q].class = %v: KMS routes (and only they) have a KMS class", key, c.class)
		}
		if c.prep != nil && !c.class.kms() {
			t.Errorf("authzCases[%q]: only KMS cases have a prep function", key)
		}
		op, ok := ops[key]
		if !ok {
			t.Errorf("authzCases[%q]: no such operation in the OpenAPI documents", key)
			continue
		}
		if (c.body != "") != (op.RequestBody != nil) {
			t.Errorf("authzCases[%q]: %s has a request body: %v, but the case's body is %q",
				key, op.OperationID, op.RequestBody != nil, c.body)
		}
		if c.body != "" && !json.Valid([]byte(c.body)) {
			t.Errorf("authzCases[%q].body is not valid JSON", key)
		}
		if op.Responses.Status(c.want) == nil {
			t.Errorf("authzCases[%q].want = %d, which the spec does not document for %s", key, c.want, op.OperationID)
		}
	}
}

func TestPublicRoutesNeedNoToken(t *testing.T) {
	for _, k := range apitest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			env := apitest.Start(t, k)
			for _, key := range authzPublicRoutes {
				method, path, _ := strings.Cut(key, " ")
				// A public route ignores the Authorization header, even a broken one.
				for _, authz := range []string{"", "Bearer not-a-jwt", "Basic Zm9vOmJhcg=="} {
					r := authzDo(t, method, env.URL+path, authz, "")
					if r.Status != http.StatusOK || len(r.Body) == 0 {
						t.Errorf("%s with Authorization %q = %d %q, want 200 with a body", key, authz, r.Status, r.Body)
					}
					if r.Header.Get("WWW-Authenticate") != "" {
						t.Errorf("%s: a public route answered with WWW-Authenticate", key)
					}
				}
			}
		})
	}
}

// authzForged returns Authorization header values that must all be refused
// with 401, derived from admin, a valid token: the same claims re-signed with
// other keys and algorithms, a tampered token, and malformed headers.
func authzForged(t testing.TB, env *apitest.Env, admin string) map[string]string {
	t.Helper()
	var claims iam.Claims
	tok, parts, err := jwt.NewParser().ParseUnverified(admin, &claims)
	if err != nil || len(parts) != 3 {
		t.Fatalf("parse the issued token: %v", err)
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		t.Fatal("the issued token has no kid")
	}

	r := authzDo(t, http.MethodGet, env.URL+"/.well-known/jwks.json", "", "")
	var jwks struct{ Keys []iam.JWK }
	if err := json.Unmarshal(r.Body, &jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("JWKS %q: %v", r.Body, err)
	}
	var x string
	for _, k := range jwks.Keys {
		if k.KID == kid {
			x = k.X
		}
	}
	pub, err := base64.RawURLEncoding.DecodeString(x)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("JWKS has no Ed25519 key %s: %v", kid, err)
	}

	attackerPub, attackerKey, _ := ed25519.GenerateKey(rand.Reader)
	sign := func(m jwt.SigningMethod, c jwt.Claims, key any, header map[string]any) string {
		t.Helper()
		tk := jwt.NewWithClaims(m, c)
		for k, v := range header {
			tk.Header[k] = v
		}
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatalf("sign %s: %v", m.Alg(), err)
		}
		return s
	}
	seg := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	withKid := map[string]any{"kid": kid}

	far := claims
	far.ExpiresAt = jwt.NewNumericDate(time.Now().Add(24 * 365 * time.Hour))
	tamperedPayload := seg(far)
	wrongAud := claims
	wrongAud.Issuer, wrongAud.Audience = "evil", jwt.ClaimStrings{"evil"}
	expired := claims
	expired.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
	expired.NotBefore = expired.IssuedAt
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))

	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	flipped := bytes.Clone(sig)
	flipped[0] ^= 1

	none := sign(jwt.SigningMethodNone, claims, jwt.UnsafeAllowNoneSignatureType, withKid)
	jwksDoc := r.Body

	return map[string]string{
		// A token Coffer really signed, but expired an hour ago.
		"expired, valid signature": "Bearer " + env.ExpiredToken(t, claims.Email),
		// Algorithm attacks with the real token's claims and kid.
		"alg none":                        "Bearer " + none,
		"alg none, real signature kept":   "Bearer " + strings.TrimSuffix(none, ".") + "." + parts[2],
		"alg None (case)":                 "Bearer " + seg(map[string]any{"alg": "None", "typ": "JWT", "kid": kid}) + "." + parts[1] + ".",
		"HS256, public key as secret":     "Bearer " + sign(jwt.SigningMethodHS256, claims, pub, withKid),
		"HS256, JWK x as secret":          "Bearer " + sign(jwt.SigningMethodHS256, claims, []byte(x), withKid),
		"HS256, JWKS document as secret":  "Bearer " + sign(jwt.SigningMethodHS256, claims, jwksDoc, withKid),
		"ES256 header, EdDSA signature":   "Bearer " + seg(map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid}) + "." + parts[1] + "." + parts[2],
		"EdDSA, attacker key, real kid":   "Bearer " + sign(jwt.SigningMethodEdDSA, claims, attackerKey, withKid),
		"EdDSA, attacker key, no kid":     "Bearer " + sign(jwt.SigningMethodEdDSA, claims, attackerKey, nil),
		"EdDSA, attacker key, odd kid":    "Bearer " + sign(jwt.SigningMethodEdDSA, claims, attackerKey, map[string]any{"kid": "' OR '1'='1"}),
		"EdDSA, attacker key in jwk hdr":  "Bearer " + sign(jwt.SigningMethodEdDSA, claims, attackerKey, map[string]any{"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(attackerPub)}}),
		"EdDSA, attacker key, wrong aud":  "Bearer " + sign(jwt.SigningMethodEdDSA, wrongAud, attackerKey, withKid),
		"EdDSA, attacker key, expired":    "Bearer " + sign(jwt.SigningMethodEdDSA, expired, attackerKey, withKid),
		"tampered payload, real sig":      "Bearer " + parts[0] + "." + tamperedPayload + "." + parts[2],
		"signature stripped":              "Bearer " + parts[0] + "." + parts[1] + ".",
		"signature truncated":             "Bearer " + parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4],
		"signature bit flipped":           "Bearer " + parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(flipped),
		"extra segment":                   "Bearer " + admin + ".e30",
		"two segments":                    "Bearer " + parts[0] + "." + parts[1],
		"garbage":                         "Bearer not-a-jwt",
		"scheme only":                     "Bearer",
		"scheme and blank":                "Bearer    ",
		"no scheme":                       admin,
		"Basic scheme":                    "Basic " + admin,
		"Token scheme":                    "Token " + admin,
		"BearerX scheme":                  "BearerX " + admin,
		"token with trailing garbage":     "Bearer " + admin + " junk",
		"token with comma-appended token": "Bearer " + admin + ",Bearer " + admin,
	}
}

// TestRouteAuthorization drives every authenticated route with every kind
// of caller, on both stores. Each route gets a fixture of its own, in the
// state in which an authorized call succeeds (an empty key ring to delete,
// a disabled version to enable, a real ciphertext to decrypt, ...):
//
//	(a) no token: 401 (also with a malformed body and non-UUID ids: the
//	    token is checked first);
//	(b) forged or malformed tokens: 401;
//	(c) the owner of another project: 403, with the same answer whether the
//	    target exists or not, and whether the project does;
//	(d) each built-in role of the project, held alone: 403 with a JSON
//	    message unless authzAllowed lets it call the route's class (so a
//	    kms.reader may not change or use keys, a kms.user may not change
//	    them, a kms.admin may not use them, and neither family's roles reach
//	    the other API); on read routes, success for the roles allowed;
//	(f) the owner of another project using the first project's IDs under its
//	    own project: 404, the same answer as for random IDs;
//	and (a)-(d), (f) change nothing in the database; then
//	(e) every role that may call the route, each on a fresh fixture: the
//	    route's success status, and what the case's check expects of the
//	    answer and the stored state.
func TestRouteAuthorization(t *testing.T) {
	for _, k := range apitest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			env := apitest.Start(t, k)
			rs := authzRoutes(t, env)
			routes := rs.cased
			project, other := uuid.NewString(), uuid.NewString()
			callers := map[string]string{} // role -> Authorization of a caller holding only that role
			for _, role := range authzRoles {
				callers[role] = "Bearer " + env.Token(t, project, strings.ReplaceAll(role, ".", "-")+"@p.example.com", role)
			}
			owner := strings.TrimPrefix(callers[iam.RoleOwner], "Bearer ")
			foreign := "Bearer " + env.Token(t, other, "owner@q.example.com", iam.RoleOwner)
			fixtures := map[string]authzFix{}
			for _, key := range routes {
				fixtures[key] = authzPrepare(t, env, project, key)
			}
			foreignOwn := authzKMSFixture(t, env, other)
			sm := authzFixture(t, env, other)
			foreignOwn.Instance, foreignOwn.User, foreignOwn.ACL = sm.Instance, sm.User, sm.ACL
			forged := authzForged(t, env, owner)
			before := env.Dump(t)

			t.Run("denied", func(t *testing.T) {
				// Routes without a case (TestRouteTableMatchesRouter fails for
				// them) still must refuse callers without a valid token.
				for _, key := range rs.uncased {
					method, tmpl, _ := strings.Cut(key, " ")
					t.Run(key, func(t *testing.T) {
						t.Parallel()
						t.Logf("no case in authzCases: checking authentication only")
						url := env.URL + authzURLAny(tmpl, authzRandomIDs(project))
						authzWant401(t, "no token", authzDo(t, method, url, "", ""), "")
						for name, authz := range forged {
							authzWant401(t, name, authzDo(t, method, url, authz, ""), authz)
						}
					})
				}
				for _, key := range routes {
					c, fix := authzCases[key], fixtures[key]
					method, tmpl, _ := strings.Cut(key, " ")
					t.Run(key, func(t *testing.T) {
						t.Parallel()
						url := env.URL + authzURL(t, tmpl, fix.ids)

						// (a) no token
						r := authzDo(t, method, url, "", fix.body)
						authzWant401(t, "no token", r, "")
						bad := authzURL(t, tmpl, authzIDs{Project: "not-a-uuid", Region: "EU 01", Instance: "x", User: "y",
							ACL: "z", Ring: "r", Key: "k", Version: "abc", WrappingKey: "w"})
						r = authzDo(t, method, env.URL+bad, "", `{"name":`)
						authzWant401(t, "no token, bad ids and body", r, "")

						// (b) forged tokens
						for name, authz := range forged {
							r := authzDo(t, method, url, authz, fix.body)
							authzWant401(t, name, r, authz)
						}

						// (c) the owner of another project
						exist := authzDo(t, method, url, foreign, fix.body)
						random := authzDo(t, method, env.URL+authzURL(t, tmpl, authzRandomIDs(project)), foreign, fix.body)
						if exist.Status != http.StatusForbidden {
							t.Errorf("other project's owner on an existing resource: status %d %q, want 403",
								exist.Status, exist.Body)
						}
						if diff := cmp.Diff(authzShapeOf(t, exist, false), authzShapeOf(t, random, false)); diff != "" {
							t.Errorf("other project's owner: answer for an existing resource differs from a random one "+
								"(existence leak) (-existing +random):\n%s", diff)
						}
						randomProject := authzRandomIDs(uuid.NewString())
						r = authzDo(t, method, env.URL+authzURL(t, tmpl, randomProject), foreign, fix.body)
						if diff := cmp.Diff(authzShapeOf(t, exist, true), authzShapeOf(t, r, true)); diff != "" {
							t.Errorf("other project's owner: answer for an existing project differs from a random one "+
								"(-existing +random):\n%s", diff)
						}

						// (d) each role of the project alone
						for _, role := range authzRoles {
							allowed := slices.Contains(authzAllowed[c.class], role)
							if allowed && !c.class.read() {
								continue // (e) calls it, on a fixture of its own
							}
							r := authzDo(t, method, url, callers[role], fix.body)
							switch {
							case !allowed && r.Status != http.StatusForbidden:
								t.Errorf("%s on a %v route: status %d %q, want 403", role, c.class, r.Status, r.Body)
							case !allowed:
								authzErrorMessage(t, r)
							case c.class.read() && r.Status != c.want:
								t.Errorf("%s on a %v route: status %d %q, want %d", role, c.class, r.Status, r.Body, c.want)
							}
						}

						// (f) the first project's IDs used under another project
						elsewhere, unknown := fix.ids, authzRandomIDs(other)
						elsewhere.Project, unknown.Version = other, fix.ids.Version
						switch {
						case strings.Contains(tmpl, ":instanceId"):
							authzSameNotFound(t, method, env.URL, tmpl, foreign, fix.body, "instance of another project",
								elsewhere, unknown)
							if strings.Contains(tmpl, ":userId") || strings.Contains(tmpl, ":aclId") {
								elsewhere.Instance, unknown.Instance = foreignOwn.Instance, foreignOwn.Instance
								authzSameNotFound(t, method, env.URL, tmpl, foreign, fix.body,
									"user/ACL of another project's instance", elsewhere, unknown)
							}
						case strings.Contains(tmpl, ":keyRingId") && c.want != http.StatusNotImplemented:
							authzSameNotFound(t, method, env.URL, tmpl, foreign, fix.body, "key ring of another project",
								elsewhere, unknown)
							if strings.Contains(tmpl, ":keyId") {
								elsewhere.Ring, unknown.Ring = foreignOwn.Ring, foreignOwn.Ring
								authzSameNotFound(t, method, env.URL, tmpl, foreign, fix.body,
									"key of another project, in the caller's key ring", elsewhere, unknown)
							}
						}
					})
				}
			})
			if diff := cmp.Diff(before, env.Dump(t)); diff != "" {
				t.Errorf("refused requests changed the database (-before +after):\n%s", diff)
			}

			// (e) each role that may call the route, on a fresh fixture
			t.Run("allowed", func(t *testing.T) {
				for _, key := range routes {
					c := authzCases[key]
					method, tmpl, _ := strings.Cut(key, " ")
					for _, role := range authzAllowed[c.class] {
						t.Run(key+"/"+role, func(t *testing.T) {
							t.Parallel()
							fix := authzPrepare(t, env, project, key)
							r := authzDo(t, method, env.URL+authzURL(t, tmpl, fix.ids), callers[role], fix.body)
							if r.Status != c.want {
								t.Fatalf("%s: status %d %q, want %d", role, r.Status, r.Body, c.want)
							}
							switch {
							case c.want == http.StatusNoContent && len(r.Body) > 0:
								t.Errorf("%s: 204 with a body %q", role, r.Body)
							case len(r.Body) > 0 && !json.Valid(r.Body):
								t.Errorf("%s: body %q is not JSON", role, r.Body)
							}
							if c.check != nil {
								c.check(t, env, fix.ids, r.Body)
							}
						})
					}
				}
			})
		})
	}
}

// authzWant401 checks a refused-authentication answer: 401, a JSON message
// that does not echo the credentials, and a WWW-Authenticate challenge.
func authzWant401(t *testing.T, what string, r authzResponse, authz string) {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		t.Errorf("%s: status %d %q, want 401", what, r.Status, r.Body)
		return
	}
	msg := authzErrorMessage(t, r)
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s: WWW-Authenticate = %q, want a Bearer challenge", what, r.Header.Get("WWW-Authenticate"))
	}
	if _, tok, ok := strings.Cut(authz, " "); ok && len(tok) > 8 && strings.Contains(msg, strings.TrimSpace(tok)) {
		t.Errorf("%s: the 401 message echoes the token: %q", what, msg)
	}
}

// authzSameNotFound checks that a route called with IDs that exist in
// another project (a) answers 404, as it does for random IDs (b).
func authzSameNotFound(t *testing.T, method, base, tmpl, authz, body, what string, a, b authzIDs) {
	t.Helper()
	ra := authzDo(t, method, base+authzURL(t, tmpl, a), authz, body)
	rb := authzDo(t, method, base+authzURL(t, tmpl, b), authz, body)
	if ra.Status != http.StatusNotFound {
		t.Errorf("%s under the caller's own project: status %d %q, want 404", what, ra.Status, ra.Body)
	}
	if diff := cmp.Diff(authzShapeOf(t, ra, true), authzShapeOf(t, rb, true)); diff != "" {
		t.Errorf("%s: answer differs from random IDs' (existence leak) (-existing +random):\n%s", what, diff)
	}
}

// authzReencodings returns tok with its signature segment spelled
// differently: the same 64 signature bytes, but non-zero unused bits in the
// last base64url character (86 characters carry 516 bits for 512). A
// lenient base64 decoder maps all of them onto the real signature.
func authzReencodings(tok string) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	var out []string
	for d := 1; d < 16; d++ {
		if c := alphabet[(i&^15)|d]; c != tok[len(tok)-1] {
			out = append(out, tok[:len(tok)-1]+string(c))
		}
	}
	return out
}

// TestRouteTokenSignatureEncodingIsStrict checks that only the issued
// spelling of a token is accepted: a token whose signature segment is
// re-encoded (same bytes, non-canonical base64url) must be refused, as
// RFC 7515 requires base64url without non-zero trailing bits and as
// jwt.WithStrictDecoding enforces. Otherwise one issued token has 16
// accepted spellings, which defeats any deny-list or cache keyed by the
// token string.
func TestRouteTokenSignatureEncodingIsStrict(t *testing.T) {
	env := apitest.Start(t, apitest.SQLite)
	project := uuid.NewString()
	tok := env.Token(t, project, "admin@p.example.com", iam.RoleSecretsManagerAdmin)
	url := env.URL + "/v1/projects/" + project + "/instances"
	if r := authzDo(t, http.MethodGet, url, "Bearer "+tok, ""); r.Status != http.StatusOK {
		t.Fatalf("issued token: status %d %q, want 200", r.Status, r.Body)
	}
	accepted := 0
	for _, v := range authzReencodings(tok) {
		if r := authzDo(t, http.MethodGet, url, "Bearer "+v, ""); r.Status != http.StatusUnauthorized {
			accepted++
			t.Logf("re-encoded signature ...%s: status %d, want 401", v[len(v)-6:], r.Status)
		}
	}
	if accepted > 0 {
		t.Errorf("%d re-encodings of an issued token's signature were accepted, want none "+
			"(iam.Tokens.Verify should parse with jwt.WithStrictDecoding())", accepted)
	}
}
