package services_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/services"
)

// seedExample is the seed's "Example configuration" service definition.
const seedExample = `# The name of the service container. Must be unique within a project.
vault-kms:
    type: vault-kms:1.12
    disk: 512
    configuration:
        endpoints:
            manage_keys:
                - policy: admin
                  key: vault-sign
                  type: sign
                - policy: sign
                  key: vault-sign
                  type: sign
                - policy: verify
                  key: vault-sign
                  type: sign
`

// seedMultiple is the seed's "Multiple endpoints configuration".
const seedMultiple = `vault-kms:
    type: vault-kms:1.12
    disk: 512
    configuration:
        endpoints:
            management:
                - policy: admin
                  key: admin-key
                  type: sign
            sign_and_verify:
                - policy: sign
                  key: signing-key
                  type: sign
                - policy: verify
                  key: signing-key
                  type: sign
`

func TestParseSeedShapes(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       *services.File
	}{
		{"seed example", seedExample, &services.File{Service: "vault-kms", Endpoints: []services.Endpoint{
			{ID: "manage_keys", Grants: []services.Grant{
				{Policy: "admin", Key: "vault-sign", Type: "sign", Line: 8},
				{Policy: "sign", Key: "vault-sign", Type: "sign", Line: 11},
				{Policy: "verify", Key: "vault-sign", Type: "sign", Line: 14},
			}},
		}}},
		{"seed multiple endpoints", seedMultiple, &services.File{Service: "vault-kms", Endpoints: []services.Endpoint{
			{ID: "management", Grants: []services.Grant{{Policy: "admin", Key: "admin-key", Type: "sign", Line: 7}}},
			{ID: "sign_and_verify", Grants: []services.Grant{
				{Policy: "sign", Key: "signing-key", Type: "sign", Line: 11},
				{Policy: "verify", Key: "signing-key", Type: "sign", Line: 14},
			}},
		}}},
		{"bare endpoints, sorted by id", `endpoints:
  zeta: [{policy: encrypt, key: data, type: encrypt}]
  alpha:
    - {policy: admin, key: data, type: encrypt}
    - {policy: rewrap, key: data, type: encrypt}
`, &services.File{Service: services.DefaultService, Endpoints: []services.Endpoint{
			{ID: "alpha", Grants: []services.Grant{
				{Policy: "admin", Key: "data", Type: "encrypt", Line: 4},
				{Policy: "rewrap", Key: "data", Type: "encrypt", Line: 5},
			}},
			{ID: "zeta", Grants: []services.Grant{{Policy: "encrypt", Key: "data", Type: "encrypt", Line: 2}}},
		}}},
		{"other services are ignored; the name is the service", `db:
  type: mariadb:10.6
  disk: 1024
kms:
  type: vault-kms
  configuration:
    endpoints:
      e: [{policy: decrypt, key: k, type: encrypt}]
`, &services.File{Service: "kms", Endpoints: []services.Endpoint{
			{ID: "e", Grants: []services.Grant{{Policy: "decrypt", Key: "k", Type: "encrypt", Line: 8}}},
		}}},
		{"no endpoints", "endpoints: {}\n", &services.File{Service: services.DefaultService}},
		{"null endpoints", "endpoints:\n", &services.File{Service: services.DefaultService}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := services.Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenPolicies(t *testing.T) {
	f, err := services.Parse([]byte(seedExample))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"default", "transit-admin-vault-sign", "transit-sign-vault-sign", "transit-verify-vault-sign"}
	if diff := cmp.Diff(want, f.Endpoints[0].TokenPolicies()); diff != "" {
		t.Errorf("TokenPolicies() mismatch (-want +got):\n%s", diff)
	}
	dup := services.Endpoint{ID: "e", Grants: []services.Grant{{Policy: "sign", Key: "k"}, {Policy: "sign", Key: "k"}}}
	if diff := cmp.Diff([]string{"default", "transit-sign-k"}, dup.TokenPolicies()); diff != "" {
		t.Errorf("TokenPolicies() of a repeated line mismatch (-want +got):\n%s", diff)
	}
}

// badLines are services files with one bad line each; every message must
// name the line's endpoint, policy and key.
var badLines = []struct {
	name, yaml            string
	endpoint, policy, key string
	says                  string
	line                  int // of the grant, or of the endpoint when the problem is its own
}{
	{"unknown policy", "endpoints:\n  e1:\n    - {policy: sgn, key: k1, type: sign}\n", "e1", "sgn", "k1", `unknown policy "sgn"`, 3},
	{"unknown type", "endpoints:\n  e1:\n    - {policy: admin, key: k1, type: hmac}\n", "e1", "admin", "k1", `unknown type "hmac"`, 3},
	{"missing key", "endpoints:\n  e1:\n    - {policy: sign, type: sign}\n", "e1", "sign", "", "missing key", 3},
	{"missing policy", "endpoints:\n  e1:\n    - {key: k1, type: sign}\n", "e1", "", "k1", "missing policy", 3},
	{"missing type", "endpoints:\n  e1:\n    - {policy: sign, key: k1}\n", "e1", "sign", "k1", "missing type", 3},
	{"sign on an encrypt key", "endpoints:\n  e1:\n    - {policy: sign, key: k1, type: encrypt}\n", "e1", "sign", "k1",
		"policy sign needs type sign, not encrypt", 3},
	{"verify on an encrypt key", "endpoints:\n  e1:\n    - {policy: verify, key: k1, type: encrypt}\n", "e1", "verify", "k1",
		"policy verify needs type sign", 3},
	{"decrypt on a sign key", "endpoints:\n  e1:\n    - {policy: decrypt, key: k1, type: sign}\n", "e1", "decrypt", "k1",
		"policy decrypt needs type encrypt, not sign", 3},
	{"encrypt on a sign key", "endpoints:\n  e1:\n    - {policy: encrypt, key: k1, type: sign}\n", "e1", "encrypt", "k1",
		"policy encrypt needs type encrypt", 3},
	{"rewrap on a sign key", "endpoints:\n  e1:\n    - {policy: rewrap, key: k1, type: sign}\n", "e1", "rewrap", "k1",
		"policy rewrap needs type encrypt", 3},
	{"one key, two types", "endpoints:\n  e0:\n    - {policy: admin, key: k1, type: sign}\n  e1:\n    - {policy: admin, key: k1, type: encrypt}\n",
		"e1", "admin", "k1", `key k1 has type encrypt here but type sign at endpoint "e0", policy "admin" (line 3)`, 5},
	{"invalid endpoint id", "endpoints:\n  \"bad id\":\n    - {policy: admin, key: k1, type: sign}\n", "bad id", "admin", "k1",
		"invalid endpoint id", 3},
	{"endpoint id starting with a digit", "endpoints:\n  1st:\n    - {policy: admin, key: k1, type: sign}\n", "1st", "admin", "k1",
		"invalid endpoint id", 3},
	{"key with a slash", "endpoints:\n  e1:\n    - {policy: admin, key: a/b, type: sign}\n", "e1", "admin", "a/b", "invalid key name", 3},
	{"key that is a glob", "endpoints:\n  e1:\n    - {policy: admin, key: \"*\", type: sign}\n", "e1", "admin", "*", "invalid key name", 3},
	{"key that is a plus", "endpoints:\n  e1:\n    - {policy: sign, key: \"+\", type: sign}\n", "e1", "sign", "+", "invalid key name", 3},
	{"unknown field", "endpoints:\n  e1:\n    - {policy: sign, key: k1, type: sign, ttl: 1h}\n", "e1", "sign", "k1",
		`unknown field "ttl"`, 3},
	{"field that is a list", "endpoints:\n  e1:\n    - {policy: [sign], key: k1, type: sign}\n", "e1", "", "k1",
		"field policy must be a string", 3},
	{"field given twice", "endpoints:\n  e1:\n    - {policy: sign, key: k1, key: k2, type: sign}\n", "e1", "sign", "k2",
		"field key given twice", 3},
	{"endpoint without policies", "endpoints:\n  e1: []\n", "e1", "", "", "no policies", 2},
	{"null endpoint", "endpoints:\n  e1:\n", "e1", "", "", "no policies", 2},
	{"endpoint that is not a list", "endpoints:\n  e1: {policy: sign, key: k1, type: sign}\n", "e1", "", "", "want a list", 2},
	{"line that is not a mapping", "endpoints:\n  e1:\n    - sign\n", "e1", "", "", "want a mapping", 3},
	{"in a whole services file", seedExample[:strings.Index(seedExample, "                - policy: verify")] +
		"                - policy: verify\n                  key: vault-sign\n                  type: encrypt\n",
		"manage_keys", "verify", "vault-sign", "policy verify needs type sign, not encrypt", 14},
}

func TestParseRejectsBadLines(t *testing.T) {
	for _, tt := range badLines {
		t.Run(tt.name, func(t *testing.T) {
			f, err := services.Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse() = %+v, want an error", f)
			}
			if errs.KindOf(err) != errs.InvalidArgument {
				t.Errorf("Parse() error kind = %v, want %v", errs.KindOf(err), errs.InvalidArgument)
			}
			msg := err.Error()
			for _, want := range []string{
				`endpoint "` + tt.endpoint + `"`, `policy "` + tt.policy + `"`, `key "` + tt.key + `"`, tt.says,
				"(line " + strconv.Itoa(tt.line) + ")",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("Parse() error = %q, want it to contain %q", msg, want)
				}
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := services.Parse([]byte(`endpoints:
  a:
    - {policy: sgn, key: k1, type: sign}
  b:
    - {policy: decrypt, key: k2, type: sign}
`))
	if err == nil {
		t.Fatal("Parse() error = nil")
	}
	for _, want := range []string{`endpoint "a", policy "sgn", key "k1"`, `endpoint "b", policy "decrypt", key "k2"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse() error = %q, want it to contain %q", err, want)
		}
	}
}

func TestParseRejectsBadFiles(t *testing.T) {
	tests := []struct{ name, yaml, says string }{
		{"empty", "", "empty"},
		{"comments only", "# nothing\n", "empty"},
		{"not YAML", "endpoints: [\n", "services file: yaml:"},
		{"a list", "- a\n", "want a mapping"},
		{"no vault-kms service", "db:\n  type: mariadb:10.6\n", "no service of type vault-kms"},
		{"two vault-kms services", "a:\n  type: vault-kms:1.12\nb:\n  type: vault-kms:1.12\n", `services "a" (line 1) and "b" (line 3)`},
		{"no configuration", "kms:\n  type: vault-kms:1.12\n", `service "kms" (line 1): want configuration.endpoints`},
		{"unknown configuration field", "kms:\n  type: vault-kms:1.12\n  configuration:\n    endpoint: {}\n", `unknown configuration field "endpoint"`},
		{"unknown field beside endpoints", "endpoints: {}\nversion: 2\n", `unknown top-level field "version"`},
		{"duplicate endpoint", "endpoints:\n  a: [{policy: admin, key: k, type: sign}]\n  a: [{policy: admin, key: k, type: sign}]\n", "defined twice (first at line 2)"},
		{"duplicate service", "kms:\n  type: vault-kms\nkms:\n  type: vault-kms\n", `service "kms" defined twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := services.Parse([]byte(tt.yaml))
			if err == nil || errs.KindOf(err) != errs.InvalidArgument || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Parse() error = %v, want kind %v containing %q", err, errs.InvalidArgument, tt.says)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(path, []byte(seedExample), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := services.Load(path)
	if err != nil || len(f.Endpoints) != 1 || f.Endpoints[0].ID != "manage_keys" {
		t.Fatalf("Load() = %+v, %v", f, err)
	}
	_, err = services.Load(filepath.Join(dir, "missing.yaml"))
	if errs.KindOf(err) != errs.InvalidArgument || !strings.Contains(err.Error(), "COFFER_TRANSIT_CONFIG") {
		t.Errorf("Load(missing) error = %v, want InvalidArgument naming COFFER_TRANSIT_CONFIG", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("endpoints:\n  e:\n    - {policy: sgn, key: k, type: sign}\n"), 0o600)
	_, err = services.Load(bad)
	if err == nil || !strings.Contains(err.Error(), "COFFER_TRANSIT_CONFIG "+bad) || !strings.Contains(err.Error(), `policy "sgn"`) {
		t.Errorf("Load(bad) error = %v, want the variable, the path and the problem", err)
	}
}

// FuzzParse: no input panics Parse, and what it accepts is fully valid:
// every endpoint id and key is valid, every grant's policy fits its type,
// and every token policy resolves to a valid policy.
func FuzzParse(f *testing.F) {
	for _, s := range []string{seedExample, seedMultiple, "endpoints: {}\n", "endpoints:\n  e: [{policy: admin, key: k, type: sign}]\n"} {
		f.Add([]byte(s))
	}
	for _, tt := range badLines {
		f.Add([]byte(tt.yaml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := services.Parse(data)
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument {
				t.Fatalf("Parse() error kind = %v: %v", errs.KindOf(err), err)
			}
			return
		}
		for _, e := range file.Endpoints {
			if !services.ValidEndpointID(e.ID) || len(e.Grants) == 0 {
				t.Fatalf("Parse() accepted endpoint %q with %d grants", e.ID, len(e.Grants))
			}
			for _, name := range e.TokenPolicies() {
				if name == "default" {
					continue
				}
				p, ok := services.Resolve(name)
				if !ok || p.Validate() != nil {
					t.Fatalf("Parse() accepted a grant whose policy %q does not resolve", name)
				}
			}
			for _, g := range e.Grants {
				if services.KeyTypes[g.Type] == "" {
					t.Fatalf("Parse() accepted type %q", g.Type)
				}
			}
		}
	})
}
