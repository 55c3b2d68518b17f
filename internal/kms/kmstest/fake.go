package kmstest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"sync"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms"
)

// Fake is an in-memory kms.Keeper with one AES-256-GCM key per KeyRef. Set
// Fail to inject a fault into every call (e.g. errs.E(errs.Unavailable, …)).
// It counts calls, so tests can prove a cache avoided the KMS. Safe for
// concurrent use.
type Fake struct {
	mu       sync.Mutex
	keys     map[kms.KeyRef]cipher.AEAD
	disabled map[kms.KeyRef]bool
	Fail     func(op string, key kms.KeyRef) error
	Calls    map[string]int
}

var _ kms.Keeper = (*Fake)(nil)

// NewFake returns a Fake with active keys for refs.
func NewFake(refs ...kms.KeyRef) *Fake {
	f := &Fake{keys: map[kms.KeyRef]cipher.AEAD{}, disabled: map[kms.KeyRef]bool{}, Calls: map[string]int{}}
	for _, r := range refs {
		f.Add(r)
	}
	return f
}

// Add creates an active key for r.
func (f *Fake) Add(r kms.KeyRef) {
	k := make([]byte, 32)
	rand.Read(k)
	block, _ := aes.NewCipher(k)
	aead, _ := cipher.NewGCMWithRandomNonce(block)
	f.mu.Lock()
	f.keys[r] = aead
	f.mu.Unlock()
}

// Disable marks r's version disabled.
func (f *Fake) Disable(r kms.KeyRef) {
	f.mu.Lock()
	f.disabled[r] = true
	f.mu.Unlock()
}

// CallCount returns how often op ("encrypt", "decrypt", "describe") ran.
func (f *Fake) CallCount(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Calls[op]
}

func (f *Fake) key(op string, r kms.KeyRef) (cipher.AEAD, error) {
	f.mu.Lock()
	f.Calls[op]++
	aead, ok := f.keys[r]
	disabled := f.disabled[r]
	fail := f.Fail
	f.mu.Unlock()
	if fail != nil {
		if err := fail(op, r); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, errs.E(errs.NotFound, "key version %s not found", r)
	}
	if disabled {
		return nil, errs.E(errs.FailedPrecondition, "key version %s is disabled", r)
	}
	return aead, nil
}

// Encrypt implements kms.Keeper.
func (f *Fake) Encrypt(_ context.Context, r kms.KeyRef, plaintext, aad []byte) ([]byte, error) {
	aead, err := f.key("encrypt", r)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nil, plaintext, aad), nil
}

// Decrypt implements kms.Keeper.
func (f *Fake) Decrypt(_ context.Context, r kms.KeyRef, ciphertext, aad []byte) ([]byte, error) {
	aead, err := f.key("decrypt", r)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nil, ciphertext, aad)
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "decryption failed")
	}
	return pt, nil
}

// Describe implements kms.Keeper.
func (f *Fake) Describe(_ context.Context, r kms.KeyRef) (*kms.KeyInfo, error) {
	_, err := f.key("describe", r)
	state := kms.VersionActive
	if errs.Is(err, errs.FailedPrecondition) {
		state, err = kms.VersionDisabled, nil
	}
	if err != nil {
		return nil, err
	}
	return &kms.KeyInfo{Purpose: kms.PurposeSymmetricEncryptDecrypt, Algorithm: "aes_256_gcm", VersionState: state}, nil
}
