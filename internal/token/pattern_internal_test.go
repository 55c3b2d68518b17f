package token

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPriorityOrder checks the ranking of globs against Vault's documented
// priority rules, one pair per rule.
func TestPriorityOrder(t *testing.T) {
	t.Parallel()
	pairs := []struct{ higher, lower, rule string }{
		{"secret/data/*", "secret/*", "first wildcard later"},
		{"secret/data/*", "secret/+/app", "first wildcard later"},
		{"secret/+/app", "secret/*", "no trailing star"},
		{"secret/*", "secret/+/+/foo/*", "fewer plus segments"},
		{"secret/+/ab*", "secret/+/a*", "longer"},
		{"+/a/+", "+/+/a", "lexicographically greater"},
		{"a/+/c", "a/+/+", "first wildcard later beats everything else"},
	}
	for _, p := range pairs {
		hi, lo := parsePattern(p.higher), parsePattern(p.lower)
		if !hi.outranks(lo) || lo.outranks(hi) {
			t.Errorf("%q must outrank %q (%s)", p.higher, p.lower, p.rule)
		}
	}
	// NewACL sorts globs by that order, highest first.
	a := NewACL([]*Policy{{Name: "p", Rules: []Rule{
		{Path: "secret/*", Capabilities: []string{CapRead}},
		{Path: "secret/+/+/foo/*", Capabilities: []string{CapRead}},
		{Path: "secret/data/*", Capabilities: []string{CapRead}},
		{Path: "secret/+/app", Capabilities: []string{CapRead}},
		{Path: "secret/data/x", Capabilities: []string{CapRead}},
	}}})
	var got []string
	for _, g := range a.globs {
		got = append(got, g.raw)
	}
	want := []string{"secret/data/*", "secret/+/app", "secret/*", "secret/+/+/foo/*"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("glob order mismatch (-want +got):\n%s", diff)
	}
	if !slices.Equal(slices.Collect(maps.Keys(a.exact)), []string{"secret/data/x"}) {
		t.Errorf("exact rules = %v, want [secret/data/x]", a.exact)
	}
}
