package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyservice"
)

// badInputCase is one request that the owner of the project sends and that
// must be refused without storing anything.
type badInputCase struct {
	name  string
	route string          // a key of authzCases
	ids   func(*authzIDs) // changes the fixture's IDs in the path; nil: the fixture's
	body  string          // badInputValid: the route's valid body for its fixture (authzPrepare)
	ct    string          // Content-Type; "" means application/json
	want  []int           // allowed statuses; nil means 400
	field string          // the message must contain this (the field or parameter)
	rep   bool            // also run on PostgreSQL
	bug   *badInputBug    // a known server bug: skip the case while the server answers bug.status
}

// badInputValid stands for the route's valid body (authzPrepare's).
const badInputValid = "\x00valid"

// badInputKMSAccount in a body is replaced by a service account that the
// kmsKey rule accepts for the case's project.
const badInputKMSAccount = "kms-sa@p.example.com"

const (
	badInputV1Instances = "/v1/projects/:projectId/instances"
	badInputV2Instances = "/v2/projects/:projectId/regions/:regionId/instances"
)

// badInputKMSKey returns a kmsKey JSON object with the valid defaults,
// member k replaced by the raw JSON v ("" removes it).
func badInputKMSKey(k, v string) string {
	m := [][2]string{
		{"serviceAccountEmail", `"` + badInputKMSAccount + `"`},
		{"keyRingId", `"` + uuid.NewString() + `"`},
		{"keyId", `"` + uuid.NewString() + `"`},
		{"keyVersion", `1`},
	}
	var parts []string
	found := false
	for _, kv := range m {
		if kv[0] == k {
			found = true
			if v == "" {
				continue
			}
			kv[1] = v
		}
		parts = append(parts, fmt.Sprintf("%q:%s", kv[0], kv[1]))
	}
	if !found && v != "" {
		parts = append(parts, fmt.Sprintf("%q:%s", k, v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// badInputCases builds the case table: path parameters for every route,
// then bodies for every route that takes one.
func badInputCases() []badInputCase {
	var cases []badInputCase
	routes := make([]string, 0, len(authzCases))
	for key := range authzCases {
		routes = append(routes, key)
	}
	slices.Sort(routes)
	rep := func(route string) bool {
		return slices.Contains([]string{
			"POST " + badInputV1Instances,
			"PUT " + badInputV2Instances + "/:instanceId",
			"PUT /v1/projects/:projectId/instances/:instanceId/acls",
			"POST " + badInputV2Instances + "/:instanceId/users",
			"GET /v2/projects/:projectId/regions/:regionId/instances/:instanceId/acls/:aclId",
		}, route) || slices.Contains(kmsBadInputRep, route)
	}

	// Path parameters, with an otherwise valid request.
	for _, route := range routes {
		_, tmpl, _ := strings.Cut(route, " ")
		add := func(name, field string, ids func(*authzIDs)) {
			cases = append(cases, badInputCase{name: name, route: route, ids: ids, body: badInputValid,
				field: field, rep: rep(route), bug: kmsBadInputBug(route, name)})
		}
		add("projectId not a UUID", "projectId", func(i *authzIDs) { i.Project = "not-a-uuid" })
		add("projectId UUID with junk", "projectId", func(i *authzIDs) { i.Project += "0" })
		if strings.Contains(tmpl, ":regionId") {
			add("unknown region", "regionId", func(i *authzIDs) { i.Region = "eu99" })
			add("region with bad characters", "regionId", func(i *authzIDs) { i.Region = "EU01" })
			add("region too long", "regionId", func(i *authzIDs) { i.Region = strings.Repeat("e", 33) })
		}
		if strings.Contains(tmpl, ":instanceId") {
			add("instanceId not a UUID", "instanceId", func(i *authzIDs) { i.Instance = "12345" })
			add("instanceId with quote", "instanceId", func(i *authzIDs) { i.Instance = "1'or'1'='1" })
		}
		if strings.Contains(tmpl, ":userId") {
			add("userId not a UUID", "userId", func(i *authzIDs) { i.User = "nope" })
		}
		if strings.Contains(tmpl, ":aclId") {
			add("aclId not a UUID", "aclId", func(i *authzIDs) { i.ACL = "nope" })
		}
		kmsBadInputPathCases(route, add)
	}

	// Bodies, per kind of payload.
	long := func(n int) string { return strings.Repeat("a", n) }
	type bodyCase struct {
		name, body, field string
		rep               bool
	}
	common := []bodyCase{
		{"malformed JSON", `{"name":`, "body", true},
		{"truncated JSON", `{"cidr":"10.0.0.0/8","write":true`, "body", false},
		{"array instead of object", `[]`, "body", true},
		{"array of objects", `[{"name":"x","cidr":"10.0.0.0/8"}]`, "body", false},
		{"null", `null`, "body", false},
		{"string", `"x"`, "body", false},
		{"empty body", "", "body", true},
		{"two JSON values", `{"name":"a","cidr":"10.0.0.0/8","write":true,"description":"d"} {}`, "body", false},
	}
	instanceBodies := []bodyCase{
		{"name wrong type", `{"name":5}`, "name", true},
		{"name null", `{"name":null}`, "name", false},
		{"name missing", `{}`, "name", true},
		{"name empty", `{"name":""}`, "name", false},
		{"name with space", `{"name":"a b"}`, "name", false},
		{"name starting with dash", `{"name":"-x"}`, "name", true},
		{"name with slash", `{"name":"a/b"}`, "name", false},
		{"name non-ASCII", `{"name":"naïve"}`, "name", false},
		{"name with NUL", `{"name":"a\u0000b"}`, "name", false},
		{"name 65 characters", `{"name":"` + long(65) + `"}`, "name", true},
		{"kmsKey wrong type", `{"name":"ok","kmsKey":"x"}`, "kmsKey", false},
		{"kmsKey empty object", `{"name":"ok","kmsKey":{}}`, "kmsKey", false},
		{"kmsKey.keyVersion string", `{"name":"ok","kmsKey":` + badInputKMSKey("keyVersion", `"1"`) + `}`, "kmsKey.keyVersion", true},
		{"kmsKey.keyVersion 0", `{"name":"ok","kmsKey":` + badInputKMSKey("keyVersion", `0`) + `}`, "kmsKey.keyVersion", true},
		{"kmsKey.keyVersion negative", `{"name":"ok","kmsKey":` + badInputKMSKey("keyVersion", `-1`) + `}`, "kmsKey.keyVersion", false},
		{"kmsKey.keyVersion fraction", `{"name":"ok","kmsKey":` + badInputKMSKey("keyVersion", `1.5`) + `}`, "kmsKey.keyVersion", false},
		{"kmsKey.keyVersion past int64", `{"name":"ok","kmsKey":` + badInputKMSKey("keyVersion", `9223372036854775808`) + `}`, "kmsKey.keyVersion", true},
		{"kmsKey.keyVersion 1.0", `{"name":"ok","kmsKey":` + badInputKMSKey("keyVersion", `1.0`) + `}`, "kmsKey.keyVersion", false},
		{"kmsKey.keyVersion 1e30", `{"name":"ok","kmsKey":` + badInputKMSKey("keyVersion", `1e30`) + `}`, "kmsKey.keyVersion", false},
		{"kmsKey.keyVersion missing", `{"name":"ok","kmsKey":` + badInputKMSKey("keyVersion", ``) + `}`, "keyVersion", false},
		{"kmsKey.keyId not a UUID", `{"name":"ok","kmsKey":` + badInputKMSKey("keyId", `"k1"`) + `}`, "kmsKey.keyId", false},
		{"kmsKey.keyRingId missing", `{"name":"ok","kmsKey":` + badInputKMSKey("keyRingId", ``) + `}`, "keyRingId", false},
		{"kmsKey.serviceAccountEmail bad", `{"name":"ok","kmsKey":` + badInputKMSKey("serviceAccountEmail", `"not an email"`) + `}`, "kmsKey.serviceAccountEmail", true},
		{"kmsKey.serviceAccountEmail empty", `{"name":"ok","kmsKey":` + badInputKMSKey("serviceAccountEmail", `""`) + `}`, "kmsKey.serviceAccountEmail", false},
		{"kmsKey.serviceAccountEmail too long", `{"name":"ok","kmsKey":` + badInputKMSKey("serviceAccountEmail", `"`+long(250)+`@x.example"`) + `}`, "kmsKey.serviceAccountEmail", false},
	}
	instanceBodiesV2 := []bodyCase{
		{"kmsKey.regionId unknown", `{"name":"ok","kmsKey":` + badInputKMSKey("regionId", `"eu99"`) + `}`, "kmsKey.regionId", true},
		{"kmsKey.regionId bad characters", `{"name":"ok","kmsKey":` + badInputKMSKey("regionId", `"EU 01"`) + `}`, "kmsKey.regionId", false},
		{"kmsKey.projectId not a UUID", `{"name":"ok","kmsKey":` + badInputKMSKey("projectId", `"p1"`) + `}`, "kmsKey.projectId", false},
	}
	createUserBodies := []bodyCase{
		{"write wrong type", `{"write":"yes","description":"d"}`, "write", true},
		{"write missing", `{"description":"d"}`, "write", false},
		{"description missing", `{"write":true}`, "description", false},
		{"description wrong type", `{"write":true,"description":5}`, "description", false},
		{"description 256 characters", `{"write":true,"description":"` + long(256) + `"}`, "description", true},
		{"description 256 runes", `{"write":true,"description":"` + strings.Repeat("é", 256) + `"}`, "description", false},
	}
	updateUserBodies := []bodyCase{
		{"write wrong type", `{"write":"yes"}`, "write", true},
		{"write null", `{"write":null}`, "write", false},
		{"description wrong type", `{"description":false}`, "description", false},
		{"description 256 characters", `{"description":"` + long(256) + `"}`, "description", true},
	}
	var aclBodies []bodyCase
	aclBodies = append(aclBodies,
		bodyCase{"cidr wrong type", `{"cidr":12}`, "cidr", true},
		bodyCase{"cidr missing", `{}`, "cidr", false},
		bodyCase{"cidr null", `{"cidr":null}`, "cidr", false},
		bodyCase{"cidr 65 characters", `{"cidr":"` + long(65) + `"}`, "cidr", false},
	)
	var aclsBodies []bodyCase
	aclsBodies = append(aclsBodies,
		bodyCase{"cidrs wrong type", `{"cidrs":"x"}`, "cidrs", true},
		bodyCase{"cidrs of strings", `{"cidrs":["10.0.0.0/8"]}`, "cidrs", false},
		bodyCase{"cidrs item cidr wrong type", `{"cidrs":[{"cidr":12}]}`, "cidrs", false},
		bodyCase{"cidrs item without cidr", `{"cidrs":[{}]}`, "cidrs", false},
		bodyCase{"cidrs 1001 items", `{"cidrs":[` + strings.TrimSuffix(strings.Repeat(`{"cidr":"10.0.0.0/8"},`, 1001), ",") + `]}`, "cidrs", true},
	)
	for _, c := range []string{"10.0.0.0/33", "300.1.1.1/8", "10.0.0.1", "", "fe80::/129", "10.0.0.0/8 ", "10.0.0.0/-1", "::/", "10.0.0.0/8/8"} {
		aclBodies = append(aclBodies, bodyCase{fmt.Sprintf("cidr %q", c), fmt.Sprintf(`{"cidr":%q}`, c), "cidr", c == "10.0.0.0/33"})
		aclsBodies = append(aclsBodies, bodyCase{fmt.Sprintf("cidrs item %q", c),
			fmt.Sprintf(`{"cidrs":[{"cidr":"10.9.0.0/16"},{"cidr":%q}]}`, c), "cidrs", c == "fe80::/129"})
	}

	smBodies := map[string][]bodyCase{
		"POST " + badInputV1Instances:                               instanceBodies,
		"PUT " + badInputV1Instances + "/:instanceId":               instanceBodies,
		"POST " + badInputV2Instances:                               append(slices.Clone(instanceBodies), instanceBodiesV2...),
		"PUT " + badInputV2Instances + "/:instanceId":               append(slices.Clone(instanceBodies), instanceBodiesV2...),
		"POST " + badInputV1Instances + "/:instanceId/users":        createUserBodies,
		"POST " + badInputV2Instances + "/:instanceId/users":        createUserBodies,
		"PUT " + badInputV1Instances + "/:instanceId/users/:userId": updateUserBodies,
		"PUT " + badInputV2Instances + "/:instanceId/users/:userId": updateUserBodies,
		"POST " + badInputV1Instances + "/:instanceId/acls":         aclBodies,
		"POST " + badInputV2Instances + "/:instanceId/acls":         aclBodies,
		"PUT " + badInputV1Instances + "/:instanceId/acls/:aclId":   aclBodies,
		"PUT " + badInputV2Instances + "/:instanceId/acls/:aclId":   aclBodies,
		"PUT " + badInputV1Instances + "/:instanceId/acls":          aclsBodies,
		"PUT " + badInputV2Instances + "/:instanceId/acls":          aclsBodies,
	}
	bodies := kmsBadInputBodies()
	for route, bs := range smBodies {
		for _, b := range bs {
			bodies[route] = append(bodies[route], badInputBody{name: b.name, body: b.body, field: b.field, rep: b.rep})
		}
	}
	for _, route := range routes {
		if authzCases[route].body == "" {
			continue
		}
		bs, ok := bodies[route]
		if !ok {
			panic("badinput_test.go: no body cases for " + route + ": add them to badInputCases " +
				"(KMS routes: kmsBadInputBodies, kms_badinput_test.go)")
		}
		var all []badInputBody
		for _, b := range common {
			all = append(all, badInputBody{name: b.name, body: b.body, field: b.field, rep: b.rep})
		}
		for _, b := range append(all, bs...) {
			cases = append(cases, badInputCase{name: b.name, route: route, body: b.body, field: b.field,
				want: b.want, rep: b.rep && rep(route)})
		}
		cases = append(cases,
			badInputCase{name: "Content-Type text/plain", route: route, body: badInputValid, ct: "text/plain",
				want: []int{http.StatusBadRequest, http.StatusUnsupportedMediaType}, field: "Content-Type", rep: rep(route)},
			badInputCase{name: "Content-Type form", route: route, body: badInputValid,
				ct:   "application/x-www-form-urlencoded",
				want: []int{http.StatusBadRequest, http.StatusUnsupportedMediaType}, field: "Content-Type"},
			badInputCase{name: "body over 64 KiB", route: route,
				body: `{"name":"big","cidr":"10.0.0.0/8","write":true,"description":"d","pad":"` + strings.Repeat("A", 70<<10) + `"}`,
				want: []int{http.StatusRequestEntityTooLarge}, field: "too large", rep: rep(route)},
		)
	}
	return cases
}

// badInputSnapshot is what a refused request must leave unchanged: the
// project's instances with their users and ACLs, read through the store,
// and its key rings with their keys and versions, read through the
// embedded KMS.
type badInputSnapshot struct {
	Instances []*instance.Instance
	Users     map[string][]*instance.User
	ACLs      map[string][]*instance.ACL
	KeyRings  []*keyservice.KeyRing
	Keys      map[string][]*keyservice.Key
	Versions  map[string][]*keyservice.Version
}

func badInputSnap(t *testing.T, env *apitest.Env, project string) badInputSnapshot {
	t.Helper()
	ctx := context.Background()
	ins, err := env.Store.ListInstances(ctx, project, apitest.Region)
	if err != nil {
		t.Fatalf("list instances: %v", err)
	}
	s := badInputSnapshot{Instances: ins, Users: map[string][]*instance.User{}, ACLs: map[string][]*instance.ACL{}}
	for _, in := range ins {
		if s.Users[in.ID], err = env.Store.ListUsers(ctx, in.ID); err != nil {
			t.Fatalf("list users: %v", err)
		}
		if s.ACLs[in.ID], err = env.Store.ListACLs(ctx, in.ID); err != nil {
			t.Fatalf("list ACLs: %v", err)
		}
	}
	sc := keyservice.Scope{ProjectID: project, RegionID: apitest.Region}
	if s.KeyRings, err = env.KMS.ListKeyRings(ctx, sc); err != nil {
		t.Fatalf("list key rings: %v", err)
	}
	s.Keys, s.Versions = map[string][]*keyservice.Key{}, map[string][]*keyservice.Version{}
	for _, kr := range s.KeyRings {
		if s.Keys[kr.ID], err = env.KMS.ListKeys(ctx, sc, kr.ID); err != nil {
			t.Fatalf("list keys: %v", err)
		}
		for _, k := range s.Keys[kr.ID] {
			if s.Versions[k.ID], err = env.KMS.ListVersions(ctx, sc, kr.ID, k.ID); err != nil {
				t.Fatalf("list versions: %v", err)
			}
		}
	}
	return s
}

// TestBadInputIsRejected sends every malformed request the owner of a
// project could send to the control plane (Secrets Manager and KMS) and
// checks that each is refused with a JSON 400 (413, 415) whose message
// names the offending field or parameter, and that nothing is stored. All
// cases run on SQLite, a representative subset on PostgreSQL.
//
// Each case gets a project of its own with a fresh fixture, so that its
// before/after comparison sees only its own request, and a request that is
// wrongly accepted cannot spoil another case. The whole database is also
// compared before and after all cases.
func TestBadInputIsRejected(t *testing.T) {
	all := badInputCases()
	for _, k := range apitest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			env := apitest.Start(t, k)
			ctx := context.Background()
			type prepared struct {
				c   badInputCase
				fix authzFix
			}
			var run []prepared
			for i, c := range all {
				if k != apitest.SQLite && !c.rep {
					continue
				}
				project := uuid.NewString()
				if _, err := env.IAM.Grant(ctx, project, "owner@p.example.com", iam.RoleOwner); err != nil {
					t.Fatal(err)
				}
				// A service account of the project that the kmsKey rule accepts,
				// so that a kmsKey case fails for its own defect only.
				if strings.Contains(c.body, badInputKMSAccount) {
					sa := fmt.Sprintf("kms-sa-%d@p.example.com", i)
					if _, err := env.IAM.Grant(ctx, project, sa, iam.RoleSecretsManagerReader); err != nil {
						t.Fatal(err)
					}
					c.body = strings.ReplaceAll(c.body, badInputKMSAccount, sa)
				}
				run = append(run, prepared{c, authzPrepare(t, env, project, c.route)})
			}
			owner := "Bearer " + env.Token(t, run[0].fix.ids.Project, "owner@p.example.com")
			dump := env.Dump(t)
			t.Run("cases", func(t *testing.T) {
				for _, p := range run {
					t.Run(p.c.route+"/"+p.c.name, func(t *testing.T) {
						t.Parallel()
						badInputRun(t, env, owner, p.fix, p.c)
					})
				}
			})
			t.Logf("%d cases on %s", len(run), k)
			if diff := cmp.Diff(dump, env.Dump(t)); diff != "" {
				t.Errorf("refused requests changed the database (-before +after):\n%s", diff)
			}
		})
	}
}

func badInputRun(t *testing.T, env *apitest.Env, owner string, fix authzFix, c badInputCase) {
	method, tmpl, _ := strings.Cut(c.route, " ")
	ids, fixture := fix.ids, fix.ids
	if c.ids != nil {
		c.ids(&ids)
	}
	body := c.body
	if body == badInputValid {
		body = fix.body
	}
	ct := c.ct
	if ct == "" {
		ct = "application/json"
	}
	want := c.want
	if want == nil {
		want = []int{http.StatusBadRequest}
	}
	before := badInputSnap(t, env, fixture.Project)
	r := authzDoCT(t, method, env.URL+authzURL(t, tmpl, ids), owner, body, ct)
	if c.bug != nil && r.Status == c.bug.status {
		if diff := cmp.Diff(before, badInputSnap(t, env, fixture.Project)); diff != "" {
			t.Errorf("the refused request changed the store (-before +after):\n%s", diff)
		}
		t.Skipf("KNOWN BUG, status %d %q: %s", r.Status, badInputShort(r.Body), c.bug.note)
	}
	if !slices.Contains(want, r.Status) {
		t.Errorf("status %d %q, want one of %v", r.Status, badInputShort(r.Body), want)
	}
	msg := authzErrorMessage(t, r)
	if !strings.Contains(msg, c.field) {
		t.Errorf("message %q does not name %q", badInputShort([]byte(msg)), c.field)
	}
	for _, internal := range []string{"Go struct", "json: ", "unmarshal", "runtime error"} {
		if strings.Contains(msg, internal) {
			t.Errorf("message %q exposes Go implementation details (%q); want the house form "+
				"`request body field \"...\": reason`", msg, internal)
			break
		}
	}
	if len(msg) > 512 {
		t.Errorf("message is %d bytes long; it should name the problem, not echo the input", len(msg))
	}
	if diff := cmp.Diff(before, badInputSnap(t, env, fixture.Project)); diff != "" {
		t.Errorf("the refused request changed the store (-before +after):\n%s", diff)
	}
}

func badInputShort(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// TestBadInputDeepNestingIsCheap sends bodies of deeply nested arrays (8 KB,
// under every size limit and under encoding/json's depth limit) that
// fail schema validation. Refusing one must cost about what reading it
// costs. The OpenAPI validator's error text embeds the offending value as
// indented JSON, whose size grows with the square of the depth: without
// openapi3.DisableSchemaErrorDetails() a 20 KB body (depth 10000) made the
// server allocate ~7 GiB and spend seconds of CPU. Validation runs before authorization, so any
// token holder could send it; the caller here holds no role on the project.
func TestBadInputDeepNestingIsCheap(t *testing.T) {
	env := apitest.Start(t, apitest.SQLite)
	project := uuid.NewString()
	stranger := "Bearer " + env.Token(t, uuid.NewString(), "stranger@q.example.com", iam.RoleSecretsManagerReader)
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	// encoding/json (and strictJSON) accept up to 10000 levels; 4000 keep
	// the test quick while the bug lasts and still cost ~1 GiB with it.
	const depth = 4000
	const budget = 256 << 20
	for _, c := range []struct{ name, path, body string }{
		{"body is an array", "/v1/projects/" + project + "/instances", nest(depth)},
		{"name is an array", "/v1/projects/" + project + "/instances", `{"name":` + nest(depth-1) + `}`},
		{"cidrs item is an array", "/v2/projects/" + project + "/regions/eu01/instances/" + uuid.NewString() + "/acls",
			`{"cidrs":[` + nest(depth-2) + `]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			method := http.MethodPost
			if strings.HasSuffix(c.path, "/acls") {
				method = http.MethodPut
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := authzDoCT(t, method, env.URL+c.path, stranger, c.body, "application/json")
			runtime.ReadMemStats(&after)
			if r.Status != http.StatusBadRequest && r.Status != http.StatusForbidden {
				t.Errorf("status %d %q, want 400 (or 403)", r.Status, badInputShort(r.Body))
			}
			authzErrorMessage(t, r)
			if n := after.TotalAlloc - before.TotalAlloc; n > budget {
				t.Errorf("refusing a %d-byte body allocated %d MiB, want at most %d MiB "+
					"(the validator's error text dumps the value as indented JSON: "+
					"add openapi3.DisableSchemaErrorDetails() to the validator's SchemaValidationOptions)",
					len(c.body), n>>20, budget>>20)
			}
		})
	}
}
