// Package transit implements Vault's transit engine semantics over package
// keyring: named keys with versions, the "vault:vN:" ciphertext, signature
// and HMAC framing, derived and convergent encryption, rotation, trimming,
// min_decryption_version and min_encryption_version, rewrap, data keys,
// export and batch requests.
//
// It is the pure engine: no HTTP, no storage. The facts it implements are
// those of the project's Vault API notes (vault-api.md §0 and §1: the wire
// formats as observed on OpenBao v2.6.2); where those facts are silent,
// the choice is stated at the declaration. Errors carry errs kinds and
// client-safe messages that repeat Vault's text where it is recorded, so
// the HTTP layer can render errs.Message as Vault does. Input problems are
// errs.InvalidArgument; operations the key's type or configuration forbids
// are errs.FailedPrecondition; Vault answers both with HTTP 400.
//
// NOTE: Vault accepts a caller "nonce" on encrypt, decrypt, rewrap and
// datakey only for legacy convergent-v1 keys, which Coffer never creates;
// OpenBao v2.6.2 ignores it with a warning (§1.2). This package therefore
// takes no nonce: the HTTP layer should ignore the field and warn.
package transit

import (
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
)

// hmacKeySize is the size of the per-version HMAC key every non-hmac key
// type carries (256 bits, vault-api.md §1.1).
const hmacKeySize = 32

// The key_size bounds and default for type hmac. The bounds are §1.1's;
// the default of 32 bytes is Coffer's choice (§1 does not record Vault's).
const (
	minHMACKeySize     = 32
	maxHMACKeySize     = 512
	defaultHMACKeySize = 32
)

// Key is a named transit key (Vault's "policy") and its versions.
//
// The exported fields are its whole persistent state, for stores to save
// and restore. Change them only through the methods, which keep Vault's
// invariants; a Key built by hand must hold a consistent state.
//
// Read-only operations (Encrypt, Decrypt, Sign, Verify, HMAC, Export …)
// are safe for concurrent use with one another. Rotate, Trim and SetConfig
// mutate the Key and must not run concurrently with anything else on it.
type Key struct {
	Name string
	// Type is the Vault key type name, one of the Type* constants.
	Type string
	// Derived keys derive a key per request from the context (HKDF-SHA256).
	Derived bool
	// Convergent keys (Derived too) encrypt the same plaintext under the
	// same context to the same ciphertext (Vault convergent version 3).
	Convergent           bool
	Exportable           bool // one-way: once set it cannot be cleared
	AllowPlaintextBackup bool // one-way, like Exportable
	DeletionAllowed      bool
	// MinDecryptionVersion is the oldest version that may decrypt, verify
	// or rewrap; at least 1.
	MinDecryptionVersion int
	// MinEncryptionVersion is the oldest version that may encrypt, sign or
	// MAC when a version is requested; 0 means no limit.
	MinEncryptionVersion int
	// MinAvailableVersion is the oldest version Trim kept; 0 if never trimmed.
	MinAvailableVersion int
	LatestVersion       int
	// Versions holds versions MinAvailableVersion (or 1) to LatestVersion.
	Versions map[int]*Version
	// AutoRotatePeriod is 0 (off) or at least an hour. Rotating on time is
	// the caller's job; see Due.
	AutoRotatePeriod time.Duration
	// KeySize is the size in bytes of an hmac key's material; 0 otherwise.
	KeySize int

	mu     sync.RWMutex
	loaded map[int]*loadedVersion // parsed material per version, built on first use
	// borrowed: some of loaded is shared with other copies of the key
	// (see clone), so Trim must not destroy it.
	borrowed bool
}

// Version is one version of a Key.
type Version struct {
	// Material is the secret key, in keyring's form for the type: the raw
	// key for AEAD types and hmac, PKCS#8 DER for RSA, ECDSA and Ed25519.
	Material []byte
	// HMACKey is the version's independent 256-bit key for the hmac
	// endpoint (vault-api.md §1.1). It is nil for type hmac, whose Material
	// is the HMAC key (§1.3).
	HMACKey   []byte
	CreatedAt time.Time
	// PublicKeyPEM is the PKIX "PUBLIC KEY" PEM of asymmetric types, "" for
	// the others. Vault's key read shows ed25519 keys differently; see
	// Export with ExportPublicKey.
	PublicKeyPEM string
}

// String describes the key without its material.
func (k *Key) String() string {
	return fmt.Sprintf("transit.Key{%s, %s, latest v%d, material: <redacted>}", k.Name, k.Type, k.LatestVersion)
}

// GoString is String, so %#v does not print the versions' material.
func (k *Key) GoString() string { return k.String() }

// Format writes String for every verb, so no fmt verb can reach the
// versions' material.
func (k *Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// String describes the version without its material.
func (v Version) String() string {
	return fmt.Sprintf("transit.Version{created %s, material: <redacted>}", v.CreatedAt.Format(time.RFC3339))
}

// GoString is String.
func (v Version) GoString() string { return v.String() }

// Format writes String for every verb.
func (v Version) Format(f fmt.State, _ rune) { fmt.Fprint(f, v.String()) }

// Options are the creation parameters of Vault's POST keys/:name.
type Options struct {
	Derived              bool
	Convergent           bool // requires Derived
	Exportable           bool
	AllowPlaintextBackup bool
	// KeySize is the material size in bytes for type hmac (32–512, 0 for
	// the default of 32); other types must leave it 0.
	KeySize          int
	AutoRotatePeriod time.Duration
	// Now is the creation time of version 1; zero means time.Now().
	Now time.Time
}

// NewKey returns key name of Vault type typ with a fresh version 1. Vault's
// rules are checked: an unknown type, convergent without derived,
// derivation on a type without it, a bad key_size or auto_rotate_period are
// errs.InvalidArgument.
//
// NOTE: generating an RSA-4096 key takes seconds of CPU.
func NewKey(name, typ string, opts Options) (*Key, error) {
	if name == "" {
		return nil, errs.E(errs.InvalidArgument, "missing key name")
	}
	kt, err := lookupType(typ)
	if err != nil {
		return nil, err
	}
	if err := checkCreate(typ, kt, &opts); err != nil {
		return nil, err
	}
	k := &Key{
		Name: name, Type: typ,
		Derived: opts.Derived, Convergent: opts.Convergent,
		Exportable: opts.Exportable, AllowPlaintextBackup: opts.AllowPlaintextBackup,
		MinDecryptionVersion: 1,
		AutoRotatePeriod:     opts.AutoRotatePeriod,
		KeySize:              opts.KeySize,
		Versions:             map[int]*Version{},
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if err := k.Rotate(now); err != nil {
		return nil, err
	}
	return k, nil
}

// checkCreate validates opts for a new key of type typ and fills defaults.
// Messages are Coffer's own except where vault-api.md records Vault's.
func checkCreate(typ string, kt keyType, opts *Options) error {
	if opts.Convergent && !opts.Derived {
		return errs.E(errs.InvalidArgument, "convergent encryption requires derivation to be enabled")
	}
	if opts.Derived && !kt.aead {
		return errs.E(errs.InvalidArgument, "key derivation is not supported for keys of type %s", typ)
	}
	if typ == TypeHMAC {
		if opts.KeySize == 0 {
			opts.KeySize = defaultHMACKeySize
		}
		if opts.KeySize < minHMACKeySize || opts.KeySize > maxHMACKeySize {
			return errs.E(errs.InvalidArgument, "invalid key_size: must be between %d and %d bytes",
				minHMACKeySize, maxHMACKeySize)
		}
	} else if opts.KeySize != 0 {
		return errs.E(errs.InvalidArgument, "key_size is only valid for hmac keys")
	}
	return checkAutoRotate(opts.AutoRotatePeriod)
}

// checkAutoRotate applies §1.4: 0 or at least an hour.
func checkAutoRotate(d time.Duration) error {
	if d != 0 && d < time.Hour {
		return errs.E(errs.InvalidArgument, "auto rotate period must be 0 to disable or at least an hour")
	}
	return nil
}

// Rotate adds a new latest version, created at now, with fresh material.
// Other settings (min versions included) are unchanged, as in Vault.
func (k *Key) Rotate(now time.Time) error {
	kt, err := lookupType(k.Type)
	if err != nil {
		return err
	}
	v, err := newVersion(k.Type, kt, k.KeySize, now)
	if err != nil {
		return fmt.Errorf("rotate key %s: %w", k.Name, err)
	}
	if k.Versions == nil {
		k.Versions = map[int]*Version{}
	}
	k.LatestVersion++
	k.Versions[k.LatestVersion] = v
	return nil
}

// newVersion generates the material of one version.
func newVersion(typ string, kt keyType, keySize int, now time.Time) (*Version, error) {
	if typ == TypeHMAC {
		m, err := randomBytes(keySize)
		return &Version{Material: m, CreatedAt: now}, err
	}
	m, err := keyring.Generate(kt.alg)
	if err != nil {
		return nil, err
	}
	hk, err := randomBytes(hmacKeySize)
	if err != nil {
		return nil, err
	}
	v := &Version{Material: m, HMACKey: hk, CreatedAt: now}
	if kt.asymmetric() {
		kr, err := keyring.Load(kt.alg, m)
		if err != nil {
			return nil, err
		}
		if v.PublicKeyPEM, err = kr.PublicKeyPEM(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return nil, fmt.Errorf("read random bytes: %w", err)
	}
	return b, nil
}

// Due reports whether an auto-rotating key's latest version is older than
// AutoRotatePeriod at now.
func (k *Key) Due(now time.Time) bool {
	v := k.Versions[k.LatestVersion]
	return k.AutoRotatePeriod > 0 && v != nil && !now.Before(v.CreatedAt.Add(k.AutoRotatePeriod))
}

// CheckDelete returns Vault's error for deleting a key that does not allow
// deletion (vault-api.md §1.1), or nil.
func (k *Key) CheckDelete() error {
	if !k.DeletionAllowed {
		return errs.E(errs.InvalidArgument, "error deleting policy %s: deletion is not allowed for this key", k.Name)
	}
	return nil
}

// version returns version n, which callers have range-checked. A missing
// version there is a corrupt Key: errs.Internal.
func (k *Key) version(n int) (*Version, error) {
	v, ok := k.Versions[n]
	if !ok || v == nil {
		return nil, errs.E(errs.Internal, "key %s version %d is missing", k.Name, n)
	}
	return v, nil
}

// useVersion picks the version for an operation that creates output
// (encryption, signing, hmac): 0 means the latest. Vault's encryption
// messages are used, with op naming the operation.
func (k *Key) useVersion(requested int, op string) (int, error) {
	switch {
	case requested < 0:
		return 0, errs.E(errs.InvalidArgument, "requested version for %s is negative", op)
	case requested == 0:
		return k.LatestVersion, nil
	case requested > k.LatestVersion:
		return 0, errs.E(errs.InvalidArgument, "requested version for %s is higher than the latest key version", op)
	case k.MinEncryptionVersion > 0 && requested < k.MinEncryptionVersion:
		return 0, errs.E(errs.InvalidArgument, "requested version for %s is less than the minimum encryption key version", op)
	}
	return requested, nil
}

// checkReadVersion applies §1.2 to the version of a ciphertext, signature
// or HMAC being checked; noun names it in the "too new" message.
func (k *Key) checkReadVersion(ver int, noun string) error {
	if ver > k.LatestVersion {
		return errs.E(errs.InvalidArgument, "invalid %s: version is too new", noun)
	}
	if ver < k.MinDecryptionVersion || ver < k.MinAvailableVersion {
		return errs.E(errs.InvalidArgument, "ciphertext or signature version is disallowed by policy (too old)")
	}
	return nil
}
