package token_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
)

// pol returns a policy called name with rules given as pattern, then its
// capabilities.
func pol(name string, rules ...[]string) *token.Policy {
	p := &token.Policy{Name: name}
	for _, r := range rules {
		p.Rules = append(p.Rules, token.Rule{Path: r[0], Capabilities: r[1:]})
	}
	return p
}

func r(pattern string, caps ...string) []string { return append([]string{pattern}, caps...) }

const (
	create = token.CapCreate
	read   = token.CapRead
	update = token.CapUpdate
	del    = token.CapDelete
	list   = token.CapList
	sudo   = token.CapSudo
	deny   = token.CapDeny
)

func TestValidatePattern(t *testing.T) {
	t.Parallel()
	valid := []string{
		"secret/data/app", "secret/data/app/", "secret/*", "*", "+", "+/x", "x/+", "secret/+/teamb",
		"secret/+/+/teamb", "secret/zip-*", "secret/+*", "+*", "secret/+/app*", "secret/data/app.v1",
		"a/./b", "a/...", "a/..b", "secret/metadata/", "päth/ünïcode", "/leading", "a//b",
	}
	for _, p := range valid {
		if err := token.ValidatePattern(p); err != nil {
			t.Errorf("ValidatePattern(%q) = %v, want nil", p, err)
		}
	}
	invalid := []string{
		"", "*/x", "secret/*/x", "a**", "**", "secret/*a", "a+", "+a", "a/b+/c", "a/+b", "secret/++",
		"secret/+a*", "..", "a/../b", "a/..", "../a", "a/..*", "a\x00b", "a\nb", "a\tb", "\x7f", "a\x1fb",
		"bad\xffutf8",
	}
	for _, p := range invalid {
		err := token.ValidatePattern(p)
		if errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("ValidatePattern(%q) = %v, want kind %v", p, err, errs.InvalidArgument)
		}
	}
}

func TestACLAllowed(t *testing.T) {
	t.Parallel()
	type check struct {
		path, capability string
		want             bool
	}
	cases := []struct {
		name     string
		policies []*token.Policy
		checks   []check
	}{
		{
			name:     "literal matches only itself",
			policies: []*token.Policy{pol("p", r("secret/data/app", read))},
			checks: []check{
				{"secret/data/app", read, true}, {"secret/data/app", update, false},
				{"secret/data/app2", read, false}, {"secret/data/app/", read, false},
				{"secret/data/ap", read, false}, {"/secret/data/app", read, false}, {"", read, false},
			},
		},
		{
			name:     "trailing glob is a prefix match",
			policies: []*token.Policy{pol("p", r("secret/data/app/*", read))},
			checks: []check{
				{"secret/data/app/x", read, true}, {"secret/data/app/x/y", read, true},
				{"secret/data/app/", read, true}, {"secret/data/app", read, false},
				{"secret/data/apps/x", read, false},
			},
		},
		{
			name:     "glob inside a segment",
			policies: []*token.Policy{pol("p", r("secret/zip-*", read))},
			checks: []check{
				{"secret/zip-zap", read, true}, {"secret/zip-zap/zong", read, true}, {"secret/zip-", read, true},
				{"secret/zip/zap", read, false}, {"secret/zi", read, false},
			},
		},
		{
			name:     "plus is exactly one segment",
			policies: []*token.Policy{pol("p", r("secret/+/teamb", read))},
			checks: []check{
				{"secret/foo/teamb", read, true}, {"secret//teamb", read, true},
				{"secret/foo/bar/teamb", read, false}, {"secret/foo/teamb/x", read, false},
				{"secret/foo/teambx", read, false}, {"secret/teamb", read, false},
			},
		},
		{
			name:     "two plus segments",
			policies: []*token.Policy{pol("p", r("secret/+/+/teamb", read))},
			checks:   []check{{"secret/a/b/teamb", read, true}, {"secret/a/teamb", read, false}},
		},
		{
			name:     "plus then glob",
			policies: []*token.Policy{pol("p", r("secret/+/app*", read), r("kv/+*", update))},
			checks: []check{
				{"secret/data/app", read, true}, {"secret/data/apple/x", read, true},
				{"secret/data/x/app", read, false}, {"secret/app", read, false},
				{"kv/anything/more", update, true}, {"kv/", update, true}, {"kv", update, false},
			},
		},
		{
			name:     "lone star and lone plus",
			policies: []*token.Policy{pol("p", r("*", read)), pol("q", r("+", update))},
			checks: []check{
				{"a/b/c", read, true}, {"a", update, true}, {"a/b", update, false},
				// "+" outranks "*" (same first wildcard, no trailing star),
				// and matches the one empty segment.
				{"", update, true}, {"", read, false}, {"a", read, false},
			},
		},
		{
			name: "deny on the same pattern in another policy wins",
			policies: []*token.Policy{
				pol("rw", r("secret/data/*", read, update)),
				pol("block", r("secret/data/*", deny)),
			},
			checks: []check{{"secret/data/x", read, false}, {"secret/data/x", update, false}},
		},
		{
			name:     "deny in the same rule wins",
			policies: []*token.Policy{pol("p", r("secret/data/x", read, sudo, deny))},
			checks:   []check{{"secret/data/x", read, false}, {"secret/data/x", sudo, false}},
		},
		{
			name: "exact deny beats a glob allow",
			policies: []*token.Policy{
				pol("rw", r("secret/data/*", read)),
				pol("block", r("secret/data/hidden", deny)),
			},
			checks: []check{{"secret/data/hidden", read, false}, {"secret/data/other", read, true}},
		},
		{
			name: "exact allow beats a glob deny (most specific wins)",
			policies: []*token.Policy{
				pol("block", r("secret/*", deny)),
				pol("one", r("secret/data/app", read)),
			},
			checks: []check{{"secret/data/app", read, true}, {"secret/data/other", read, false}},
		},
		{
			name: "a longer glob with a later wildcard wins",
			policies: []*token.Policy{
				pol("wide", r("secret/*", read, update)),
				pol("narrow", r("secret/data/*", read)),
			},
			checks: []check{
				{"secret/data/x", read, true}, {"secret/data/x", update, false}, {"secret/other", update, true},
			},
		},
		{
			name: "same first wildcard: no trailing star beats trailing star (+ vs *)",
			policies: []*token.Policy{
				pol("block", r("secret/*", deny)),
				pol("app", r("secret/+/app", read)),
			},
			checks: []check{{"secret/data/app", read, true}, {"secret/data/other", read, false}},
		},
		{
			name: "a later first wildcard beats an earlier plus",
			policies: []*token.Policy{
				pol("data", r("secret/data/*", read)),
				pol("app", r("secret/+/app", update)),
			},
			checks: []check{
				{"secret/data/app", read, true}, {"secret/data/app", update, false},
				{"secret/other/app", update, true},
			},
		},
		{
			name: "fewer plus segments win (the documented example)",
			policies: []*token.Policy{
				pol("wide", r("secret/*", read)),
				pol("deep", r("secret/+/+/foo/*", update)),
			},
			checks: []check{{"secret/a/b/foo/c", read, true}, {"secret/a/b/foo/c", update, false}},
		},
		{
			name: "longer pattern wins",
			policies: []*token.Policy{
				pol("short", r("secret/+/a*", read)),
				pol("long", r("secret/+/ab*", update)),
			},
			checks: []check{
				{"secret/x/abc", update, true}, {"secret/x/abc", read, false}, {"secret/x/ac", read, true},
			},
		},
		{
			name: "lexicographically greater pattern wins the last tie",
			policies: []*token.Policy{
				pol("p", r("+/a/+", read)),
				pol("q", r("+/+/a", update)),
			},
			checks: []check{
				{"q/a/a", read, true}, {"q/a/a", update, false}, {"q/b/a", update, true}, {"q/a/b", read, true},
			},
		},
		{
			name: "same pattern in two policies: union",
			policies: []*token.Policy{
				pol("r", r("kv/data/x", read)),
				pol("w", r("kv/data/x", update)),
			},
			checks: []check{{"kv/data/x", read, true}, {"kv/data/x", update, true}, {"kv/data/x", del, false}},
		},
		{
			name: "most specific wins across two policies",
			policies: []*token.Policy{
				pol("rw", r("kv/data/*", create, read, update)),
				pol("team", r("kv/data/team/*", read)),
			},
			checks: []check{
				{"kv/data/team/s", read, true}, {"kv/data/team/s", update, false}, {"kv/data/mine", update, true},
			},
		},
		{
			name:     "list on metadata directories",
			policies: []*token.Policy{pol("p", r("secret/metadata/*", list))},
			checks: []check{
				{"secret/metadata/", list, true}, {"secret/metadata", list, true},
				{"secret/metadata/app/", list, true}, {"secret/metadata/app", list, true},
				{"secret/metadata/app", read, false}, {"secret/", list, false},
			},
		},
		{
			name:     "list falls back to the literal without the slash",
			policies: []*token.Policy{pol("p", r("secret/metadata/app", list))},
			checks: []check{
				{"secret/metadata/app/", list, true}, {"secret/metadata/app", list, true},
				{"secret/metadata/app/", read, false}, {"secret/metadata/", list, false},
			},
		},
		{
			name: "list prefers the literal with the slash",
			policies: []*token.Policy{
				pol("p", r("secret/metadata/app/", deny), r("secret/metadata/app", list)),
			},
			checks: []check{{"secret/metadata/app", list, false}, {"secret/metadata/app/", list, false}},
		},
		{
			name:     "list with a plus pattern without the slash",
			policies: []*token.Policy{pol("p", r("+/metadata/app", list))},
			checks:   []check{{"kv/metadata/app/", list, true}, {"kv/metadata/app", list, true}},
		},
		{
			name:     "list is not granted by a glob below the directory",
			policies: []*token.Policy{pol("p", r("secret/metadata/app/*", list, read))},
			checks: []check{
				{"secret/metadata/", list, false}, {"secret/metadata/app/", list, true},
				{"secret/metadata/app/x", read, true},
			},
		},
		{
			name:     "read does not imply list",
			policies: []*token.Policy{pol("p", r("secret/metadata/*", read))},
			checks:   []check{{"secret/metadata/", list, false}},
		},
		{
			name:     "root allows everything",
			policies: []*token.Policy{pol(token.RootPolicy)},
			checks: []check{
				{"sys/audit/file", sudo, true}, {"anything/at/all", del, true}, {"", list, true},
				{"x", deny, false}, {"x", "write", false},
			},
		},
		{
			name:     "root wins over deny and broken policies",
			policies: []*token.Policy{pol("block", r("*", deny)), pol("broken", r("a/*/b", read)), pol(token.RootPolicy)},
			checks:   []check{{"secret/x", read, true}},
		},
		{
			name:     "nothing matching allows nothing",
			policies: []*token.Policy{pol("p", r("secret/data/app", read))},
			checks:   []check{{"other", read, false}},
		},
		{
			name:   "no policies allow nothing",
			checks: []check{{"secret/data/app", read, false}, {"", list, false}},
		},
		{
			name:     "nil policies are skipped",
			policies: []*token.Policy{nil, pol("p", r("a", read)), nil},
			checks:   []check{{"a", read, true}},
		},
		{
			name:     "sudo",
			policies: []*token.Policy{pol("p", r("sys/audit/*", sudo, update))},
			checks:   []check{{"sys/audit/file", sudo, true}, {"sys/audit/file", update, true}, {"sys/audit/file", read, false}},
		},
		{
			name:     "deny and unknown capabilities are never allowed",
			policies: []*token.Policy{pol("p", r("a", deny)), pol("q", r("b", read))},
			checks:   []check{{"a", deny, false}, {"b", "write", false}, {"b", "", false}, {"b", "READ", false}},
		},
		{
			name: "an invalid pattern fails closed",
			policies: []*token.Policy{
				pol("rw", r("secret/*", read)),
				pol("typo", r("secret/*/x", deny)),
			},
			checks: []check{{"secret/a", read, false}, {"secret/a/x", read, false}},
		},
		{
			name:     "an unknown capability fails closed",
			policies: []*token.Policy{pol("p", r("secret/*", read), r("secret/x", "DENY"))},
			checks:   []check{{"secret/x", read, false}, {"secret/y", read, false}},
		},
		{
			name:     "a rule without capabilities grants nothing on its pattern",
			policies: []*token.Policy{pol("p", r("secret/*", read), r("secret/x"))},
			checks:   []check{{"secret/x", read, false}, {"secret/y", read, true}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := token.NewACL(tc.policies)
			for _, c := range tc.checks {
				if got := a.Allowed(c.path, c.capability); got != c.want {
					t.Errorf("Allowed(%q, %q) = %t, want %t (capabilities %v)",
						c.path, c.capability, got, c.want, a.Capabilities(c.path))
				}
			}
		})
	}
}

func TestACLCapabilities(t *testing.T) {
	t.Parallel()
	kv := pol("kv",
		r("kv/data/*", create, update, read, del, list, sudo),
		r("kv/data/ro", read),
		r("kv/data/blocked", deny, read),
		r("kv/metadata/*", list),
	)
	cases := []struct {
		name     string
		policies []*token.Policy
		path     string
		want     []string
	}{
		{"sorted", []*token.Policy{kv}, "kv/data/x", []string{create, del, list, read, sudo, update}},
		{"exact", []*token.Policy{kv}, "kv/data/ro", []string{read}},
		{"denied", []*token.Policy{kv}, "kv/data/blocked", []string{deny}},
		{"no match", []*token.Policy{kv}, "transit/keys/x", []string{deny}},
		{"list rule is path-based", []*token.Policy{kv}, "kv/metadata", []string{deny}},
		{"union", []*token.Policy{pol("a", r("x", read)), pol("b", r("x", list))}, "x", []string{list, read}},
		{"root", []*token.Policy{kv, pol(token.RootPolicy)}, "anything", []string{"root"}},
		{"invalid", []*token.Policy{kv, pol("bad", r("", read))}, "kv/data/x", []string{deny}},
		{"none", nil, "kv/data/x", []string{deny}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := token.NewACL(tc.policies).Capabilities(tc.path)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Capabilities(%q) mismatch (-want +got):\n%s", tc.path, diff)
			}
		})
	}
}

func TestACLErr(t *testing.T) {
	t.Parallel()
	if err := token.NewACL([]*token.Policy{pol("p", r("a/*", read))}).Err(); err != nil {
		t.Errorf("Err() of a valid ACL = %v, want nil", err)
	}
	err := token.NewACL([]*token.Policy{pol("p", r("a/*/b", read))}).Err()
	if errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("Err() of an invalid ACL = %v, want kind %v", err, errs.InvalidArgument)
	}
	var nilACL *token.ACL
	if nilACL.Allowed("a", read) || nilACL.Err() != nil || !cmp.Equal(nilACL.Capabilities("a"), []string{deny}) {
		t.Error("a nil ACL must allow nothing")
	}
}

func TestACLDoesNotRetainPolicies(t *testing.T) {
	t.Parallel()
	p := pol("p", r("a", read))
	a := token.NewACL([]*token.Policy{p})
	p.Rules[0].Capabilities[0] = deny
	p.Rules[0].Path = "b"
	if !a.Allowed("a", read) || a.Allowed("b", read) {
		t.Error("NewACL() result changed when its policies were modified")
	}
	caps := a.Capabilities("a")
	caps[0] = sudo
	if a.Allowed("a", sudo) {
		t.Error("Capabilities() returned a slice the ACL still uses")
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		policy *token.Policy
		ok     bool
	}{
		{"valid", pol("p", r("kv/data/*", read, list), r("kv/+/x", deny)), true},
		{"no rules", pol("default"), true},
		{"no name", pol("", r("a", read)), false},
		{"bad pattern", pol("p", r("a/*/b", read)), false},
		{"unknown capability", pol("p", r("a", "write")), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.policy.Validate()
			if tc.ok && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if !tc.ok && errs.KindOf(err) != errs.InvalidArgument {
				t.Errorf("Validate() = %v, want kind %v", err, errs.InvalidArgument)
			}
		})
	}
}

func TestResolverACL(t *testing.T) {
	t.Parallel()
	policies := map[string]*token.Policy{
		"kv-read": pol("kv-read", r("kv/data/*", read)),
		"kv-list": pol("kv-list", r("kv/metadata/*", list)),
	}
	resolve := token.Resolver(func(name string) (*token.Policy, bool) {
		p, ok := policies[name]
		return p, ok
	})
	a := resolve.ACL([]string{"kv-read", "unknown", "kv-list"})
	if !a.Allowed("kv/data/x", read) || !a.Allowed("kv/metadata/", list) || a.Allowed("kv/data/x", update) {
		t.Errorf("Resolver.ACL() capabilities = %v and %v", a.Capabilities("kv/data/x"), a.Capabilities("kv/metadata/"))
	}
	if token.Resolver(func(string) (*token.Policy, bool) { return nil, false }).ACL([]string{"root"}).Allowed("x", read) {
		t.Error("an unknown policy name granted access")
	}
}
