package token

import (
	"cmp"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cofferhq/coffer/internal/errs"
)

// Spec is what a caller chooses of a new token.
type Spec struct {
	// Policies name the token's policies; at least one. They are stored
	// sorted, without duplicates.
	Policies []string
	// Meta is public metadata, such as {"username": ..., "instance": ...};
	// RevokeByMeta finds tokens by it. Keys must not be empty.
	Meta map[string]string
	// DisplayName and Path are shown by lookup-self ("userpass-alice",
	// "auth/userpass/login/alice").
	DisplayName, Path string
	// TTL is the token's lifetime and renewal period; 0 means
	// Config.DefaultTTL. It is capped at the maximum TTL.
	TTL time.Duration
	// MaxTTL caps the token's lifetime across renewals; 0 means
	// Config.MaxTTL (which may itself be 0: no cap).
	MaxTTL    time.Duration
	Renewable bool
	// BoundCIDRs limit the client addresses that may use the token; an
	// address alone means just that address. Empty means any address.
	BoundCIDRs []string
	// NoExpiry makes a token that never expires (the root token). TTL and
	// MaxTTL must then be 0 and Renewable false.
	NoExpiry bool
}

// RootSpec returns the Spec of a root token for the Vault listener, as
// `coffer vault root-token` creates it: the root policy, no expiry, and the
// display name and path Vault shows for root tokens.
func RootSpec() Spec {
	return Spec{Policies: []string{RootPolicy}, DisplayName: "root", Path: "auth/token/root", NoExpiry: true}
}

// newToken validates spec and returns the token it describes, created at
// now, without hash or accessor. It does not retain spec's slices or map.
func (s *Service) newToken(spec Spec, now time.Time) (*Token, error) {
	policies, err := normalizePolicies(spec.Policies)
	if err != nil {
		return nil, err
	}
	cidrs, err := normalizeCIDRs(spec.BoundCIDRs)
	if err != nil {
		return nil, err
	}
	if err := checkText(spec); err != nil {
		return nil, err
	}
	t := &Token{Policies: policies, Meta: maps.Clone(spec.Meta), DisplayName: spec.DisplayName, Path: spec.Path,
		CreatedAt: now, Renewable: spec.Renewable, BoundCIDRs: cidrs}
	if spec.TTL < 0 || spec.MaxTTL < 0 {
		return nil, errs.E(errs.InvalidArgument, "ttl and max_ttl must not be negative")
	}
	if spec.NoExpiry {
		if spec.TTL != 0 || spec.MaxTTL != 0 || spec.Renewable {
			return nil, errs.E(errs.InvalidArgument, "a token without expiry has no ttl or max_ttl and is not renewable")
		}
		return t, nil
	}
	ttl, maxTTL := cmp.Or(spec.TTL, s.cfg.DefaultTTL), cmp.Or(spec.MaxTTL, s.cfg.MaxTTL)
	if maxTTL > 0 {
		ttl = min(ttl, maxTTL)
		t.MaxExpiresAt = now.Add(maxTTL)
	}
	if ttl <= 0 {
		return nil, errs.E(errs.InvalidArgument, "ttl must be positive")
	}
	t.TTL, t.ExpiresAt = ttl, now.Add(ttl)
	return t, nil
}

// checkText checks the free-text fields of spec: valid UTF-8 without NUL,
// which both stores keep exactly (PostgreSQL text cannot hold NUL, and
// JSON would replace invalid UTF-8), and meta keys that are not empty.
func checkText(spec Spec) error {
	ok := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
	if !ok(spec.DisplayName) || !ok(spec.Path) {
		return errs.E(errs.InvalidArgument, "display_name and path must be valid UTF-8 without NUL")
	}
	for k, v := range spec.Meta {
		if k == "" {
			return errs.E(errs.InvalidArgument, "meta: keys must not be empty")
		}
		if !ok(k) || !ok(v) {
			return errs.E(errs.InvalidArgument, "meta: keys and values must be valid UTF-8 without NUL")
		}
	}
	return nil
}

// normalizePolicies returns names sorted and without duplicates; at least
// one, none empty.
func normalizePolicies(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, errs.E(errs.InvalidArgument, "policies: a token needs at least one policy")
	}
	for _, n := range names {
		if n == "" || !utf8.ValidString(n) || strings.IndexFunc(n, unicode.IsControl) >= 0 {
			return nil, errs.E(errs.InvalidArgument, "policies: names must be non-empty UTF-8 without control characters")
		}
	}
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// normalizeCIDRs parses each CIDR (or bare address) and returns them in
// canonical prefix form; nil for none.
func normalizeCIDRs(cidrs []string) ([]string, error) {
	var out []string
	for _, c := range cidrs {
		p, err := parseCIDR(c)
		if err != nil {
			return nil, errs.E(errs.InvalidArgument, "bound_cidrs: %q is not a CIDR or an IP address", c)
		}
		out = append(out, p.String())
	}
	return out, nil
}

// parseCIDR parses a CIDR, or an address as a prefix of its full length,
// and masks it.
func parseCIDR(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("zoned address")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// allowedFrom reports whether client is inside one of cidrs; true when
// cidrs is empty. A zero client, or a stored CIDR that does not parse, is
// never allowed (fail closed).
func allowedFrom(cidrs []string, client netip.Addr) bool {
	if len(cidrs) == 0 {
		return true
	}
	if !client.IsValid() {
		return false
	}
	client = client.Unmap()
	for _, c := range cidrs {
		p, err := parseCIDR(c)
		if err == nil && p.Contains(client) {
			return true
		}
	}
	return false
}
