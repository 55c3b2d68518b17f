package kv

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cofferhq/coffer/internal/errs"
)

// Vault's limits on custom_metadata.
const (
	MaxCustomMetadataKeys     = 64
	MaxCustomMetadataKeyLen   = 128 // bytes
	MaxCustomMetadataValueLen = 512 // bytes
)

// MetadataUpdate changes a path's metadata. Nil fields stay as they are,
// for WriteMetadata as for PatchMetadata (Vault's metadata write changes
// only the fields it is given).
type MetadataUpdate struct {
	MaxVersions        *int // 0: the mount's setting
	CASRequired        *bool
	DeleteVersionAfter *time.Duration // 0: the mount's setting
	// CustomMetadata, when not nil, replaces the custom metadata
	// (WriteMetadata; keys with nil values are left out) or is merged into
	// it (PatchMetadata; a nil value removes its key).
	CustomMetadata map[string]*string
}

// ReadMetadata returns the path's metadata with its retained versions;
// errs.NotFound when the path has none.
func (s *Service) ReadMetadata(ctx context.Context, mount, path string) (*Metadata, error) {
	if err := validateTarget(mount, path); err != nil {
		return nil, err
	}
	md, err := s.store.Metadata(ctx, mount, path)
	if err != nil {
		return nil, fmt.Errorf("read kv metadata: %w", err)
	}
	return md, nil
}

// WriteMetadata applies u to the path's metadata, creating it (without
// versions) when the path has none; custom metadata given replaces the old.
// Lowering max_versions prunes the oldest versions at once. Invalid
// settings or custom metadata beyond Vault's limits are
// errs.InvalidArgument.
func (s *Service) WriteMetadata(ctx context.Context, mount, path string, u MetadataUpdate) error {
	return s.updateMetadata(ctx, mount, path, u, func(_, given map[string]*string) map[string]string {
		out := map[string]string{}
		for k, v := range given {
			if v != nil {
				out[k] = *v
			}
		}
		return out
	})
}

// PatchMetadata applies u to the path's metadata as WriteMetadata does,
// but merges custom metadata: given keys are set, keys given a nil value
// removed, others kept.
func (s *Service) PatchMetadata(ctx context.Context, mount, path string, u MetadataUpdate) error {
	return s.updateMetadata(ctx, mount, path, u, func(old, given map[string]*string) map[string]string {
		out := map[string]string{}
		for k, v := range old {
			out[k] = *v
		}
		for k, v := range given {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = *v
			}
		}
		return out
	})
}

// updateMetadata reads the path's metadata (or starts a new one), applies
// u with merge deciding the custom metadata, validates and stores it.
// NOTE: two concurrent updates of one path's metadata may interleave; the
// last write wins for every settable field (versions are not affected).
func (s *Service) updateMetadata(ctx context.Context, mount, path string, u MetadataUpdate,
	merge func(old, given map[string]*string) map[string]string) error {
	if err := validateTarget(mount, path); err != nil {
		return err
	}
	if err := validateSettings(u.MaxVersions, u.DeleteVersionAfter); err != nil {
		return err
	}
	md, err := s.store.Metadata(ctx, mount, path)
	if errs.KindOf(err) == errs.NotFound {
		md, err = &Metadata{Mount: mount, Path: path}, nil
	}
	if err != nil {
		return fmt.Errorf("read kv metadata: %w", err)
	}
	setIf(&md.MaxVersions, u.MaxVersions)
	setIf(&md.CASRequired, u.CASRequired)
	setIf(&md.DeleteVersionAfter, u.DeleteVersionAfter)
	if u.CustomMetadata != nil {
		md.CustomMetadata = merge(pointers(md.CustomMetadata), u.CustomMetadata)
		if err := validateCustomMetadata(md.CustomMetadata); err != nil {
			return err
		}
	}
	if err := s.store.WriteMetadata(ctx, md, s.now()); err != nil {
		return fmt.Errorf("write kv metadata: %w", err)
	}
	return nil
}

// pointers returns m with each value behind a pointer.
func pointers(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = &v
	}
	return out
}

// validateCustomMetadata checks Vault's limits: at most 64 keys, keys of
// 1 to 128 bytes, values of at most 512 bytes, all valid UTF-8 without
// control characters. Values are never quoted in errors.
func validateCustomMetadata(m map[string]string) error {
	if len(m) > MaxCustomMetadataKeys {
		return errs.E(errs.InvalidArgument, "custom_metadata: at most %d keys are allowed, got %d", MaxCustomMetadataKeys, len(m))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch {
		case k == "":
			return errs.E(errs.InvalidArgument, "custom_metadata: keys must not be empty")
		case len(k) > MaxCustomMetadataKeyLen:
			return errs.E(errs.InvalidArgument, "custom_metadata: a key is longer than %d bytes", MaxCustomMetadataKeyLen)
		case !printable(k):
			return errs.E(errs.InvalidArgument, "custom_metadata: key %q contains control characters or invalid UTF-8", k)
		case len(m[k]) > MaxCustomMetadataValueLen:
			return errs.E(errs.InvalidArgument, "custom_metadata: the value of key %q is longer than %d bytes", k, MaxCustomMetadataValueLen)
		case !printable(m[k]):
			return errs.E(errs.InvalidArgument, "custom_metadata: the value of key %q contains control characters or invalid UTF-8", k)
		}
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// DeleteMetadata removes the path with its metadata and every version.
// Like Vault, a path that does not exist is not an error.
func (s *Service) DeleteMetadata(ctx context.Context, mount, path string) error {
	if err := validateTarget(mount, path); err != nil {
		return err
	}
	return ignoreNotFound(s.store.DeleteMetadata(ctx, mount, path), "delete kv metadata")
}

// List returns the direct children of the folder prefix ("" for the mount's
// root; with or without a trailing "/"): "name" for a path, "name/" for a
// folder, sorted. No children is errs.NotFound, as Vault answers 404.
func (s *Service) List(ctx context.Context, mount, prefix string) ([]string, error) {
	if err := validateMount(mount); err != nil {
		return nil, err
	}
	prefix, err := validatePrefix(prefix)
	if err != nil {
		return nil, err
	}
	keys, err := s.store.List(ctx, mount, prefix)
	if err != nil {
		return nil, fmt.Errorf("list kv paths: %w", err)
	}
	if len(keys) == 0 {
		return nil, errs.E(errs.NotFound, "no paths under %q", prefix)
	}
	return keys, nil
}
