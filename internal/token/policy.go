package token

import (
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
)

// Rule grants capabilities on a path pattern. Patterns follow Vault: a
// trailing "*" matches any suffix (a prefix glob), "+" matches exactly one
// path segment, anything else matches literally.
type Rule struct {
	Path         string
	Capabilities []string
}

// Policy is a named set of rules.
type Policy struct {
	Name  string
	Rules []Rule
}

// Resolver finds a policy by name; ok is false for unknown names (which
// grant nothing). Coffer's policies are built in: "root", "default", the
// per-instance read and read-write policies, and the transit endpoint
// policies of the services file.
type Resolver func(name string) (p *Policy, ok bool)

// Validate checks that p has a name and that every rule has a valid
// pattern (see ValidatePattern) and only known capabilities. A failure is
// errs.InvalidArgument. An ACL built from an invalid policy allows nothing.
func (p *Policy) Validate() error {
	if p.Name == "" {
		return errs.E(errs.InvalidArgument, "policy name must not be empty")
	}
	for _, r := range p.Rules {
		if err := ValidatePattern(r.Path); err != nil {
			return fmt.Errorf("policy %q: %w", p.Name, err)
		}
		for _, c := range r.Capabilities {
			if _, ok := capBit(c); !ok {
				return errs.E(errs.InvalidArgument, "policy %q: path %q: unknown capability %q", p.Name, r.Path, c)
			}
		}
	}
	return nil
}

// ACL returns the ACL of the policies called names. Names that r does not
// know grant nothing, as Vault treats them.
func (r Resolver) ACL(names []string) *ACL {
	var ps []*Policy
	for _, n := range names {
		if p, ok := r(n); ok {
			ps = append(ps, p)
		}
	}
	return NewACL(ps)
}
