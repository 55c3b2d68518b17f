package seal

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
)

// CheckStore keeps the seal's check value: a known constant wrapped by the
// root key when the database was first used. It lets start-up tell a wrong
// root key apart from an empty database, so Coffer never creates new keys
// over data it cannot read.
type CheckStore interface {
	// EnsureSealCheck stores wrapped unless a check value exists, and returns
	// the stored check value either way.
	EnsureSealCheck(ctx context.Context, wrapped []byte) ([]byte, error)
}

var (
	checkPlain = []byte("coffer seal check v1")
	checkAAD   = []byte("coffer/seal-check")
)

// Verify checks the root key against the database: on first use it records a
// check value; afterwards the stored value must unwrap under this root key.
// A mismatch is errs.FailedPrecondition.
func (s *Seal) Verify(ctx context.Context, st CheckStore) error {
	mine, err := s.Wrap(checkPlain, checkAAD)
	if err != nil {
		return err
	}
	stored, err := st.EnsureSealCheck(ctx, mine)
	if err != nil {
		return fmt.Errorf("ensure seal check: %w", err)
	}
	got, err := s.Unwrap(stored, checkAAD)
	if err != nil || subtle.ConstantTimeCompare(got, checkPlain) != 1 {
		return errs.E(errs.FailedPrecondition,
			"the root key does not match this database: refusing to start (check COFFER_ROOT_KEY / COFFER_ROOT_KEY_FILE)")
	}
	return nil
}
