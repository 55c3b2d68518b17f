package mount

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cofferhq/coffer/internal/errs"
)

// The options of a transit mount that hold the engine's mount-wide
// settings (Vault's <mount>/config/keys and <mount>/cache-config). They
// live in Mount.Options, so both stores keep them and sys/mounts shows
// them; absent means Vault's defaults (upserts allowed, size 0).
const (
	OptionDisableUpsert = "disable_upsert" // "true" or "false"
	OptionCacheSize     = "cache_size"     // decimal: 0, or at least MinCacheSize
)

// MinCacheSize is the smallest non-zero transit cache size Vault accepts.
const MinCacheSize = 10

// TransitSettings are a transit mount's engine settings.
type TransitSettings struct {
	// DisableUpsert stops encrypt from creating a missing key.
	DisableUpsert bool
	// CacheSize is the configured key cache size, 0 meaning unlimited.
	// Coffer stores and returns it; its key cache does not obey it.
	CacheSize int
}

// ErrCacheSize is Vault's answer to a cache size that is neither 0 nor at
// least MinCacheSize (vault-api.md §1.1).
func ErrCacheSize() error {
	return errs.E(errs.InvalidArgument, "size must be 0 or a value greater or equal to 10")
}

// Options returns s as the options to store.
func (s TransitSettings) Options() map[string]string {
	return map[string]string{
		OptionDisableUpsert: strconv.FormatBool(s.DisableUpsert),
		OptionCacheSize:     strconv.Itoa(s.CacheSize),
	}
}

// Transit returns the settings held in the mount's options. A value that
// does not parse (which SetOptions and Enable refuse) is errs.Internal.
func (m *Mount) Transit() (TransitSettings, error) {
	s, err := parseTransitOptions(m.Options)
	if err != nil {
		return TransitSettings{}, errs.Wrap(errs.Internal, err, fmt.Sprintf("transit mount %s has bad options", m.Path))
	}
	return s, nil
}

// parseTransitOptions reads the transit settings of options, defaults for
// absent ones; a bad value is errs.InvalidArgument naming the option.
func parseTransitOptions(options map[string]string) (TransitSettings, error) {
	var s TransitSettings
	if v, ok := options[OptionDisableUpsert]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, errs.E(errs.InvalidArgument, "options: %s: expected a boolean", OptionDisableUpsert)
		}
		s.DisableUpsert = b
	}
	if v, ok := options[OptionCacheSize]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s, errs.E(errs.InvalidArgument, "options: %s: expected an integer", OptionCacheSize)
		}
		if n != 0 && n < MinCacheSize {
			return s, ErrCacheSize()
		}
		s.CacheSize = n
	}
	return s, nil
}

// SetOptions sets the options in set on the mount of kind at path and
// keeps its other options, atomically (a concurrent SetOptions of other
// options is not lost). Keys and values must be text (errs.InvalidArgument),
// and the transit settings among them must parse, whatever the mount's
// type; an unknown mount is errs.NotFound.
func (s *Service) SetOptions(ctx context.Context, kind, path string, set map[string]string) error {
	path = trimPath(path)
	if validatePath(kind, path) != nil {
		return errs.E(errs.NotFound, "no mount at %s/", path)
	}
	if err := checkOptions(set); err != nil {
		return err
	}
	if _, err := parseTransitOptions(set); err != nil {
		return err
	}
	err := s.store.SetMountOptions(ctx, kind, path, cloneOptions(set))
	s.invalidate(Changed(kind, path)) // also on failure: the write may have committed
	if err != nil {
		return fmt.Errorf("set mount options: %w", err)
	}
	return nil
}
