package transit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
)

// Backups (Vault's GET backup/:name and POST restore) are Coffer's own
// format, not Vault's: Vault's backup is base64 of its internal policy
// JSON (§1.1), which Coffer neither writes nor reads. A Coffer backup
// restores only into Coffer. It is base64 (standard, padded) of one JSON
// object:
//
//	{"kind": "coffer-transit-backup", "version": 1,
//	 "key": {"name", "type", "derived", "convergent", "exportable",
//	         "allow_plaintext_backup", "deletion_allowed",
//	         "min_decryption_version", "min_encryption_version",
//	         "min_available_version", "latest_version",
//	         "auto_rotate_period_ns", "key_size",
//	         "versions": {"<n>": {"material": "<base64>", "hmac_key": "<base64>",
//	                              "created_at": "<RFC 3339>"}}}}
//
// material is the version's key in keyring's form (raw AEAD or hmac key,
// PKCS#8 DER for RSA, ECDSA and Ed25519); hmac_key is the version's
// 256-bit key of the hmac endpoint (absent for type hmac). Public keys are
// not stored: restore derives them from the material. The backup holds
// every version the key keeps (min_available_version or 1 to latest), so
// trimmed versions stay gone.
const (
	backupKind    = "coffer-transit-backup"
	backupVersion = 1
)

type backupDoc struct {
	Kind    string     `json:"kind"`
	Version int        `json:"version"`
	Key     *backupKey `json:"key"`
}

type backupKey struct {
	Name                 string                          `json:"name"`
	Type                 string                          `json:"type"`
	Derived              bool                            `json:"derived"`
	Convergent           bool                            `json:"convergent"`
	Exportable           bool                            `json:"exportable"`
	AllowPlaintextBackup bool                            `json:"allow_plaintext_backup"`
	DeletionAllowed      bool                            `json:"deletion_allowed"`
	MinDecryptionVersion int                             `json:"min_decryption_version"`
	MinEncryptionVersion int                             `json:"min_encryption_version"`
	MinAvailableVersion  int                             `json:"min_available_version"`
	LatestVersion        int                             `json:"latest_version"`
	AutoRotatePeriodNS   int64                           `json:"auto_rotate_period_ns"`
	KeySize              int                             `json:"key_size"`
	Versions             map[string]*backupVersionRecord `json:"versions"`
}

type backupVersionRecord struct {
	Material  []byte    `json:"material"`
	HMACKey   []byte    `json:"hmac_key,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Backup returns the key's backup in Coffer's format (see backupKind),
// material included. As in Vault, the key must be Exportable and allow
// plaintext backups; otherwise errs.FailedPrecondition with Vault's
// messages, which Vault answers with HTTP 500 (§1.1).
func (k *Key) Backup() (string, error) {
	if !k.Exportable {
		return "", errs.E(errs.FailedPrecondition, "exporting is disallowed on the policy")
	}
	if !k.AllowPlaintextBackup {
		return "", errs.E(errs.FailedPrecondition, "plaintext backup is disallowed on the policy")
	}
	bk := &backupKey{
		Name: k.Name, Type: k.Type, Derived: k.Derived, Convergent: k.Convergent,
		Exportable: k.Exportable, AllowPlaintextBackup: k.AllowPlaintextBackup, DeletionAllowed: k.DeletionAllowed,
		MinDecryptionVersion: k.MinDecryptionVersion, MinEncryptionVersion: k.MinEncryptionVersion,
		MinAvailableVersion: k.MinAvailableVersion, LatestVersion: k.LatestVersion,
		AutoRotatePeriodNS: int64(k.AutoRotatePeriod), KeySize: k.KeySize,
		Versions: make(map[string]*backupVersionRecord, len(k.Versions)),
	}
	for n, v := range k.Versions {
		bk.Versions[strconv.Itoa(n)] = &backupVersionRecord{Material: v.Material, HMACKey: v.HMACKey, CreatedAt: v.CreatedAt.UTC()}
	}
	b, err := json.Marshal(&backupDoc{Kind: backupKind, Version: backupVersion, Key: bk})
	if err != nil {
		return "", errs.E(errs.Internal, "serialize backup of transit key %s", k.Name)
	}
	defer clear(b)
	return base64.StdEncoding.EncodeToString(b), nil
}

// maxBackupVersions bounds the versions a backup may hold, so that a
// forged document cannot make restore loop for long.
const maxBackupVersions = 1 << 16

// ParseBackup parses and checks a backup made by Backup, as a whole, and
// returns its key: the format and kind, the type, the options (as NewKey
// checks them), the version numbers (exactly min_available_version or 1
// to latest_version, the min versions in range as SetConfig and Trim
// leave them), and every version's material (size, key type, curve or
// modulus, as keyring.Load checks it) and HMAC key. Anything wrong is
// errs.InvalidArgument "invalid backup: …"; messages never quote the
// input. Public keys are derived from the material.
func ParseBackup(backup string) (*Key, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(backup)
	if err != nil {
		return nil, errBackup("not base64")
	}
	defer clear(raw)
	var doc backupDoc
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, errBackup("not a Coffer transit backup document")
	}
	switch {
	case doc.Kind != backupKind:
		return nil, errBackup("not a Coffer transit backup (Vault's backups cannot be restored into Coffer)")
	case doc.Version != backupVersion:
		return nil, errBackup(fmt.Sprintf("unsupported backup version %d", doc.Version))
	case doc.Key == nil:
		return nil, errBackup("no key")
	}
	return doc.Key.toKey()
}

func errBackup(reason string) error {
	return errs.E(errs.InvalidArgument, "invalid backup: %s", reason)
}

// toKey checks bk and returns it as a Key.
func (bk *backupKey) toKey() (*Key, error) {
	if bk.Name == "" || strings.Contains(bk.Name, "/") {
		return nil, errBackup("bad key name")
	}
	kt, err := lookupType(bk.Type)
	if err != nil {
		return nil, errBackup("unknown key type")
	}
	opts := Options{Derived: bk.Derived, Convergent: bk.Convergent, KeySize: bk.KeySize,
		AutoRotatePeriod: time.Duration(bk.AutoRotatePeriodNS)}
	if err := checkCreate(bk.Type, kt, &opts); err != nil {
		return nil, errBackup(errs.Message(err))
	}
	if bk.AutoRotatePeriodNS < 0 || (bk.Type == TypeHMAC && bk.KeySize == 0) {
		return nil, errBackup("bad options")
	}
	if err := bk.checkVersions(); err != nil {
		return nil, err
	}
	k := &Key{
		Name: bk.Name, Type: bk.Type, Derived: bk.Derived, Convergent: bk.Convergent,
		Exportable: bk.Exportable, AllowPlaintextBackup: bk.AllowPlaintextBackup, DeletionAllowed: bk.DeletionAllowed,
		MinDecryptionVersion: bk.MinDecryptionVersion, MinEncryptionVersion: bk.MinEncryptionVersion,
		MinAvailableVersion: bk.MinAvailableVersion, LatestVersion: bk.LatestVersion,
		AutoRotatePeriod: opts.AutoRotatePeriod, KeySize: bk.KeySize,
		Versions: make(map[int]*Version, len(bk.Versions)),
	}
	for s, rec := range bk.Versions {
		n, _ := strconv.Atoi(s) // checkVersions checked the numbers
		v, err := restoreVersion(bk.Type, kt, bk.KeySize, n, rec)
		if err != nil {
			return nil, err
		}
		k.Versions[n] = v
	}
	return k, nil
}

// checkVersions checks the version numbers: the map holds exactly first
// to latest, and the min versions are where SetConfig and Trim leave them.
func (bk *backupKey) checkVersions() error {
	first := max(bk.MinAvailableVersion, 1)
	minDec, minEnc := bk.MinDecryptionVersion, bk.MinEncryptionVersion
	switch {
	case bk.LatestVersion < 1 || bk.MinAvailableVersion < 0 || bk.MinAvailableVersion > bk.LatestVersion:
		return errBackup("inconsistent versions")
	case bk.LatestVersion-first+1 > maxBackupVersions:
		return errBackup("too many versions")
	case minDec < first || minDec > bk.LatestVersion:
		return errBackup("min_decryption_version out of range")
	case minEnc != 0 && (minEnc < minDec || minEnc > bk.LatestVersion):
		return errBackup("min_encryption_version out of range")
	case bk.MinAvailableVersion > 0 && (minEnc == 0 || bk.MinAvailableVersion > min(minDec, minEnc)):
		return errBackup("min_available_version out of range")
	case len(bk.Versions) != bk.LatestVersion-first+1:
		return errBackup("inconsistent versions")
	}
	for s := range bk.Versions {
		n, ok := parseVersionNumber(s)
		if !ok || n < first || n > bk.LatestVersion {
			return errBackup("inconsistent versions")
		}
	}
	return nil
}

// parseVersionNumber parses a positive decimal without sign or leading
// zeros, so that two keys of the versions object cannot name one version.
func parseVersionNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 || s[0] == '0' {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// restoreVersion checks one version's record and returns the Version.
func restoreVersion(typ string, kt keyType, keySize, n int, rec *backupVersionRecord) (*Version, error) {
	if rec == nil || rec.CreatedAt.IsZero() {
		return nil, errBackup(fmt.Sprintf("version %d is incomplete", n))
	}
	v := &Version{Material: bytes.Clone(rec.Material), HMACKey: bytes.Clone(rec.HMACKey), CreatedAt: rec.CreatedAt.UTC()}
	if typ == TypeHMAC {
		if len(v.Material) != keySize || len(v.HMACKey) != 0 {
			return nil, errBackup(fmt.Sprintf("version %d has key material of the wrong size", n))
		}
		return v, nil
	}
	if len(v.HMACKey) != hmacKeySize {
		return nil, errBackup(fmt.Sprintf("version %d has an HMAC key of the wrong size", n))
	}
	kr, err := keyring.Load(kt.alg, v.Material)
	if err != nil {
		return nil, errBackup(fmt.Sprintf("version %d has key material that does not fit type %s", n, typ))
	}
	defer kr.Destroy()
	if kt.asymmetric() {
		if v.PublicKeyPEM, err = kr.PublicKeyPEM(); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "derive public key")
		}
	}
	return v, nil
}

// maxRestoreAttempts bounds Restore's create-or-replace loop against a
// key that is deleted and created concurrently.
const maxRestoreAttempts = 3

// Restore stores the key of backup (see ParseBackup, whose errors it
// returns) as key name of mount, or under the backup's own name when name
// is empty. An existing key of that name is errs.AlreadyExists
// `key "<name>" already exists` (Vault's message, which it answers with
// HTTP 500), unless force is set: then the backup replaces it, all of it.
// Nothing is stored unless the whole backup is valid.
func (s *Service) Restore(ctx context.Context, mount, name, backup string, force bool) (*Key, error) {
	if mount == "" {
		return nil, errs.E(errs.InvalidArgument, "missing transit mount")
	}
	k, err := ParseBackup(backup)
	if err != nil {
		return nil, err
	}
	if name != "" {
		k.Name = name
	}
	for range maxRestoreAttempts {
		sk, err := s.seal(mount, k, 1)
		if err != nil {
			return nil, err
		}
		err = s.st.Create(ctx, sk)
		s.cache.Apply(KeyChanged(mount, k.Name)) // as Create does
		if err == nil {
			s.remember(sk, k)
			return k, nil
		}
		if errs.KindOf(err) != errs.AlreadyExists {
			return nil, fmt.Errorf("restore transit key: %w", err)
		}
		if !force {
			return nil, errs.E(errs.AlreadyExists, "key %q already exists", k.Name)
		}
		got, err := s.Mutate(ctx, mount, k.Name, func(cur *Key) error { cur.replaceWith(k); return nil })
		if errs.KindOf(err) == errs.NotFound {
			continue // deleted meanwhile: create it again
		}
		return got, err
	}
	return nil, errs.E(errs.FailedPrecondition,
		"transit key %s/%s changed concurrently %d times in a row; try again", mount, k.Name, maxRestoreAttempts)
}

// replaceWith makes k (a private copy, as Mutate gives) hold r's state,
// keeping its name; versions parsed from its old material are dropped.
func (k *Key) replaceWith(r *Key) {
	k.Type, k.Derived, k.Convergent = r.Type, r.Derived, r.Convergent
	k.Exportable, k.AllowPlaintextBackup, k.DeletionAllowed = r.Exportable, r.AllowPlaintextBackup, r.DeletionAllowed
	k.MinDecryptionVersion, k.MinEncryptionVersion = r.MinDecryptionVersion, r.MinEncryptionVersion
	k.MinAvailableVersion, k.LatestVersion = r.MinAvailableVersion, r.LatestVersion
	k.AutoRotatePeriod, k.KeySize = r.AutoRotatePeriod, r.KeySize
	k.Versions = make(map[int]*Version, len(r.Versions))
	for n, v := range r.Versions {
		c := *v
		k.Versions[n] = &c
	}
	k.mu.Lock()
	for _, lv := range k.loaded {
		if lv != nil && lv.kr != nil {
			lv.kr.Destroy()
		}
	}
	k.loaded = nil
	k.mu.Unlock()
}
