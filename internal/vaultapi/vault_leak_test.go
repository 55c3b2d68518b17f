package vaultapi_test

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	vault "github.com/hashicorp/vault/api"
)

// forms returns the encodings a secret could be stored in: raw, hex
// (both cases), base64 (standard and URL, padded and not), base32.
func forms(b []byte) map[string]string {
	return map[string]string{
		"raw":       string(b),
		"hex":       hex.EncodeToString(b),
		"HEX":       strings.ToUpper(hex.EncodeToString(b)),
		"base64":    base64.StdEncoding.EncodeToString(b),
		"base64raw": base64.RawStdEncoding.EncodeToString(b),
		"base64url": base64.URLEncoding.EncodeToString(b),
		"b64urlraw": base64.RawURLEncoding.EncodeToString(b),
		"base32":    base32.StdEncoding.EncodeToString(b),
	}
}

// TestVaultLeak writes secrets with a canary value through the Vault
// listener, logs users in, mints tokens, and checks that no row of the
// store holds the canary, a password or a token secret in any common
// encoding.
func TestVaultLeak(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		ctx := t.Context()
		canary := "canary-" + strings.ReplaceAll(uuid.NewString(), "-", "")
		secrets := map[string][]byte{"canary": []byte(canary)}

		inst := s.createInstance(t, "leak")
		writer, reader := s.createUser(t, inst, true), s.createUser(t, inst, false)
		secrets["writer password"], secrets["reader password"] = []byte(writer.Password), []byte(reader.Password)

		c, login := s.login(t, writer)
		rc, rlogin := s.login(t, reader)
		_, again := s.login(t, writer)
		root := s.rootToken(t)
		for name, tok := range map[string]string{"writer token": login.Auth.ClientToken, "reader token": rlogin.Auth.ClientToken,
			"second writer token": again.Auth.ClientToken, "root token": root} {
			secrets[name] = []byte(tok)
			// The token's random part, decoded, in case a store keeps bytes.
			if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "hvs.")); err == nil {
				secrets[name+" (bytes)"] = raw
			}
		}

		kv := c.KVv2(inst)
		for i, p := range []string{"app/db", "app/api", "plain"} {
			data := map[string]any{"password": canary, "nested": map[string]any{"deep": canary + "-nested"}, "n": i}
			if _, err := kv.Put(ctx, p, data); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := kv.Patch(ctx, "app/db", map[string]any{"patched": canary + "-patched"}); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, "app/db", map[string]any{"v3": canary}, vault.WithCheckAndSet(2)); err != nil {
			t.Fatal(err)
		}
		if err := kv.Delete(ctx, "app/api"); err != nil { // soft-deleted values are kept, sealed
			t.Fatal(err)
		}
		if _, err := rc.KVv2(inst).Get(ctx, "plain"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Auth().Token().RenewSelfWithContext(ctx, 0); err != nil {
			t.Fatal(err)
		}
		// A failed login with a password-like guess must not be kept either.
		guess := strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", ""))
		secrets["wrong password"] = []byte(guess)
		r := s.vaultReq(t, "PUT", "/v1/auth/userpass/login/"+writer.Username, nil, map[string]any{"password": guess})
		if r.status != http.StatusBadRequest {
			t.Fatalf("wrong password login = %d %s", r.status, r.body)
		}

		dump := s.env.Dump(t)
		if !strings.Contains(dump, inst) || !strings.Contains(dump, writer.Username) {
			t.Fatal("the dump holds neither the instance nor the user; the check below would prove nothing")
		}
		for name, b := range secrets {
			for enc, f := range forms(b) {
				if strings.Contains(dump, f) {
					t.Errorf("the store holds the %s (%s form)", name, enc)
				}
			}
		}
		// The canary's distinctive random part alone, in case values are
		// stored transformed around it.
		tail := canary[len("canary-"):]
		for enc, f := range forms([]byte(tail)) {
			if strings.Contains(dump, f) {
				t.Errorf("the store holds the canary's random part (%s form)", enc)
			}
		}
	})
}
