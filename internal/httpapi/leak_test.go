package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	sm "github.com/stackitcloud/stackit-sdk-go/services/secretsmanager/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyservice"
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

// storedInstance is the instance as the store holds it, wrapped keyring included.
func storedInstance(t *testing.T, env *apitest.Env, project, id string) *instance.Instance {
	t.Helper()
	in, err := env.Store.Instance(t.Context(), project, apitest.Region, id)
	if err != nil {
		t.Fatalf("store: instance %s: %v", id, err)
	}
	return in
}

// instanceDEKs unwraps in's data keyring through the embedded KMS and
// returns its data keys. It knows the envelope's format (package envelope:
// 'k' || KMS ciphertext of 0x01 || 32-byte DEKs, with the AAD
// "coffer/instance/<id>/keyring"); a change there must be mirrored here.
func instanceDEKs(t *testing.T, env *apitest.Env, in *instance.Instance) [][]byte {
	t.Helper()
	k, w := in.KMSKey, in.WrappedKeyring
	if k == nil || len(w) < 2 || w[0] != 'k' {
		t.Fatalf("instance %s: kmsKey %+v, wrapped keyring %x: want a keyring wrapped under the kmsKey", in.ID, k, w)
	}
	ref := keyservice.Ref{Scope: keyservice.Scope{ProjectID: k.ProjectID, RegionID: k.RegionID}, KeyRingID: k.KeyRingID,
		KeyID: k.KeyID, Number: k.KeyVersion}
	plain, err := env.KMS.Decrypt(t.Context(), ref, w[1:], []byte("coffer/instance/"+in.ID+"/keyring"))
	if err != nil {
		t.Fatalf("unwrap the keyring of instance %s with its kmsKey (has the envelope format changed?): %v", in.ID, err)
	}
	if len(plain) < 33 || plain[0] != 1 || (len(plain)-1)%32 != 0 {
		t.Fatalf("instance %s: keyring of %d bytes, want 0x01 and 32-byte keys", in.ID, len(plain))
	}
	var deks [][]byte
	for off := 1; off < len(plain); off += 32 {
		deks = append(deks, plain[off:off+32])
	}
	return deks
}

// TestDumpHoldsNoSecrets checks that after ordinary use the database holds
// no generated password, no bearer token, no private signing key, no
// plaintext that went through the KMS and no unwrapped data key, in any
// encoding; and that every instance's wrapped keyring is stored once, with
// nothing of it shared with another instance.
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

		insts := []*sm.Instance{p.createInstance(t, "plain", nil), p.createInstance(t, "keyed", p.key(p.keys.KeyA, 1))}
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
		// More keyrings: one under key B v2, one switched from key A to key B
		// and one whose key was removed (both rewrapped).
		keyedB := p.createInstance(t, "keyed-b", p.key(p.keys.KeyB, 2))
		switched := p.createInstance(t, "switched", p.key(p.keys.KeyA, 1))
		unkeyed := p.createInstance(t, "unkeyed", p.key(p.keys.KeyB, 1))
		switchedBefore := storedInstance(t, env, p.id, switched.Id)
		for _, u := range []struct {
			in  *sm.Instance
			key *sm.KmsKeyPayload
		}{{switched, p.key(p.keys.KeyB, 2)}, {unkeyed, nil}} {
			err := p.api.UpdateInstance(t.Context(), p.id, u.in.Id).
				UpdateInstancePayload(sm.UpdateInstancePayload{Name: u.in.Name, KmsKey: u.key}).Execute()
			if err != nil {
				t.Fatalf("UpdateInstance(%s): %v", u.in.Name, err)
			}
		}
		public = append(public, keyedB.Id, switched.Id, unkeyed.Id, p.keys.Ring, p.keys.KeyA, p.keys.KeyB, p.keys.SignKey)

		// Plaintext that went through the KMS is not kept.
		canary := []byte("coffer-kms-canary-" + uuid.NewString())
		ref := keyservice.Ref{Scope: kmsScope(p.id), KeyRingID: p.keys.Ring, KeyID: p.keys.KeyA, Number: 1}
		ct, err := env.KMS.Encrypt(t.Context(), ref, canary, nil)
		if err != nil {
			t.Fatalf("KMS Encrypt: %v", err)
		}
		if pt, err := env.KMS.Decrypt(t.Context(), ref, ct, nil); err != nil || !bytes.Equal(pt, canary) {
			t.Fatalf("KMS Decrypt = %q, %v; want the canary", pt, err)
		}
		secrets["KMS canary plaintext"] = canary

		// A deleted instance takes its users, ACLs and keyring with it.
		doomed := p.createInstance(t, "doomed", p.key(p.keys.KeyA, 1))
		doomedKeys := storedInstance(t, env, p.id, doomed.Id)
		du := p.createUser(t, doomed.Id, "doomed user", true)
		secrets["password of "+du.Username] = []byte(du.Password)
		gone = append(gone, doomed.Id, du.Id, du.Username, p.createACL(t, doomed.Id, "192.0.2.0/24").Id)
		if err := p.api.DeleteInstance(t.Context(), p.id, doomed.Id).Execute(); err != nil {
			t.Fatalf("DeleteInstance: %v", err)
		}
		qi := q.createInstance(t, "q", q.key(q.keys.KeyA, 1))
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
		// The only PEM is the public key of each signing key's version.
		if n := strings.Count(dump, "PRIVATE KEY"); n != 0 {
			t.Errorf("dump contains %d times \"PRIVATE KEY\"", n)
		}
		if n, pub := strings.Count(dump, "-----BEGIN"), strings.Count(dump, "-----BEGIN PUBLIC KEY-----"); n != pub || pub != 2 {
			t.Errorf("dump has %d PEM blocks, %d of them public keys; want only the 2 signing keys' public keys", n, pub)
		}
		// An Ed25519 private key is seed || public key: stored in any of these
		// forms, it would repeat the public key, which must appear exactly
		// once (in the public_key column).
		if n := countForms(dump, jwksPublicKey(t, env)); n != 1 {
			t.Errorf("the JWT public key occurs %d times in the dump, want exactly 1", n)
		}

		// Keyrings: each live instance's wrapped keyring and fallback key are
		// stored exactly once, and no 32 bytes of them occur anywhere else:
		// not in another instance's row (keyrings differ) nor in any other
		// table. The data keys themselves occur nowhere.
		for what, v := range map[string][]byte{"keyring": doomedKeys.WrappedKeyring, "fallback key": doomedKeys.WrappedFallbackKey} {
			if n := countForms(dump, v); n != 0 {
				t.Errorf("dump still holds the wrapped %s of the deleted instance (%d times)", what, n)
			}
		}
		live := map[string]string{} // instance ID -> name
		for _, in := range append(insts, keyedB, switched, unkeyed) {
			live[in.Id] = in.Name
		}
		deks := map[string]string{} // hex DEK -> instance name
		stored := map[string]*instance.Instance{}
		for id, name := range live {
			stored[name] = storedInstance(t, env, p.id, id)
		}
		stored["q"] = storedInstance(t, env, q.id, qi.Id)
		for name, in := range stored {
			for what, b := range map[string][]byte{"wrapped keyring": in.WrappedKeyring, "wrapped fallback key": in.WrappedFallbackKey} {
				if len(b) < 32 {
					t.Errorf("instance %s: %s of %d bytes", name, what, len(b))
					continue
				}
				if n := countForms(dump, b); n != 1 {
					t.Errorf("instance %s: its %s occurs %d times in the dump, want once", name, what, n)
				}
				for off := 0; off+32 <= len(b); off++ {
					if n := countForms(dump, b[off:off+32]); n != 1 {
						t.Errorf("instance %s: bytes %d..%d of its %s occur %d times in the dump, want once",
							name, off, off+32, what, n)
						break
					}
				}
			}
			if in.KMSKey == nil {
				continue
			}
			for i, dek := range instanceDEKs(t, env, in) {
				if other, dup := deks[hex.EncodeToString(dek)]; dup {
					t.Errorf("instances %s and %s share a data key", other, name)
				}
				deks[hex.EncodeToString(dek)] = name
				if n := countForms(dump, dek); n != 0 {
					t.Errorf("instance %s: its data key #%d occurs %d times in the dump", name, i+1, n)
				}
			}
		}
		if len(deks) != 4 { // keyed, keyed-b, switched and q
			t.Errorf("unwrapped %d data keys, want 4", len(deks))
		}
		// Switching the key rewrapped the keyring, keeping its data keys.
		sw := stored["switched"]
		if bytes.Equal(sw.WrappedKeyring, switchedBefore.WrappedKeyring) {
			t.Errorf("switching the kmsKey left the wrapped keyring as it was")
		}
		if !cmp.Equal(instanceDEKs(t, env, switchedBefore), instanceDEKs(t, env, sw)) {
			t.Errorf("switching the kmsKey changed the data keys")
		}
		if uk := stored["unkeyed"]; len(uk.WrappedKeyring) == 0 || uk.WrappedKeyring[0] != 'f' {
			t.Errorf("removing the kmsKey left a keyring that starts with %q, want one under the fallback key ('f')",
				uk.WrappedKeyring[:min(1, len(uk.WrappedKeyring))])
		}
	})
}
