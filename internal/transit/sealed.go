package transit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// sealedFormat is the version of keyRecord, the plaintext inside
// StoredKey.Sealed. A change of its fields that old readers cannot read
// needs a new format and code that reads both.
const sealedFormat = 1

// keyRecord is a Key as serialized for sealing: every exported field.
// encoding/json writes struct fields in order and map keys sorted, so a
// Key always serializes to the same bytes.
type keyRecord struct {
	Format               int                    `json:"format"`
	Name                 string                 `json:"name"`
	Type                 string                 `json:"type"`
	Derived              bool                   `json:"derived"`
	Convergent           bool                   `json:"convergent"`
	Exportable           bool                   `json:"exportable"`
	AllowPlaintextBackup bool                   `json:"allow_plaintext_backup"`
	DeletionAllowed      bool                   `json:"deletion_allowed"`
	MinDecryptionVersion int                    `json:"min_decryption_version"`
	MinEncryptionVersion int                    `json:"min_encryption_version"`
	MinAvailableVersion  int                    `json:"min_available_version"`
	LatestVersion        int                    `json:"latest_version"`
	AutoRotatePeriodNS   int64                  `json:"auto_rotate_period_ns"`
	KeySize              int                    `json:"key_size"`
	Versions             map[int]*versionRecord `json:"versions"`
}

// versionRecord is a Version as serialized for sealing.
type versionRecord struct {
	Material     []byte    `json:"material"`
	HMACKey      []byte    `json:"hmac_key,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	PublicKeyPEM string    `json:"public_key_pem,omitempty"`
}

// sealAAD binds a sealed key to its row: moved to another mount or name,
// it no longer unseals.
func sealAAD(mount, name string) []byte {
	return []byte("coffer/transit/" + mount + "/" + name)
}

// marshalKey serializes k, material included. The caller must clear the
// result when done with it.
func marshalKey(k *Key) ([]byte, error) {
	r := keyRecord{
		Format: sealedFormat, Name: k.Name, Type: k.Type,
		Derived: k.Derived, Convergent: k.Convergent,
		Exportable: k.Exportable, AllowPlaintextBackup: k.AllowPlaintextBackup, DeletionAllowed: k.DeletionAllowed,
		MinDecryptionVersion: k.MinDecryptionVersion, MinEncryptionVersion: k.MinEncryptionVersion,
		MinAvailableVersion: k.MinAvailableVersion, LatestVersion: k.LatestVersion,
		AutoRotatePeriodNS: int64(k.AutoRotatePeriod), KeySize: k.KeySize,
		Versions: make(map[int]*versionRecord, len(k.Versions)),
	}
	for n, v := range k.Versions {
		r.Versions[n] = &versionRecord{Material: v.Material, HMACKey: v.HMACKey,
			CreatedAt: v.CreatedAt.UTC(), PublicKeyPEM: v.PublicKeyPEM}
	}
	b, err := json.Marshal(&r)
	if err != nil {
		// json's errors here could only name types, never values; still,
		// keep the message fixed.
		return nil, errs.E(errs.Internal, "serialize transit key %s", k.Name)
	}
	return b, nil
}

// unmarshalKey parses what marshalKey made and checks that it is a
// consistent Key of the given name. Its errors never quote the input.
func unmarshalKey(b []byte, name string) (*Key, error) {
	var r keyRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, errs.E(errs.Internal, "parse sealed transit key %s", name)
	}
	if r.Format != sealedFormat {
		return nil, errs.E(errs.Internal, "sealed transit key %s has unknown format %d", name, r.Format)
	}
	k := &Key{
		Name: r.Name, Type: r.Type, Derived: r.Derived, Convergent: r.Convergent,
		Exportable: r.Exportable, AllowPlaintextBackup: r.AllowPlaintextBackup, DeletionAllowed: r.DeletionAllowed,
		MinDecryptionVersion: r.MinDecryptionVersion, MinEncryptionVersion: r.MinEncryptionVersion,
		MinAvailableVersion: r.MinAvailableVersion, LatestVersion: r.LatestVersion,
		AutoRotatePeriod: time.Duration(r.AutoRotatePeriodNS), KeySize: r.KeySize,
		Versions: make(map[int]*Version, len(r.Versions)),
	}
	for n, v := range r.Versions {
		if v == nil {
			continue
		}
		k.Versions[n] = &Version{Material: v.Material, HMACKey: v.HMACKey, CreatedAt: v.CreatedAt, PublicKeyPEM: v.PublicKeyPEM}
	}
	if err := k.checkRestored(name); err != nil {
		return nil, err
	}
	return k, nil
}

// checkRestored checks the invariants the methods rely on, so that a
// corrupt record fails here and not in the middle of a request.
func (k *Key) checkRestored(name string) error {
	if k.Name != name {
		return errs.E(errs.Internal, "sealed transit key %s holds key %s", name, k.Name)
	}
	if _, err := lookupType(k.Type); err != nil {
		return errs.E(errs.Internal, "sealed transit key %s has unknown type %s", name, k.Type)
	}
	first := max(k.MinAvailableVersion, 1)
	if k.LatestVersion < first || k.MinDecryptionVersion < 1 || len(k.Versions) != k.LatestVersion-first+1 {
		return errs.E(errs.Internal, "sealed transit key %s has inconsistent versions", name)
	}
	for n := first; n <= k.LatestVersion; n++ {
		if v := k.Versions[n]; v == nil || len(v.Material) == 0 {
			return errs.E(errs.Internal, "sealed transit key %s lacks version %d", name, n)
		}
	}
	return nil
}

// errUnseal is the error for a sealed key that the seal refuses.
func errUnseal(mount, name string, err error) error {
	return errs.Wrap(errs.Internal, err, fmt.Sprintf(
		"unseal transit key %s/%s: wrong root key, tampered value, or a sealed key moved from another row", mount, name))
}
