package mount

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cofferhq/coffer/internal/errs"
)

// MaxPathLen is the longest mount path, in bytes (as for KV mounts).
const MaxPathLen = 128

// protected are the paths no mount may take: Vault's system and built-in
// backends. Auth mounts also may not take "token", the token store
// (auth/token/...). They are compared without regard to case.
var protected = map[string][]string{
	KindSecret: {"sys", "auth", "cubbyhole", "identity"},
	KindAuth:   {"sys", "auth", "cubbyhole", "identity", "token"},
}

// trimPath removes slashes at either end: "secret/" is "secret".
func trimPath(path string) string { return strings.Trim(path, "/") }

// checkKind returns errs.InvalidArgument unless kind is KindSecret or
// KindAuth.
func checkKind(kind string) error {
	if kind != KindSecret && kind != KindAuth {
		return errs.E(errs.InvalidArgument, "unknown mount kind %q", kind)
	}
	return nil
}

// validatePath checks a trimmed mount path of kind: 1 to MaxPathLen bytes
// of ASCII letters, digits, '.', '_' and '-', not "." or "..", and not
// protected. It is one segment: Vault allows nested mount paths
// ("team/kv"), Coffer does not yet, which also keeps the KV engine's AAD
// ("kv/<mount>/<path>/v<n>") unambiguous. Errors are errs.InvalidArgument.
func validatePath(kind, path string) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	switch {
	case path == "":
		return errs.E(errs.InvalidArgument, "path: must not be empty")
	case len(path) > MaxPathLen:
		return errs.E(errs.InvalidArgument, "path: must be at most %d characters long", MaxPathLen)
	case strings.Contains(path, "/"):
		return errs.E(errs.InvalidArgument, "path: nested mount paths are not supported; use a single segment")
	case strings.IndexFunc(path, func(r rune) bool { return !isNameChar(r) }) >= 0:
		return errs.E(errs.InvalidArgument, "path: may contain only letters, digits, '.', '_' and '-'")
	case path == "." || path == "..":
		return errs.E(errs.InvalidArgument, "path: must not be \".\" or \"..\"")
	}
	for _, p := range protected[kind] {
		if strings.EqualFold(path, p) {
			return errs.E(errs.InvalidArgument, "cannot mount under a protected path")
		}
	}
	return nil
}

// isNameChar reports whether r is an ASCII letter or digit, '.', '_' or '-'.
func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// checkType checks typ and options for a mount of kind, and returns the
// type and options to store: a copy of options (nil when empty), with
// "version": "2" for KV. A transit mount's settings options must parse.
func checkType(kind, typ string, options map[string]string) (string, map[string]string, error) {
	if typ == "" {
		return "", nil, errs.E(errs.InvalidArgument, "backend type must be specified")
	}
	if err := checkOptions(options); err != nil {
		return "", nil, err
	}
	opts := cloneOptions(options)
	switch {
	case kind == KindSecret && (typ == TypeKV || typ == "kv-v2"):
		if typ == "kv-v2" {
			delete(opts, "version")
		}
		return kvOptions(opts)
	case kind == KindSecret && typ == "kv-v1":
		return "", nil, errs.E(errs.InvalidArgument, "KV version 1 is not supported")
	case kind == KindSecret && typ == TypeTransit:
		if _, err := parseTransitOptions(opts); err != nil {
			return "", nil, err
		}
		return typ, opts, nil
	case kind == KindAuth && typ == TypeUserpass:
		return typ, opts, nil
	}
	return "", nil, errs.E(errs.InvalidArgument, "unknown backend type: %s", typ)
}

// kvOptions checks the options of a KV mount and sets version 2.
func kvOptions(opts map[string]string) (string, map[string]string, error) {
	switch v := opts["version"]; v {
	case "", "2":
	case "1":
		return "", nil, errs.E(errs.InvalidArgument, "KV version 1 is not supported")
	default:
		return "", nil, errs.E(errs.InvalidArgument, "options: unknown KV version %q", v)
	}
	if opts == nil {
		opts = map[string]string{}
	}
	opts["version"] = "2"
	return TypeKV, opts, nil
}

// checkOptions checks mount options: non-empty keys, and keys and values
// of valid UTF-8 without NUL, which both stores keep exactly.
func checkOptions(options map[string]string) error {
	for k, v := range options {
		if k == "" || !isText(k) || !isText(v) {
			return errs.E(errs.InvalidArgument, "options: keys must be non-empty, keys and values valid UTF-8 without NUL")
		}
	}
	return nil
}

// checkDescription checks a mount's description: valid UTF-8 without NUL.
func checkDescription(d string) error {
	if !isText(d) {
		return errs.E(errs.InvalidArgument, "description: must be valid UTF-8 without NUL")
	}
	return nil
}

// isText reports whether s is valid UTF-8 without NUL (PostgreSQL text
// cannot hold NUL, and JSON would replace invalid UTF-8).
func isText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// checkLeaseTTLs checks a mount's lease TTLs: not negative, and the
// default not above a maximum that is set (0 means the system's).
func checkLeaseTTLs(dflt, maxTTL time.Duration) error {
	switch {
	case dflt < 0 || maxTTL < 0:
		return errs.E(errs.InvalidArgument, "lease TTLs must not be negative")
	case maxTTL > 0 && dflt > maxTTL:
		return errs.E(errs.InvalidArgument, "given default lease TTL greater than given max lease TTL")
	}
	return nil
}
