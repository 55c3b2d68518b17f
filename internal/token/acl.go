package token

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cofferhq/coffer/internal/errs"
)

// RootPolicy names the built-in policy that allows everything.
const RootPolicy = "root"

// capSet is a set of capabilities, one bit each.
type capSet uint8

const (
	bitCreate capSet = 1 << iota
	bitRead
	bitUpdate
	bitDelete
	bitList
	bitSudo
	bitDeny
)

// capabilities lists every capability in name order, the order in which
// Capabilities returns them.
var capabilities = []struct {
	name string
	bit  capSet
}{
	{CapCreate, bitCreate},
	{CapDelete, bitDelete},
	{CapDeny, bitDeny},
	{CapList, bitList},
	{CapRead, bitRead},
	{CapSudo, bitSudo},
	{CapUpdate, bitUpdate},
}

// capBit returns the bit of the capability called name; ok is false for
// names that are not capabilities.
func capBit(name string) (bit capSet, ok bool) {
	for _, c := range capabilities {
		if c.name == name {
			return c.bit, true
		}
	}
	return 0, false
}

// rule is a pattern with the union of the capabilities that every policy
// grants on it.
type rule struct {
	*pattern
	caps capSet
}

// ACL decides what a token with a set of policies may do, with Vault's
// semantics. Rules on the same pattern are merged: their capabilities are
// united, and "deny" on a pattern removes every other capability from it.
// For a request path the single best-matching pattern decides: a literal
// pattern equal to the path, else the matching glob of highest priority by
// Vault's documented rules, applied in order: the first wildcard ("+" or
// "*") comes later; no trailing "*" beats a trailing "*"; fewer "+"
// segments; the longer pattern; the lexicographically greater pattern.
// Nothing matching means nothing allowed. The policy called "root" allows
// everything.
//
// An ACL fails closed: when any rule has an invalid pattern or an unknown
// capability, it allows nothing (unless it holds the root policy), because
// a rule that cannot be understood must neither grant nor silently lose a
// deny. Err reports why. An ACL is immutable and safe for concurrent use.
type ACL struct {
	root  bool
	err   error
	exact map[string]capSet
	globs []rule // the non-literal patterns, highest priority first
}

// NewACL merges the rules of policies (nil entries are skipped) into an
// ACL. It does not retain policies.
func NewACL(policies []*Policy) *ACL {
	a := &ACL{exact: map[string]capSet{}}
	merged := map[string]capSet{}
	for _, p := range policies {
		if p == nil {
			continue
		}
		if p.Name == RootPolicy {
			a.root = true
		}
		for _, r := range p.Rules {
			caps, err := ruleCaps(r)
			if err != nil {
				if a.err == nil {
					a.err = fmt.Errorf("policy %q: %w", p.Name, err)
				}
				continue
			}
			merged[r.Path] |= caps
		}
	}
	for raw, caps := range merged {
		if caps&bitDeny != 0 {
			caps = bitDeny
		}
		pt := parsePattern(raw)
		if pt.literal() {
			a.exact[raw] = caps
			continue
		}
		a.globs = append(a.globs, rule{pattern: pt, caps: caps})
	}
	slices.SortFunc(a.globs, func(x, y rule) int {
		switch {
		case x.raw == y.raw:
			return 0
		case x.outranks(y.pattern):
			return -1
		default:
			return 1 // distinct patterns are never tied
		}
	})
	return a
}

// ruleCaps validates r and returns its capabilities.
func ruleCaps(r Rule) (capSet, error) {
	if err := ValidatePattern(r.Path); err != nil {
		return 0, err
	}
	var caps capSet
	for _, c := range r.Capabilities {
		bit, ok := capBit(c)
		if !ok {
			return 0, errs.E(errs.InvalidArgument, "policy path %q: unknown capability %q", r.Path, c)
		}
		caps |= bit
	}
	return caps, nil
}

// Err returns why the ACL allows nothing despite its rules (an invalid
// pattern or an unknown capability), or nil.
func (a *ACL) Err() error {
	if a == nil {
		return nil
	}
	return a.err
}

// Allowed reports whether capability (one of the Cap constants other than
// CapDeny) is allowed on path, a request path without the leading "/v1/".
// Unknown capabilities are never allowed; a nil ACL allows nothing.
//
// For CapList the path names a directory, as Vault treats it: a trailing
// "/" is added when missing, and when no literal pattern equals that path
// a literal pattern equal to it without the "/" applies; globs may match
// either form. So both "secret/metadata/app" and "secret/metadata/app/"
// grant listing "secret/metadata/app/".
func (a *ACL) Allowed(path, capability string) bool {
	bit, ok := capBit(capability)
	if a == nil || !ok || bit == bitDeny {
		return false
	}
	if a.root {
		return true
	}
	if a.err != nil {
		return false
	}
	var caps capSet
	if bit == bitList {
		caps = a.listCaps(path)
	} else {
		caps = a.caps(path)
	}
	return caps&bitDeny == 0 && caps&bit != 0
}

// Capabilities returns the capabilities on path, in name order: ["root"]
// for an ACL holding the root policy, ["deny"] when nothing is allowed
// (an explicit deny, no matching pattern, or an invalid ACL). It applies
// no directory rule for listing (see Allowed), as Vault's
// sys/capabilities does not. The caller owns the slice.
func (a *ACL) Capabilities(path string) []string {
	switch {
	case a == nil:
		return []string{CapDeny}
	case a.root:
		return []string{RootPolicy}
	case a.err != nil:
		return []string{CapDeny}
	}
	caps := a.caps(path)
	if caps == 0 || caps&bitDeny != 0 {
		return []string{CapDeny}
	}
	var out []string
	for _, c := range capabilities {
		if caps&c.bit != 0 {
			out = append(out, c.name)
		}
	}
	return out
}

// caps returns the capabilities of the best pattern matching path, zero
// when none does.
func (a *ACL) caps(path string) capSet {
	if caps, ok := a.exact[path]; ok {
		return caps
	}
	for _, g := range a.globs {
		if g.matches(path) {
			return g.caps
		}
	}
	return 0
}

// listCaps is caps for a list request on the directory path.
func (a *ACL) listCaps(path string) capSet {
	dir, bare := path, strings.TrimSuffix(path, "/")
	if path != "" && !strings.HasSuffix(path, "/") {
		dir = path + "/"
	}
	if caps, ok := a.exact[dir]; ok {
		return caps
	}
	if caps, ok := a.exact[bare]; ok {
		return caps
	}
	for _, g := range a.globs {
		if g.matches(dir) || g.matches(bare) {
			return g.caps
		}
	}
	return 0
}
