package httpapi_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	sm "github.com/stackitcloud/stackit-sdk-go/services/secretsmanager/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
)

// leakForms returns the ways b could show up in a dump: as is, in either
// case, and hex- or base64-encoded (Postgres dumps bytea as \x<hex>).
func leakForms(b []byte) map[string]string {
	return map[string]string{
		"raw":          string(b),
		"lower":        strings.ToLower(string(b)),
		"upper":        strings.ToUpper(string(b)),
		"hex":          hex.EncodeToString(b),
		"HEX":          strings.ToUpper(hex.EncodeToString(b)),
		"base64":       base64.StdEncoding.EncodeToString(b),
		"base64url":    base64.RawURLEncoding.EncodeToString(b),
		"base64nopad":  base64.RawStdEncoding.EncodeToString(b),
		"base64urlpad": base64.URLEncoding.EncodeToString(b),
	}
}

// countForms returns how often b occurs in dump, in any of its forms.
func countForms(dump string, b []byte) int {
	seen := map[string]bool{}
	n := 0
	for _, f := range leakForms(b) {
		if !seen[f] {
			seen[f] = true
			n += strings.Count(dump, f)
		}
	}
	return n
}

// jwksPublicKey returns the server's only JWT signing public key.
func jwksPublicKey(t *testing.T, env *apitest.Env) []byte {
	t.Helper()
	res, err := http.Get(env.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set struct{ Keys []iam.JWK }
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS = %+v (%v), want one key", set, err)
	}
	pub, err := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	if err != nil || len(pub) != 32 {
		t.Fatalf("JWKS x = %q (%v), want a 32-byte Ed25519 key", set.Keys[0].X, err)
	}
	return pub
}

// TestDumpHoldsNoSecrets checks that after ordinary use the database holds
// no generated password, no bearer token and no private signing key, in any
// encoding.
func TestDumpHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p, q := newSDKProject(t, env), newSDKProject(t, env)
		readerTok := env.Token(t, p.id, "reader-"+p.id[:8]+"@example.com", iam.RoleSecretsManagerReader)
		tokens := map[string]string{"owner token p": p.token, "owner token q": q.token, "reader token": readerTok}
		secrets := map[string][]byte{}
		for name, tok := range tokens {
			parts := strings.Split(tok, ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[len(parts)-1])
			if len(parts) != 3 || err != nil {
				t.Fatalf("%s is not a JWT: %v", name, err)
			}
			secrets[name] = []byte(tok)
			secrets[name+" signature"] = sig
		}
		var public []string // values the dump must contain: proof that it covers the tables
		var gone []string   // values of deleted users and instances

		insts := []*sm.Instance{p.createInstance(t, "plain", nil), p.createInstance(t, "keyed", p.key(seedKeyA, 1))}
		for _, in := range insts {
			for i, write := range []bool{false, true, false} {
				u := p.createUser(t, in.Id, "user", write)
				secrets["password of "+u.Username] = []byte(u.Password)
				if i == 2 {
					if err := p.api.DeleteUser(t.Context(), p.id, in.Id, u.Id).Execute(); err != nil {
						t.Fatalf("DeleteUser: %v", err)
					}
					gone = append(gone, u.Id, u.Username)
					continue
				}
				public = append(public, u.Id, u.Username)
			}
			public = append(public, in.Id, p.createACL(t, in.Id, "10.0.0.0/8").Id)
		}
		// A deleted instance takes its users and ACLs with it.
		doomed := p.createInstance(t, "doomed", nil)
		du := p.createUser(t, doomed.Id, "doomed user", true)
		secrets["password of "+du.Username] = []byte(du.Password)
		gone = append(gone, doomed.Id, du.Id, du.Username, p.createACL(t, doomed.Id, "192.0.2.0/24").Id)
		if err := p.api.DeleteInstance(t.Context(), p.id, doomed.Id).Execute(); err != nil {
			t.Fatalf("DeleteInstance: %v", err)
		}
		qi := q.createInstance(t, "q", nil)
		u := q.createUser(t, qi.Id, "q user", true)
		secrets["password in q"] = []byte(u.Password)
		public = append(public, qi.Id, u.Username, p.kmsSA, q.kmsSA)
		// Every token is used, so that it passes through authentication.
		if _, err := sdkAPI(t, env, readerTok).ListUsers(t.Context(), p.id, insts[0].Id).Execute(); err != nil {
			t.Fatalf("ListUsers with the reader token: %v", err)
		}

		dump := env.Dump(t)
		for _, s := range public {
			if !strings.Contains(dump, s) {
				t.Fatalf("dump lacks %q: it does not cover every table", s)
			}
		}
		if n := strings.Count("\n"+dump, "\ninstance_users:"); n != 5 {
			t.Fatalf("dump has %d instance_users rows, want the 5 live users", n)
		}
		for _, s := range gone {
			if strings.Contains(dump, s) {
				t.Errorf("dump still holds %q of a deleted user or instance", s)
			}
		}
		for name, s := range secrets {
			for form, v := range leakForms(s) {
				if strings.Contains(dump, v) {
					t.Errorf("dump contains the %s (%s form)", name, form)
				}
			}
		}
		for _, pem := range []string{"PRIVATE KEY", "-----BEGIN"} {
			if strings.Contains(dump, pem) {
				t.Errorf("dump contains %q", pem)
			}
		}
		// An Ed25519 private key is seed || public key: stored in any of these
		// forms, it would repeat the public key, which must appear exactly
		// once (in the public_key column).
		if n := countForms(dump, jwksPublicKey(t, env)); n != 1 {
			t.Errorf("the JWT public key occurs %d times in the dump, want exactly 1", n)
		}
	})
}
