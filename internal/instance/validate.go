package instance

import (
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
)

// Limits on client-chosen fields. STACKIT publishes none; these are Coffer's
// and are also declared in openapi/secretsmanager.yaml.
const (
	MaxNameLen        = 64
	MaxDescriptionLen = 255
	MaxEmailLen       = 255
)

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	regionRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
)

func validateName(name string) error {
	if name == "" || len(name) > MaxNameLen || !nameRE.MatchString(name) {
		return errs.E(errs.InvalidArgument,
			"name: invalid instance name (1 to %d characters: letters, digits, '.', '_', '-'; starting with a letter or digit)",
			MaxNameLen)
	}
	return nil
}

func validateDescription(d string) error {
	if utf8.RuneCountInString(d) > MaxDescriptionLen {
		return errs.E(errs.InvalidArgument, "description: user description too long (at most %d characters)", MaxDescriptionLen)
	}
	if !printable(d) {
		return errs.E(errs.InvalidArgument, "description: must be valid UTF-8 without control characters")
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters
// other than tab and newline. NUL in particular cannot be stored in
// PostgreSQL text, and no field of this API has a use for it.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' {
			return false
		}
	}
	return true
}

// validateEmail checks the shape of a service account email: one "@",
// no spaces or control characters, at most MaxEmailLen bytes.
func validateEmail(field, e string) error {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(e) > MaxEmailLen ||
		!printable(e) || strings.ContainsAny(e, " \t\n") {
		return errs.E(errs.InvalidArgument, "%s: must be an email address of at most %d characters", field, MaxEmailLen)
	}
	return nil
}

// ValidateCIDR checks that s is an IPv4 or IPv6 prefix in CIDR notation.
func ValidateCIDR(field, s string) error {
	if !strings.Contains(s, "/") {
		return errs.E(errs.InvalidArgument, "%s: Cidr not valid: %q is not in CIDR notation (address/bits)", field, s)
	}
	if _, err := netip.ParsePrefix(s); err != nil {
		return errs.E(errs.InvalidArgument, "%s: Cidr not valid: %q", field, s)
	}
	return nil
}

func validateUUID(field, s string) error {
	if uuid.Validate(s) != nil {
		return errs.E(errs.InvalidArgument, "%s: must be a UUID", field)
	}
	return nil
}
