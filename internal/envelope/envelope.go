// Package envelope seals and opens secret values of an instance with its
// data keyring: a versioned list of 256-bit data keys (DEKs), stored only
// wrapped under the instance's KMS key (its kmsKey through a kms.Keeper), or
// under the instance's own fallback key when no kmsKey is configured.
//
// Values are sealed with AES-256-GCM under the newest DEK; a sealed value
// names the DEK generation that made it, and its AAD binds it to the
// instance and the caller's place (for KV: path and version), so it cannot
// be moved. Switching or removing the kmsKey rewraps only the keyring: O(1),
// no value is rewritten.
package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms"
)

// Wrapper wraps key material at rest (the seal).
type Wrapper interface {
	Wrap(plaintext, aad []byte) ([]byte, error)
	Unwrap(wrapped, aad []byte) ([]byte, error)
}

// Config holds the envelope's settings.
type Config struct {
	// CacheTTL bounds how long an unwrapped keyring is kept in memory, so
	// reads need no KMS call. A kmsKey switch bypasses the cache at once.
	CacheTTL time.Duration `env:"COFFER_KEYRING_CACHE_TTL" envDefault:"5m"`
}

// Keys is what the envelope needs of an instance: its ID, its kmsKey (nil
// for none) and its wrapped keyring and fallback key, as stored.
type Keys struct {
	InstanceID         string
	KMSKey             *kms.KeyRef
	WrappedKeyring     []byte
	WrappedFallbackKey []byte
}

// Envelope seals and opens values. It is safe for concurrent use.
type Envelope struct {
	keeper kms.Keeper
	seal   Wrapper
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached // by instance ID
}

type cached struct {
	wrapped []byte // the wrapped keyring it was unwrapped from
	ring    *keyring
	expires time.Time
}

// New returns an Envelope that wraps keyrings with keeper (kmsKey) or under
// fallback keys sealed by seal.
func New(cfg Config, keeper kms.Keeper, seal Wrapper) *Envelope {
	return &Envelope{keeper: keeper, seal: seal, ttl: cfg.CacheTTL, now: time.Now, cache: map[string]cached{}}
}

const dekSize = 32

// keyring is an unwrapped data keyring: deks[i] is generation i+1.
type keyring struct {
	deks  [][]byte
	aeads []cipher.AEAD
}

func newDEK() ([]byte, error) {
	k := make([]byte, dekSize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, fmt.Errorf("read random key: %w", err)
	}
	return k, nil
}

func parseKeyring(b []byte) (*keyring, error) {
	if len(b) < 1 || b[0] != 1 || (len(b)-1)%dekSize != 0 || len(b) == 1 {
		return nil, errs.E(errs.Internal, "keyring: bad encoding")
	}
	kr := &keyring{}
	for off := 1; off < len(b); off += dekSize {
		dek := append([]byte(nil), b[off:off+dekSize]...)
		block, err := aes.NewCipher(dek)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, err
		}
		kr.deks, kr.aeads = append(kr.deks, dek), append(kr.aeads, aead)
	}
	return kr, nil
}

func (kr *keyring) encode() []byte {
	b := make([]byte, 1, 1+len(kr.deks)*dekSize)
	b[0] = 1
	for _, d := range kr.deks {
		b = append(b, d...)
	}
	return b
}

func keyringAAD(instanceID string) []byte {
	return []byte("coffer/instance/" + instanceID + "/keyring")
}
func fallbackAAD(instanceID string) []byte {
	return []byte("coffer/instance/" + instanceID + "/fallback-key")
}

// Provision creates a keyring with one DEK and a fallback key for a new
// instance, and wraps the keyring under key (or the fallback key when key is
// nil). It returns the wrapped keyring and the sealed fallback key.
func (e *Envelope) Provision(ctx context.Context, instanceID string, key *kms.KeyRef) (wrappedKeyring, wrappedFallback []byte, err error) {
	dek, err := newDEK()
	if err != nil {
		return nil, nil, err
	}
	fb, err := newDEK()
	if err != nil {
		return nil, nil, err
	}
	defer clear(fb)
	if wrappedFallback, err = e.seal.Wrap(fb, fallbackAAD(instanceID)); err != nil {
		return nil, nil, fmt.Errorf("seal fallback key: %w", err)
	}
	plain := append([]byte{1}, dek...)
	clear(dek)
	defer clear(plain)
	wrappedKeyring, err = e.wrapKeyring(ctx, Keys{InstanceID: instanceID, KMSKey: key, WrappedFallbackKey: wrappedFallback}, plain)
	return wrappedKeyring, wrappedFallback, err
}

// Rewrap unwraps the keyring of k and wraps it under newKey (nil: the
// fallback key). Values sealed before stay readable: no DEK changes. When
// the current key refuses to unwrap the keyring (disabled, destroyed,
// deleted, or the keyring does not authenticate) the error is
// errs.FailedPrecondition saying so; other failures (an unreachable KMS is
// errs.Unavailable) keep their kind.
func (e *Envelope) Rewrap(ctx context.Context, k Keys, newKey *kms.KeyRef) ([]byte, error) {
	plain, err := e.unwrapKeyring(ctx, k)
	switch errs.KindOf(err) {
	case errs.FailedPrecondition, errs.NotFound, errs.InvalidArgument:
		return nil, errs.Wrap(errs.FailedPrecondition, err,
			"the instance's keyring cannot be unwrapped with its current kmsKey (is that key version still active?)")
	}
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	next := k
	next.KMSKey = newKey
	w, err := e.wrapKeyring(ctx, next, plain)
	if err != nil {
		return nil, err
	}
	e.Invalidate(k.InstanceID)
	return w, nil
}

// Invalidate drops the instance's cached keyring.
func (e *Envelope) Invalidate(instanceID string) {
	e.mu.Lock()
	delete(e.cache, instanceID)
	e.mu.Unlock()
}

func (e *Envelope) wrapKeyring(ctx context.Context, k Keys, plain []byte) ([]byte, error) {
	aad := keyringAAD(k.InstanceID)
	if k.KMSKey != nil {
		w, err := e.keeper.Encrypt(ctx, *k.KMSKey, plain, aad)
		if err != nil {
			return nil, fmt.Errorf("wrap keyring under kmsKey %s: %w", k.KMSKey, err)
		}
		return append([]byte{'k'}, w...), nil
	}
	aead, err := e.fallback(k)
	if err != nil {
		return nil, err
	}
	return aead.Seal([]byte{'f'}, nil, plain, aad), nil
}

func (e *Envelope) unwrapKeyring(ctx context.Context, k Keys) ([]byte, error) {
	w := k.WrappedKeyring
	if len(w) < 1 {
		return nil, errs.E(errs.FailedPrecondition, "instance %s has no keyring", k.InstanceID)
	}
	aad := keyringAAD(k.InstanceID)
	switch {
	case w[0] == 'k' && k.KMSKey != nil:
		p, err := e.keeper.Decrypt(ctx, *k.KMSKey, w[1:], aad)
		if err != nil {
			return nil, fmt.Errorf("unwrap keyring with kmsKey %s: %w", k.KMSKey, err)
		}
		return p, nil
	case w[0] == 'f' && k.KMSKey == nil:
		aead, err := e.fallback(k)
		if err != nil {
			return nil, err
		}
		p, err := aead.Open(nil, nil, w[1:], aad)
		if err != nil {
			return nil, errs.E(errs.FailedPrecondition, "unwrap keyring of instance %s: authentication failed", k.InstanceID)
		}
		return p, nil
	}
	return nil, errs.E(errs.FailedPrecondition, "keyring of instance %s does not match its kmsKey configuration", k.InstanceID)
}

func (e *Envelope) fallback(k Keys) (cipher.AEAD, error) {
	fb, err := e.seal.Unwrap(k.WrappedFallbackKey, fallbackAAD(k.InstanceID))
	if err != nil {
		return nil, fmt.Errorf("unseal fallback key of instance %s: %w", k.InstanceID, err)
	}
	defer clear(fb)
	block, err := aes.NewCipher(fb)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// ring returns the instance's unwrapped keyring, from the cache when the
// cached copy was unwrapped from the same wrapped keyring and is fresh. The
// comparison with the stored wrapped keyring makes a rewrap on any replica
// bypass every cache at once: the caller passes the row it just read.
func (e *Envelope) ring(ctx context.Context, k Keys) (*keyring, error) {
	now := e.now()
	e.mu.Lock()
	c, ok := e.cache[k.InstanceID]
	e.mu.Unlock()
	if ok && bytes.Equal(c.wrapped, k.WrappedKeyring) && now.Before(c.expires) {
		cacheHits.Inc()
		return c.ring, nil
	}
	cacheMisses.Inc()
	plain, err := e.unwrapKeyring(ctx, k)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	kr, err := parseKeyring(plain)
	if err != nil {
		return nil, err
	}
	if e.ttl > 0 {
		e.mu.Lock()
		e.cache[k.InstanceID] = cached{wrapped: bytes.Clone(k.WrappedKeyring), ring: kr, expires: now.Add(e.ttl)}
		e.mu.Unlock()
	}
	return kr, nil
}

// Value format: 1 (format) || generation (uint32, big endian) || nonce || ciphertext || tag.
const valueHeader = 5

func valueAAD(instanceID string, aad []byte) []byte {
	return append([]byte("coffer/instance/"+instanceID+"/value|"), aad...)
}

// Seal encrypts plaintext for the instance, bound to aad (the value's place,
// e.g. mount, path and version). The result names the DEK generation used.
func (e *Envelope) Seal(ctx context.Context, k Keys, aad, plaintext []byte) ([]byte, error) {
	kr, err := e.ring(ctx, k)
	if err != nil {
		return nil, err
	}
	gen := len(kr.deks)
	out := make([]byte, valueHeader, valueHeader+12+len(plaintext)+16)
	out[0] = 1
	binary.BigEndian.PutUint32(out[1:], uint32(gen))
	return kr.aeads[gen-1].Seal(out, nil, plaintext, valueAAD(k.InstanceID, aad)), nil
}

// Open decrypts a value made by Seal for the same instance and aad. A
// modified value, another instance's value or another place's value is
// errs.InvalidArgument "decryption failed".
func (e *Envelope) Open(ctx context.Context, k Keys, aad, sealed []byte) ([]byte, error) {
	if len(sealed) < valueHeader || sealed[0] != 1 {
		return nil, errs.E(errs.InvalidArgument, "decryption failed")
	}
	kr, err := e.ring(ctx, k)
	if err != nil {
		return nil, err
	}
	gen := binary.BigEndian.Uint32(sealed[1:valueHeader])
	if gen < 1 || int(gen) > len(kr.aeads) {
		return nil, errs.E(errs.InvalidArgument, "decryption failed")
	}
	pt, err := kr.aeads[gen-1].Open(nil, nil, sealed[valueHeader:], valueAAD(k.InstanceID, aad))
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "decryption failed")
	}
	return pt, nil
}

// RotateKeyring adds a new DEK generation: later Seals use it, older values
// stay readable. It returns the new wrapped keyring for the caller to store.
func (e *Envelope) RotateKeyring(ctx context.Context, k Keys) ([]byte, error) {
	kr, err := e.ring(ctx, k)
	if err != nil {
		return nil, err
	}
	dek, err := newDEK()
	if err != nil {
		return nil, err
	}
	next := &keyring{deks: append(append([][]byte{}, kr.deks...), dek)}
	plain := next.encode()
	defer clear(plain)
	w, err := e.wrapKeyring(ctx, k, plain)
	if err != nil {
		return nil, err
	}
	e.Invalidate(k.InstanceID)
	return w, nil
}
