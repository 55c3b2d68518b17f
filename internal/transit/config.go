package transit

import (
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// Config is a change to a key's configuration, Vault's POST
// keys/:name/config. Nil fields are left as they are.
type Config struct {
	// MinDecryptionVersion 0 means 1, as in Vault.
	MinDecryptionVersion *int
	// MinEncryptionVersion 0 lifts the limit; otherwise it must be at
	// least the min decryption version.
	MinEncryptionVersion *int
	DeletionAllowed      *bool
	Exportable           *bool // may be set, never cleared
	AllowPlaintextBackup *bool // may be set, never cleared
	AutoRotatePeriod     *time.Duration
}

// SetConfig applies c with Vault's rules, all or nothing: a version
// outside 1…LatestVersion (or below the trimmed MinAvailableVersion), a
// min encryption version below the min decryption version, clearing a
// one-way flag, or a bad auto-rotate period is errs.InvalidArgument and
// changes nothing.
//
// NOTE: §1 records none of Vault's messages here except the auto-rotate
// one; the others are Coffer's wording.
func (k *Key) SetConfig(c Config) error {
	minDec, minEnc := k.MinDecryptionVersion, k.MinEncryptionVersion
	if c.MinDecryptionVersion != nil {
		if *c.MinDecryptionVersion < 0 {
			return errs.E(errs.InvalidArgument, "min decryption version cannot be negative")
		}
		minDec = max(*c.MinDecryptionVersion, 1)
		if err := k.checkMinVersion("decryption", minDec); err != nil {
			return err
		}
	}
	if c.MinEncryptionVersion != nil {
		minEnc = *c.MinEncryptionVersion
		if err := k.checkMinVersion("encryption", minEnc); err != nil {
			return err
		}
	}
	if minEnc != 0 && minEnc < minDec {
		return errs.E(errs.InvalidArgument, "cannot set min encryption/decryption values; min encryption version "+
			"of %d must be greater than or equal to min decryption version of %d", minEnc, minDec)
	}
	if c.Exportable != nil && k.Exportable && !*c.Exportable {
		return errs.E(errs.InvalidArgument, "exportable key cannot be made non-exportable")
	}
	if c.AllowPlaintextBackup != nil && k.AllowPlaintextBackup && !*c.AllowPlaintextBackup {
		return errs.E(errs.InvalidArgument, "allow_plaintext_backup cannot be disabled once enabled")
	}
	if c.AutoRotatePeriod != nil {
		if err := checkAutoRotate(*c.AutoRotatePeriod); err != nil {
			return err
		}
	}
	k.apply(c, minDec, minEnc)
	return nil
}

// checkMinVersion checks a requested min decryption or encryption version.
func (k *Key) checkMinVersion(op string, v int) error {
	switch {
	case v < 0:
		return errs.E(errs.InvalidArgument, "min %s version cannot be negative", op)
	case v > k.LatestVersion:
		return errs.E(errs.InvalidArgument, "cannot set min %s version of %d, latest key version is %d", op, v, k.LatestVersion)
	case v != 0 && v < k.MinAvailableVersion:
		return errs.E(errs.InvalidArgument, "cannot set min %s version of %d, versions below %d were trimmed",
			op, v, k.MinAvailableVersion)
	}
	return nil
}

func (k *Key) apply(c Config, minDec, minEnc int) {
	k.MinDecryptionVersion, k.MinEncryptionVersion = minDec, minEnc
	if c.DeletionAllowed != nil {
		k.DeletionAllowed = *c.DeletionAllowed
	}
	if c.Exportable != nil {
		k.Exportable = *c.Exportable
	}
	if c.AllowPlaintextBackup != nil {
		k.AllowPlaintextBackup = *c.AllowPlaintextBackup
	}
	if c.AutoRotatePeriod != nil {
		k.AutoRotatePeriod = *c.AutoRotatePeriod
	}
}

// Trim deletes the versions older than minAvailable for good, Vault's POST
// keys/:name/trim. §1.1's rule: both min versions must be set (non-zero)
// and minAvailable may not exceed either. minAvailable below 1, or below
// an earlier trim, is errs.InvalidArgument too.
func (k *Key) Trim(minAvailable int) error {
	switch {
	case k.MinEncryptionVersion == 0 || k.MinDecryptionVersion == 0:
		return errs.E(errs.InvalidArgument, "cannot trim: min_encryption_version and min_decryption_version must both be set")
	case minAvailable < 1:
		return errs.E(errs.InvalidArgument, "min_available_version must be at least 1")
	case minAvailable < k.MinAvailableVersion:
		return errs.E(errs.InvalidArgument, "min_available_version cannot be lower than the current %d", k.MinAvailableVersion)
	case minAvailable > min(k.MinDecryptionVersion, k.MinEncryptionVersion):
		return errs.E(errs.InvalidArgument, "min_available_version cannot exceed min_decryption_version or min_encryption_version")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for n := range k.Versions {
		if n < minAvailable {
			delete(k.Versions, n)
			if lv := k.loaded[n]; lv != nil && lv.kr != nil && !k.borrowed {
				lv.kr.Destroy()
			}
			delete(k.loaded, n)
		}
	}
	k.MinAvailableVersion = minAvailable
	return nil
}
