package kv

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cofferhq/coffer/internal/errs"
)

// MaxPathLen is the longest path, in bytes.
const MaxPathLen = 512

// maxMountLen is the longest mount name, in bytes.
const maxMountLen = 128

// validatePath checks a secret's path: non-empty, at most MaxPathLen
// bytes of valid UTF-8 without control characters, no leading or trailing
// "/", no empty, "." or ".." segment. Errors are errs.InvalidArgument
// naming the field.
func validatePath(path string) error {
	if path == "" {
		return errs.E(errs.InvalidArgument, "path: must not be empty")
	}
	if strings.HasSuffix(path, "/") {
		return errs.E(errs.InvalidArgument, "path: must not end with \"/\" (only a list names a folder)")
	}
	return validatePathText(path)
}

// validatePrefix checks a list prefix and returns it as the store wants
// it: "" or a path followed by "/". Vault's clients send the folder with
// or without its trailing "/".
func validatePrefix(prefix string) (string, error) {
	if prefix == "" {
		return "", nil
	}
	if err := validatePathText(prefix); err != nil {
		return "", err
	}
	return strings.TrimSuffix(prefix, "/") + "/", nil
}

// validatePathText checks everything validatePath does but the trailing
// "/" and emptiness.
func validatePathText(path string) error {
	switch {
	case len(path) > MaxPathLen:
		return errs.E(errs.InvalidArgument, "path: must be at most %d bytes long", MaxPathLen)
	case !utf8.ValidString(path):
		return errs.E(errs.InvalidArgument, "path: must be valid UTF-8")
	case strings.IndexFunc(path, unicode.IsControl) >= 0:
		return errs.E(errs.InvalidArgument, "path: must not contain control characters")
	case strings.HasPrefix(path, "/"):
		return errs.E(errs.InvalidArgument, "path: must not begin with \"/\"")
	case strings.Contains(path, "//"):
		return errs.E(errs.InvalidArgument, "path: must not contain \"//\"")
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return errs.E(errs.InvalidArgument, "path: must not contain \".\" or \"..\" segments")
		}
	}
	return nil
}

// validateMount checks a mount name (an instance ID, or a name given to
// sys/mounts): non-empty, at most 128 bytes of valid UTF-8 without control
// characters, and no "/", so that the AAD names one mount.
func validateMount(mount string) error {
	switch {
	case mount == "":
		return errs.E(errs.InvalidArgument, "mount: must not be empty")
	case len(mount) > maxMountLen:
		return errs.E(errs.InvalidArgument, "mount: must be at most %d bytes long", maxMountLen)
	case !utf8.ValidString(mount) || strings.IndexFunc(mount, unicode.IsControl) >= 0:
		return errs.E(errs.InvalidArgument, "mount: must be valid UTF-8 without control characters")
	case strings.Contains(mount, "/"):
		return errs.E(errs.InvalidArgument, "mount: must not contain \"/\"")
	}
	return nil
}

// validateTarget checks a mount and a secret's path.
func validateTarget(mount, path string) error {
	if err := validateMount(mount); err != nil {
		return err
	}
	return validatePath(path)
}
