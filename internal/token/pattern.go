package token

import (
	"strings"
	"unicode/utf8"

	"github.com/cofferhq/coffer/internal/errs"
)

// ValidatePattern checks a policy path pattern: it must not be empty, may
// hold "*" only as its last character, uses "+" only as a whole path
// segment, has no ".." segment and no control character, and is valid
// UTF-8. A failure is errs.InvalidArgument naming the rule.
func ValidatePattern(p string) error {
	if p == "" {
		return errs.E(errs.InvalidArgument, "policy path must not be empty")
	}
	if !utf8.ValidString(p) {
		return errs.E(errs.InvalidArgument, "policy path %q is not valid UTF-8", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return errs.E(errs.InvalidArgument, "policy path %q contains a control character", p)
		}
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return errs.E(errs.InvalidArgument, "policy path %q may hold \"*\" only as its last character", p)
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p, "*"), "/") {
		if seg == ".." {
			return errs.E(errs.InvalidArgument, "policy path %q must not contain a \"..\" segment", p)
		}
		if seg != "+" && strings.Contains(seg, "+") {
			return errs.E(errs.InvalidArgument, "policy path %q may use \"+\" only as a whole segment", p)
		}
	}
	return nil
}

// pattern is a valid policy path pattern, parsed for matching and ranking.
type pattern struct {
	raw  string
	body string   // raw without its trailing "*"
	glob bool     // raw ends in "*": any suffix of body matches
	segs []string // body split on "/"; used only when plus > 0
	plus int      // number of "+" segments
	// wild is the index in raw of the first "+" or "*", the first
	// criterion of Vault's priority; len(raw) for a literal pattern.
	wild int
}

// parsePattern parses p, which must have passed ValidatePattern.
func parsePattern(p string) *pattern {
	pt := &pattern{raw: p, body: strings.TrimSuffix(p, "*"), wild: len(p)}
	pt.glob = len(pt.body) < len(p)
	if i := strings.IndexAny(p, "+*"); i >= 0 {
		pt.wild = i
	}
	pt.segs = strings.Split(pt.body, "/")
	for _, s := range pt.segs {
		if s == "+" {
			pt.plus++
		}
	}
	return pt
}

// literal reports whether the pattern has no wildcard: it matches only the
// path equal to it.
func (pt *pattern) literal() bool { return !pt.glob && pt.plus == 0 }

// matches reports whether path matches the pattern. A "+" matches any one
// segment (any run of characters without "/", including none); a trailing
// "*" matches any suffix, "/" included.
func (pt *pattern) matches(path string) bool {
	if pt.plus == 0 {
		if pt.glob {
			return strings.HasPrefix(path, pt.body)
		}
		return path == pt.body
	}
	rest := path
	last := len(pt.segs) - 1
	for i, seg := range pt.segs {
		part, tail, more := strings.Cut(rest, "/")
		if i == last {
			if pt.glob { // the last segment is a prefix; what follows is free
				return seg == "+" || strings.HasPrefix(part, seg)
			}
			return !more && (seg == "+" || part == seg)
		}
		if !more || (seg != "+" && seg != part) {
			return false
		}
		rest = tail
	}
	return false // unreachable: segs is never empty
}

// outranks reports whether pt has a higher priority than o when both match
// a path, by Vault's documented rules, in order: the first wildcard ("+" or
// "*") comes later; no trailing "*"; fewer "+" segments; longer; and
// lexicographically greater. Distinct patterns are never tied.
func (pt *pattern) outranks(o *pattern) bool {
	switch {
	case pt.wild != o.wild:
		return pt.wild > o.wild
	case pt.glob != o.glob:
		return !pt.glob
	case pt.plus != o.plus:
		return pt.plus < o.plus
	case len(pt.raw) != len(o.raw):
		return len(pt.raw) > len(o.raw)
	default:
		return pt.raw > o.raw
	}
}
