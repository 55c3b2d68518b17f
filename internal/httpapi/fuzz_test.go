package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
)

// The fuzz targets start one API listener (SQLite) per target and process,
// and send every input to it with a valid admin token. Their invariants:
// no input produces a 5xx; every error is a JSON object with a non-empty
// "message"; a refused request changes nothing; an accepted one stores
// exactly what the body says when read with exact member names (what the
// OpenAPI validator checked), and nothing that breaks a validation rule.

// fuzzInstanceName is the instance name rule (instance.validateName).
var fuzzInstanceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

const fuzzKMSAccount = "kms-sa@p.example.com"

// fuzzDecode decodes the first JSON value of body as the request validator
// does (encoding/json with UseNumber: of duplicate names, the last wins), or
// reports that it cannot. The fuzz targets also require an accepted body to
// be exactly one JSON value (json.Valid).
func fuzzDecode(body []byte) (map[string]any, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// fuzzWantError checks an error answer: not 5xx, a JSON message.
func fuzzWantError(t *testing.T, r authzResponse, body []byte) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("body %q: status %d %q, want no 5xx", body, r.Status, r.Body)
	}
	if r.Status < 400 {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("body %q: status %d with Content-Type %q, want application/json", body, r.Status, ct)
	}
	var e map[string]any
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("body %q: status %d with a body that is not a JSON object: %q", body, r.Status, r.Body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("body %q: status %d without a message: %q", body, r.Status, r.Body)
	}
}

func FuzzCreateInstanceBody(f *testing.F) {
	env := apitest.Start(f, apitest.SQLite)
	project := uuid.NewString()
	admin := "Bearer " + env.Token(f, project, "admin@p.example.com", iam.RoleSecretsManagerAdmin)
	env.Token(f, project, fuzzKMSAccount, iam.RoleSecretsManagerReader)

	// A real key of the embedded KMS, so that valid kmsKeys are accepted.
	ctx := context.Background()
	kms := keyservice.Scope{ProjectID: project, RegionID: apitest.Region}
	ring, err := env.KMS.CreateKeyRing(ctx, kms, "fuzz", "")
	if err != nil {
		f.Fatalf("create key ring: %v", err)
	}
	k, err := env.KMS.CreateKey(ctx, kms, ring.ID, keyservice.KeySpec{DisplayName: "fuzz",
		Algorithm: keyring.AES256GCM, Purpose: keyring.AES256GCM.Purpose(), Protection: "software"})
	if err != nil {
		f.Fatalf("create key: %v", err)
	}
	key := func(version string) string {
		return `{"serviceAccountEmail":"` + fuzzKMSAccount + `","keyRingId":"` + ring.ID +
			`","keyId":"` + k.ID + `","keyVersion":` + version + `}`
	}
	for _, s := range []string{
		`{"name":"valid-1"}`,
		`{"name":"with-key","kmsKey":` + key("1") + `}`,
		`{"name":"null-key","kmsKey":null}`,
		`{"name":"v2-key","kmsKey":{"regionId":"eu01","projectId":"` + project + `","serviceAccountEmail":"` +
			fuzzKMSAccount + `","keyRingId":"` + strings.ToUpper(ring.ID) + `","keyId":"` + k.ID + `","keyVersion":1}}`,
		`{"name":"no-version","kmsKey":` + key("2") + `}`,
		`{"name":"other-key","kmsKey":{"serviceAccountEmail":"` + fuzzKMSAccount + `","keyRingId":"` + uuid.NewString() +
			`","keyId":"` + uuid.NewString() + `","keyVersion":1}}`,
		`{"name":"big","kmsKey":` + key("9223372036854775807") + `}`,
		`{"name":"bigger","kmsKey":` + key("9223372036854775808") + `}`,
		`{"name":"huge","kmsKey":` + key("1e308") + `}`,
		`{"name":"frac","kmsKey":` + key("1.0") + `}`,
		`{"name":"ünïcödé"}`,
		`{"name":"\u0041bc"}`,
		`{"name":"` + strings.Repeat("a", 64) + `"}`,
		strings.Repeat("[", 2000) + strings.Repeat("]", 2000),
		strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000),
		`{"name":"first","name":"second"}`,
		`{"name":"ok","name":"-bad"}`,
		`{"NAME":"upper"}`,
		`{"name":"ok","KMSKEY":{"keyVersion":0}}`,
		`{"name":"ok","kmsKey":null,"kmskey":` + key("0") + `}`,
		`{"name":"ok","kmsKey":` + key("1") + `,"kmsKey":null}`,
		`{"name":"ok"} {"name":"trailing"}`,
		`{"name":"ok","kmsKey":{"keyVersion":1,"KeyVersion":0,"keyversion":-1}}`,
		``,
		`null`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzCreateInstance(t, env, admin, project, "v1", env.URL+"/v1/projects/"+project+"/instances", body)
		fuzzCreateInstance(t, env, admin, project, "v2",
			env.URL+"/v2/projects/"+project+"/regions/"+apitest.Region+"/instances", body)
	})
}

func fuzzCreateInstance(t *testing.T, env *apitest.Env, admin, project, form, url string, body []byte) {
	ctx := context.Background()
	sc := instance.Scope{ProjectID: project, RegionID: apitest.Region}
	before, err := env.Store.ListInstances(ctx, project, apitest.Region)
	if err != nil {
		t.Fatal(err)
	}
	r := authzDoCT(t, http.MethodPost, url, admin, string(body), "application/json")
	fuzzWantError(t, r, body)
	if r.Status >= 400 {
		after, err := env.Store.ListInstances(ctx, project, apitest.Region)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("%s body %q: refused with %d, but instances changed (-before +after):\n%s", form, body, r.Status, diff)
		}
		return
	}
	if r.Status != http.StatusCreated {
		t.Fatalf("%s body %q: status %d %q, want 201 or an error", form, body, r.Status, r.Body)
	}
	var got struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("%s body %q: 201 with a bad body %q: %v", form, body, r.Body, err)
	}
	in, err := env.Store.Instance(ctx, project, apitest.Region, got.ID)
	if err != nil {
		t.Fatalf("%s body %q: 201 for instance %s, but the store has no such instance: %v", form, body, got.ID, err)
	}
	t.Cleanup(func() { _ = env.Instances.DeleteInstance(ctx, sc, in.ID) })
	if !fuzzInstanceName.MatchString(in.Name) || in.Name != got.Name {
		t.Fatalf("%s body %q: stored name %q (answered %q) breaks the name rule", form, body, in.Name, got.Name)
	}

	// What was stored must be what the body says, read with exact member names.
	m, ok := fuzzDecode(body)
	if !ok || !json.Valid(body) {
		t.Fatalf("%s body %q is not exactly one JSON object, but was accepted", form, body)
	}
	if name, _ := m["name"].(string); name != in.Name {
		t.Fatalf("%s body %q: stored name %q, but the body's \"name\" is %q", form, body, in.Name, name)
	}
	raw, present := m["kmsKey"]
	if !present || raw == nil {
		if in.KMSKey != nil {
			t.Fatalf("%s body %q has no kmsKey, but %+v was stored", form, body, *in.KMSKey)
		}
		return
	}
	k, _ := raw.(map[string]any)
	want := instance.KMSKey{RegionID: apitest.Region, ProjectID: project}
	if form == "v2" {
		if s, ok := k["regionId"].(string); ok {
			want.RegionID = s
		}
		if s, ok := k["projectId"].(string); ok {
			want.ProjectID = strings.ToLower(s)
		}
	}
	want.ServiceAccountEmail, _ = k["serviceAccountEmail"].(string)
	if s, _ := k["keyRingId"].(string); s != "" {
		want.KeyRingID = strings.ToLower(s)
	}
	if s, _ := k["keyId"].(string); s != "" {
		want.KeyID = strings.ToLower(s)
	}
	if n, ok := k["keyVersion"].(json.Number); ok {
		want.KeyVersion, _ = strconv.ParseInt(n.String(), 10, 64)
	}
	if in.KMSKey == nil {
		t.Fatalf("%s body %q has a kmsKey, but none was stored", form, body)
	}
	if diff := cmp.Diff(want, *in.KMSKey); diff != "" {
		t.Fatalf("%s body %q: stored kmsKey differs from the body's (-body +stored):\n%s", form, body, diff)
	}
	if in.KMSKey.KeyVersion < 1 {
		t.Fatalf("%s body %q: stored kmsKey.keyVersion %d < 1", form, body, in.KMSKey.KeyVersion)
	}
}

func FuzzUpdateACLsBody(f *testing.F) {
	env := apitest.Start(f, apitest.SQLite)
	project := uuid.NewString()
	admin := "Bearer " + env.Token(f, project, "admin@p.example.com", iam.RoleSecretsManagerAdmin)
	ids := authzFixture(f, env, project)

	for _, s := range []string{
		`{"cidrs":[{"cidr":"10.0.0.0/8"}]}`,
		`{"cidrs":[{"cidr":"10.0.0.0/8"},{"cidr":"2001:db8::/32"},{"cidr":"0.0.0.0/0"}]}`,
		`{"cidrs":[]}`,
		`{}`,
		`{"cidrs":null}`,
		`{"cidrs":[{"cidr":"10.0.0.0/33"}]}`,
		`{"cidrs":[{"cidr":"1.1.1.1/32"},{"cidr":"1.1.1.1/32"}]}`,
		`{"cidrs":[{"cidr":"1.0.0.0/8"},{"cidr":"2.0.0.0/8"},{"cidr":"3.0.0.0/8"},{"cidr":"4.0.0.0/8"},{"cidr":"5.0.0.0/8"},{"cidr":"6.0.0.0/8"}]}`,
		`{"cidrs":[{"cidr":"::ffff:10.0.0.0/104"},{"cidr":"fe80::1%eth0/64"}]}`,
		`{"cidrs":[{"cidr":"１０.0.0.0/8"}]}`,
		`{"cidrs":[{"cidr":"10.0.0.0/8","CIDR":"x"}],"CIDRS":[{"cidr":"x"}]}`,
		`{"CIDRS":[{"cidr":"11.0.0.0/8"}]}`,
		`{"cidrs":[{"cidr":"12.0.0.0/8"}],"cidrs":[]}`,
		`{"cidrs":[{"cidr":99999999999999999999999}]}`,
		`{"cidrs":[{"cidr":"10.0.0.0/8"}]} {"cidrs":[]}`,
		strings.Repeat("[", 2000) + strings.Repeat("]", 2000),
		`[{"cidr":"10.0.0.0/8"}]`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzUpdateACLs(t, env, admin, ids.Instance, "v1",
			env.URL+"/v1/projects/"+project+"/instances/"+ids.Instance+"/acls", body)
		fuzzUpdateACLs(t, env, admin, ids.Instance, "v2",
			env.URL+"/v2/projects/"+project+"/regions/"+apitest.Region+"/instances/"+ids.Instance+"/acls", body)
	})
}

func fuzzUpdateACLs(t *testing.T, env *apitest.Env, admin, instanceID, form, url string, body []byte) {
	ctx := context.Background()
	list := func() []string {
		t.Helper()
		as, err := env.Store.ListACLs(ctx, instanceID)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, 0, len(as))
		for _, a := range as {
			out = append(out, a.CIDR)
		}
		return out
	}
	before := list()
	r := authzDoCT(t, http.MethodPut, url, admin, string(body), "application/json")
	fuzzWantError(t, r, body)
	after := list()
	if r.Status >= 400 {
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("%s body %q: refused with %d, but the ACLs changed (-before +after):\n%s", form, body, r.Status, diff)
		}
		return
	}
	if r.Status != http.StatusOK {
		t.Fatalf("%s body %q: status %d %q, want 200 or an error", form, body, r.Status, r.Body)
	}
	for _, c := range after {
		if _, err := netip.ParsePrefix(c); err != nil || len(c) > 64 {
			t.Fatalf("%s body %q: stored ACL %q is not a valid CIDR", form, body, c)
		}
	}
	m, ok := fuzzDecode(body)
	if !ok || !json.Valid(body) {
		t.Fatalf("%s body %q is not exactly one JSON object, but was accepted", form, body)
	}
	want := []string{}
	items, _ := m["cidrs"].([]any)
	for _, it := range items {
		o, _ := it.(map[string]any)
		c, _ := o["cidr"].(string)
		want = append(want, c)
	}
	if diff := cmp.Diff(want, after); diff != "" {
		t.Fatalf("%s body %q: stored ACLs differ from the body's \"cidrs\" (-body +stored):\n%s", form, body, diff)
	}
}

// fuzzHeaderValueSendable reports whether net/http can send v as a header
// value (no control characters but tab) and the server will read it.
func fuzzHeaderValueSendable(v string) bool {
	if len(v) > 16<<10 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// fuzzSameJWT reports whether candidate decodes to the same three JWT
// segments as tok. A re-encoding of the signature segment (see
// TestRouteTokenSignatureEncodingIsStrict) is the same token to this
// check: this target looks for forgeries, not for spellings.
func fuzzSameJWT(candidate, tok string) bool {
	c, t := strings.Split(candidate, "."), strings.Split(tok, ".")
	if len(c) != 3 || len(t) != 3 {
		return false
	}
	for i := range c {
		cb, err1 := base64.RawURLEncoding.DecodeString(c[i])
		tb, err2 := base64.RawURLEncoding.DecodeString(t[i])
		if err1 != nil || err2 != nil || !bytes.Equal(cb, tb) {
			return false
		}
	}
	return true
}

func FuzzBearerHeader(f *testing.F) {
	env := apitest.Start(f, apitest.SQLite)
	project := uuid.NewString()
	tok := env.Token(f, project, "admin@p.example.com", iam.RoleSecretsManagerAdmin)
	url := env.URL + "/v1/projects/" + project + "/instances"

	for _, s := range []string{
		"Bearer " + tok,
		"bearer " + tok,
		"BEARER \t" + tok + " ",
		tok,
		"Bearer " + tok + "x",
		"Bearer " + tok[:len(tok)-1],
		"Bearer " + strings.Replace(tok, ".", "..", 1),
		"Bearer " + strings.ToUpper(tok),
		"Bearer " + tok + " " + tok,
		"Basic " + tok,
		"",
		"Bearer ",
		"Bearer\t" + tok,
		"Bearer " + tok[:strings.LastIndexByte(tok, '.')+1],
	} {
		f.Add(s)
	}
	for _, s := range authzForged(f, env, tok) {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, h string) {
		if !fuzzHeaderValueSendable(h) {
			t.Skip("net/http cannot send this header value")
		}
		r := authzDo(t, http.MethodGet, url, h, "")
		// The server sees the value without surrounding blanks (RFC 9110 OWS).
		scheme, raw, _ := strings.Cut(strings.Trim(h, " \t"), " ")
		candidate := strings.TrimSpace(raw)
		isBearer := strings.EqualFold(scheme, "Bearer")
		switch {
		case r.Status == http.StatusOK:
			if !isBearer || !fuzzSameJWT(candidate, tok) {
				t.Fatalf("Authorization %q was accepted, but it does not carry the issued token", h)
			}
		case isBearer && candidate == tok:
			t.Fatalf("Authorization %q carries the issued token, but got %d %q", h, r.Status, r.Body)
		case r.Status != http.StatusUnauthorized:
			t.Fatalf("Authorization %q: status %d %q, want 401", h, r.Status, r.Body)
		default:
			fuzzWantError(t, r, []byte(h))
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("Authorization %q: 401 without a Bearer challenge", h)
			}
		}
	})
}
