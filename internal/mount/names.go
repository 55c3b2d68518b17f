package mount

import (
	"net/netip"
	"slices"
	"strings"
	"unicode"

	"github.com/cofferhq/coffer/internal/errs"
)

// MaxUsernameLen is the longest userpass username, in bytes.
const MaxUsernameLen = 128

// normalizeUsername checks a userpass username as Vault's users endpoint
// does, and returns it lower-cased (Vault's userpass usernames are case
// insensitive): 1 to MaxUsernameLen ASCII letters, digits, '_', '-' and
// '.', not beginning with '-', not beginning or ending with '.'. It checks
// before it lower-cases, so that no non-ASCII letter can turn into an
// ASCII one (the Kelvin sign into "k"). Errors are errs.InvalidArgument.
func normalizeUsername(name string) (string, error) {
	switch {
	case name == "":
		return "", errs.E(errs.InvalidArgument, "username: must not be empty")
	case len(name) > MaxUsernameLen:
		return "", errs.E(errs.InvalidArgument, "username: must be at most %d characters long", MaxUsernameLen)
	case strings.IndexFunc(name, func(r rune) bool { return !isNameChar(r) }) >= 0:
		return "", errs.E(errs.InvalidArgument, "username: may contain only letters, digits, '_', '-' and '.'")
	case name[0] == '-':
		return "", errs.E(errs.InvalidArgument, "username: must not begin with '-'")
	case name[0] == '.' || name[len(name)-1] == '.':
		return "", errs.E(errs.InvalidArgument, "username: must not begin or end with '.'")
	}
	return strings.ToLower(name), nil
}

// rootPolicy is the policy that allows everything.
const rootPolicy = "root"

// normalizePolicies returns policy names trimmed, lower-cased (Vault's
// policy names are), sorted and without duplicates or empty names; nil
// for none. A name with control characters or invalid UTF-8, or "root", is
// errs.InvalidArgument.
func normalizePolicies(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		switch {
		case n == "":
			continue
		case !isText(n) || strings.IndexFunc(n, unicode.IsControl) >= 0:
			return nil, errs.E(errs.InvalidArgument, "token_policies: names must be UTF-8 without control characters")
		case n == rootPolicy:
			return nil, errs.E(errs.InvalidArgument, "token_policies: auth methods cannot create root tokens")
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// normalizeCIDRs returns each CIDR, or address as a prefix of its full
// length, in canonical masked form; nil for none. One that does not parse
// is errs.InvalidArgument.
func normalizeCIDRs(cidrs []string) ([]string, error) {
	var out []string
	for _, c := range cidrs {
		p, ok := parseCIDR(strings.TrimSpace(c))
		if !ok {
			return nil, errs.E(errs.InvalidArgument, "token_bound_cidrs: %q is not a CIDR or an IP address", c)
		}
		out = append(out, p.String())
	}
	return out, nil
}

// parseCIDR parses a CIDR, or an address as a prefix of its full length,
// and masks it. IPv4-mapped IPv6 becomes IPv4; zoned addresses are refused.
func parseCIDR(s string) (netip.Prefix, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, false
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}
