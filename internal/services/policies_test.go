package services_test

import (
	"testing"

	"github.com/cofferhq/coffer/internal/services"
	"github.com/cofferhq/coffer/internal/token"
)

func TestResolveNames(t *testing.T) {
	for _, name := range []string{
		"transit-admin-k", "transit-sign-vault-sign", "transit-verify-a.b_c-d", "transit-encrypt-K9",
		"transit-decrypt-k", "transit-rewrap-k",
	} {
		p, ok := services.Resolve(name)
		if !ok || p.Name != name {
			t.Errorf("Resolve(%q) = %v, %t; want the policy", name, p, ok)
			continue
		}
		if err := p.Validate(); err != nil {
			t.Errorf("Resolve(%q).Validate() error = %v", name, err)
		}
	}
	for _, name := range []string{
		"", "transit-", "transit-admin", "transit-admin-", "transit-hmac-k", "transit-admin-*", "transit-sign-+",
		"transit-admin-a/b", "transit-admin-.k", "default", "sm-read-x", "Transit-admin-k", "transit-admin--k",
	} {
		if p, ok := services.Resolve(name); ok {
			t.Errorf("Resolve(%q) = %v, want none", name, p)
		}
	}
	if got := services.PolicyName("admin", "vault-sign"); got != "transit-admin-vault-sign" {
		t.Errorf("PolicyName() = %q", got)
	}
}

// TestPolicyRules checks each policy against the seed's table, and that
// none reaches another key (KEY2 is not KEY) or another operation.
func TestPolicyRules(t *testing.T) {
	type check struct {
		path, capability string
		want             bool
	}
	const r, c, u, d, l = token.CapRead, token.CapCreate, token.CapUpdate, token.CapDelete, token.CapList
	tests := map[string][]check{
		"admin": {
			{"transit/keys/k", r, true}, {"transit/keys/k", u, false}, {"transit/keys/k", c, false}, {"transit/keys/k", d, false},
			{"transit/keys/k/rotate", u, true}, {"transit/keys/k/config", u, true}, {"transit/keys/k/config", r, true},
			{"transit/keys/k/x", c, true}, {"transit/keys/k/x", d, true}, {"transit/keys/k/x", l, false},
			{"transit/keys/k2", r, false}, {"transit/keys/k2/rotate", u, false}, {"transit/keys/kk/rotate", u, false},
			{"transit/keys", l, false}, {"transit/encrypt/k", u, false}, {"transit/sign/k", u, false},
			{"other/keys/k", r, false},
		},
		"sign": {
			{"transit/sign/k", u, true}, {"transit/sign/k", r, true}, {"transit/sign/k/sha2-512", u, true},
			{"transit/sign/k/sha2-256", r, true}, {"transit/sign/k", c, false}, {"transit/sign/k/sha2-512", d, false},
			{"transit/sign/k2", u, false}, {"transit/sign/k2/sha2-512", u, false}, {"transit/sign/kx/sha2-512", u, false},
			{"transit/verify/k", u, false}, {"transit/verify/k/sha2-512", u, false}, {"transit/keys/k", r, false},
			{"transit/keys/k/rotate", u, false}, {"transit/decrypt/k", u, false}, {"transit/hmac/k", u, false},
		},
		"verify": {
			{"transit/verify/k", u, true}, {"transit/verify/k/sha2-512", u, true}, {"transit/verify/k2/sha2-512", u, false},
			{"transit/sign/k", u, false}, {"transit/sign/k/sha2-512", u, false}, {"transit/keys/k", r, false},
		},
		"encrypt": {
			{"transit/encrypt/k", u, true}, {"transit/encrypt/k", r, true}, {"transit/encrypt/k", c, false},
			{"transit/encrypt/k2", u, false}, {"transit/encrypt/k/x", u, false}, {"transit/decrypt/k", u, false},
			{"transit/rewrap/k", u, false}, {"transit/keys/k", r, false},
		},
		"decrypt": {
			{"transit/decrypt/k", u, true}, {"transit/decrypt/k2", u, false}, {"transit/encrypt/k", u, false},
			{"transit/rewrap/k", u, false},
		},
		"rewrap": {
			{"transit/rewrap/k", u, true}, {"transit/rewrap/k2", u, false}, {"transit/encrypt/k", u, false},
			{"transit/decrypt/k", u, false},
		},
	}
	for policy, checks := range tests {
		p, ok := services.Resolve(services.PolicyName(policy, "k"))
		if !ok {
			t.Fatalf("Resolve(%s) found nothing", policy)
		}
		acl := token.NewACL([]*token.Policy{p})
		for _, ch := range checks {
			if got := acl.Allowed(ch.path, ch.capability); got != ch.want {
				t.Errorf("%s policy: Allowed(%s, %s) = %t, want %t", policy, ch.path, ch.capability, got, ch.want)
			}
		}
	}
}
