package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
)

// Secret is a version of a path as the data and subkeys endpoints answer
// it. Data holds the values (numbers as json.Number) for ReadData, the
// structure for Subkeys, and is nil for a soft-deleted or destroyed version
// and for WriteData and PatchData (Vault's write response has no data).
// CustomMetadata is the path's, nil when it has none.
type Secret struct {
	Data           map[string]any
	Meta           VersionMeta
	CustomMetadata map[string]string
}

// GoneError is the error of ReadData and Subkeys for a version that exists
// but is soft-deleted (its DeletionTime has passed) or destroyed. Its kind
// is errs.NotFound, so it is a 404 like any missing version, but Vault
// answers it with the full envelope: data null and the version's metadata.
// The HTTP layer finds it with errors.As and renders Secret; the same
// *Secret is also returned beside the error.
type GoneError struct {
	Secret *Secret
}

// Error says which version is gone and how.
func (e *GoneError) Error() string { return e.cause().Error() }

// Unwrap returns the errs.NotFound error that gives GoneError its kind.
func (e *GoneError) Unwrap() error { return e.cause() }

func (e *GoneError) cause() error {
	if e.Secret.Meta.Destroyed {
		return errs.E(errs.NotFound, "version %d is destroyed", e.Secret.Meta.Version)
	}
	return errs.E(errs.NotFound, "version %d is deleted", e.Secret.Meta.Version)
}

// Vault's messages.
const (
	msgNoData      = "no data provided"
	msgCASMismatch = "check-and-set parameter did not match the current version"
	msgCASRequired = "check-and-set parameter required for this call"
)

// ReadData returns version (0: the current one) of path, opened. A missing
// path or version is errs.NotFound; a soft-deleted or destroyed one returns
// the Secret with nil Data together with a *GoneError.
func (s *Service) ReadData(ctx context.Context, mount, path string, version int) (*Secret, error) {
	if err := validateVersion(version); err != nil {
		return nil, err
	}
	sec, plaintext, err := s.open(ctx, mount, path, version)
	if err != nil {
		return sec, err
	}
	defer clear(plaintext)
	if sec.Data, err = decodeData(plaintext); err != nil {
		return nil, err
	}
	return sec, nil
}

// open reads and opens a version of path. For a gone version it returns
// the Secret and a *GoneError; the caller owns (and clears) the plaintext.
func (s *Service) open(ctx context.Context, mount, path string, version int) (*Secret, []byte, error) {
	if err := validateTarget(mount, path); err != nil {
		return nil, nil, err
	}
	ciphertext, vm, md, err := s.store.Read(ctx, mount, path, version)
	if err != nil {
		return nil, nil, fmt.Errorf("read kv version: %w", err)
	}
	sec := &Secret{Meta: *vm, CustomMetadata: md.CustomMetadata}
	if s.gone(vm) {
		return sec, nil, &GoneError{Secret: sec}
	}
	if ciphertext == nil {
		return nil, nil, errs.E(errs.Internal, "version %d of kv path %q is live but has no ciphertext", vm.Version, path)
	}
	plaintext, err := s.openValue(ctx, mount, path, vm.Version, ciphertext)
	if err != nil {
		return nil, nil, err
	}
	return sec, plaintext, nil
}

// gone reports whether vm is destroyed, or deleted at or before now.
func (s *Service) gone(vm *VersionMeta) bool {
	return vm.Destroyed || !vm.DeletionTime.IsZero() && !vm.DeletionTime.After(s.now())
}

func (s *Service) openValue(ctx context.Context, mount, path string, version int, ciphertext []byte) ([]byte, error) {
	keys, err := s.keys.Keys(ctx, mount)
	if err != nil {
		return nil, fmt.Errorf("get keys of mount %s: %w", mount, err)
	}
	plaintext, err := s.sealer.Open(ctx, keys, aad(mount, path, version), ciphertext)
	if err != nil {
		return nil, fmt.Errorf("open version %d of kv path %q: %w", version, path, err)
	}
	return plaintext, nil
}

// WriteData writes data as the path's next version. cas, when not nil,
// must equal the current version (0: the path must have none); when the
// mount or the path requires check-and-set, cas must be given. The Secret
// returned has nil Data.
func (s *Service) WriteData(ctx context.Context, mount, path string, data map[string]any, cas *int) (*Secret, error) {
	if err := validateTarget(mount, path); err != nil {
		return nil, err
	}
	if data == nil {
		return nil, errs.E(errs.InvalidArgument, msgNoData)
	}
	return s.put(ctx, mount, path, data, func(md *Metadata, mc *MountConfig) error { return checkCAS(md, mc, cas) })
}

// checkCAS enforces check-and-set with Vault's messages.
func checkCAS(md *Metadata, mc *MountConfig, cas *int) error {
	if cas == nil {
		if mc.CASRequired || md != nil && md.CASRequired {
			return errs.E(errs.InvalidArgument, msgCASRequired)
		}
		return nil
	}
	current := 0
	if md != nil {
		current = md.CurrentVersion
	}
	if *cas != current {
		return errs.E(errs.FailedPrecondition, msgCASMismatch)
	}
	return nil
}

// put encodes data and stores it as the path's next version, sealed for
// that version inside the store's transaction once check has passed.
func (s *Service) put(ctx context.Context, mount, path string, data map[string]any, check func(*Metadata, *MountConfig) error) (*Secret, error) {
	plaintext, err := encodeData(data)
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	keys, err := s.keys.Keys(ctx, mount)
	if err != nil {
		return nil, fmt.Errorf("get keys of mount %s: %w", mount, err)
	}
	md, err := s.store.Put(ctx, mount, path, s.now(), check, func(version int) ([]byte, error) {
		return s.sealer.Seal(ctx, keys, aad(mount, path, version), plaintext)
	})
	if err != nil {
		return nil, fmt.Errorf("write kv path: %w", err)
	}
	return &Secret{Meta: md.Versions[len(md.Versions)-1], CustomMetadata: md.CustomMetadata}, nil
}

// errPatchRace is what a patch's check returns when another write got in
// between its read and its write; PatchData then starts over.
var errPatchRace = errors.New("the secret changed while it was being patched")

// maxPatchAttempts bounds how often PatchData starts over.
const maxPatchAttempts = 32

// PatchData applies patch to the current version as a JSON merge patch
// (RFC 7386: null removes a key, objects merge, anything else replaces)
// and writes the result as the next version. The path must exist and its
// current version be live, else errs.NotFound. cas and cas_required work
// as for WriteData. The Secret returned has nil Data.
func (s *Service) PatchData(ctx context.Context, mount, path string, patch map[string]any, cas *int) (*Secret, error) {
	if err := validateTarget(mount, path); err != nil {
		return nil, err
	}
	if patch == nil {
		return nil, errs.E(errs.InvalidArgument, msgNoData)
	}
	for range maxPatchAttempts {
		sec, err := s.patchOnce(ctx, mount, path, patch, cas)
		if !errors.Is(err, errPatchRace) {
			return sec, err
		}
	}
	return nil, errs.E(errs.Unavailable, "path %q is being written too often to patch; retry", path)
}

// patchOnce reads the current version, merges patch into it, and writes
// the result if no other write came in between (errPatchRace otherwise).
func (s *Service) patchOnce(ctx context.Context, mount, path string, patch map[string]any, cas *int) (*Secret, error) {
	cur, plaintext, err := s.open(ctx, mount, path, 0)
	var gone *GoneError
	if errors.As(err, &gone) {
		return nil, errs.E(errs.NotFound, "the current version of path %q is deleted or destroyed", path)
	}
	if err != nil {
		return nil, err
	}
	data, err := decodeData(plaintext)
	clear(plaintext)
	if err != nil {
		return nil, err
	}
	merged := mergePatch(data, patch)
	return s.put(ctx, mount, path, merged, func(md *Metadata, mc *MountConfig) error {
		if md == nil {
			return errs.E(errs.NotFound, "kv path %q not found", path)
		}
		if err := checkCAS(md, mc, cas); err != nil {
			return err
		}
		if md.CurrentVersion != cur.Meta.Version || s.gone(currentMeta(md)) {
			return errPatchRace
		}
		return nil
	})
}

// currentMeta returns the metadata of md's current version.
func currentMeta(md *Metadata) *VersionMeta {
	for i := range md.Versions {
		if md.Versions[i].Version == md.CurrentVersion {
			return &md.Versions[i]
		}
	}
	return &VersionMeta{Version: md.CurrentVersion, Destroyed: true} // pruned: treat as gone
}

// Subkeys returns the structure of version (0: the current one) of path
// in Secret.Data: its keys, with every leaf (and every value at depth,
// when depth > 0) null. A soft-deleted or destroyed version returns the
// Secret with nil Data together with a *GoneError, as ReadData does.
func (s *Service) Subkeys(ctx context.Context, mount, path string, version, depth int) (*Secret, error) {
	if err := validateVersion(version); err != nil {
		return nil, err
	}
	if depth < 0 {
		return nil, errs.E(errs.InvalidArgument, "depth must not be negative")
	}
	sec, err := s.ReadData(ctx, mount, path, version)
	if err != nil {
		return sec, err
	}
	sec.Data = subkeys(sec.Data, depth)
	return sec, nil
}

func validateVersion(version int) error {
	if version < 0 {
		return errs.E(errs.InvalidArgument, "version must not be negative")
	}
	return nil
}

// encodeData returns data as JSON. The encoder's error is left out: it
// may quote a value.
func encodeData(data map[string]any) ([]byte, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "data cannot be encoded as JSON")
	}
	return b, nil
}

// decodeData parses a stored value, keeping numbers exact (json.Number).
func decodeData(plaintext []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(plaintext))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil || data == nil {
		return nil, errs.E(errs.Internal, "stored value is not a JSON object")
	}
	return data, nil
}
