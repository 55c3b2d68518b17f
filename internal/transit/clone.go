package transit

import (
	"bytes"
	"maps"
)

// clone returns a deep copy of k's persistent state, for a caller of
// Service.Key to own. The versions k has already parsed are shared with
// the copy (parsed material is never changed after it is built, and is
// safe for concurrent use), so a copy of a warm Key needs no parsing.
func (k *Key) clone() *Key {
	c := &Key{
		Name: k.Name, Type: k.Type, Derived: k.Derived, Convergent: k.Convergent,
		Exportable: k.Exportable, AllowPlaintextBackup: k.AllowPlaintextBackup, DeletionAllowed: k.DeletionAllowed,
		MinDecryptionVersion: k.MinDecryptionVersion, MinEncryptionVersion: k.MinEncryptionVersion,
		MinAvailableVersion: k.MinAvailableVersion, LatestVersion: k.LatestVersion,
		AutoRotatePeriod: k.AutoRotatePeriod, KeySize: k.KeySize,
	}
	if k.Versions != nil {
		c.Versions = make(map[int]*Version, len(k.Versions))
		for n, v := range k.Versions {
			if v == nil {
				c.Versions[n] = nil
				continue
			}
			c.Versions[n] = &Version{Material: bytes.Clone(v.Material), HMACKey: bytes.Clone(v.HMACKey),
				CreatedAt: v.CreatedAt, PublicKeyPEM: v.PublicKeyPEM}
		}
	}
	k.mu.RLock()
	if len(k.loaded) > 0 {
		c.loaded, c.borrowed = maps.Clone(k.loaded), true
	}
	k.mu.RUnlock()
	return c
}

// share prepares k, which no other goroutine holds yet, for the cache: it
// parses every version that may still be used (from the minimum decryption
// and available versions up), so that clones of k share the parsed
// material, and marks that material borrowed, since the cache's copy will
// share it. A version that does not parse is left for the request that
// needs it to report.
func (k *Key) share() {
	for n := max(k.MinDecryptionVersion, k.MinAvailableVersion, 1); n <= k.LatestVersion; n++ {
		_, _ = k.load(n)
	}
	k.borrowed = true
}
