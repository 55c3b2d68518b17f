package transit

import (
	"context"
	"errors"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
)

// errNotDue tells AutoRotate's Mutate that another writer rotated first.
var errNotDue = errors.New("not due")

// AutoRotate rotates every key of mount whose AutoRotatePeriod is set and
// whose latest version is at least that old at the Service's clock
// (Key.Due), as Vault's periodic function does, and returns how many it
// rotated. The new version is created at the Service's clock.
//
// It rotates through Mutate, which checks Due again on the fresh key: of
// several replicas sweeping at once, exactly one rotates each due key.
// A key that fails (or is deleted meanwhile) does not stop the others;
// the failures are returned joined, with the count of those that worked.
func (s *Service) AutoRotate(ctx context.Context, mount string) (rotated int, err error) {
	names, err := s.List(ctx, mount)
	if err != nil {
		return 0, err
	}
	var failed []error
	for _, name := range names {
		if ctx.Err() != nil {
			return rotated, errors.Join(append(failed, ctx.Err())...)
		}
		k, err := s.Key(ctx, mount, name)
		if errs.KindOf(err) == errs.NotFound {
			continue
		}
		if err != nil {
			failed = append(failed, err)
			continue
		}
		now := s.now()
		if !k.Due(now) {
			continue
		}
		_, err = s.Mutate(ctx, mount, name, func(k *Key) error {
			if !k.Due(now) {
				return errNotDue
			}
			return k.Rotate(now)
		})
		switch {
		case err == nil:
			rotated++
		case errors.Is(err, errNotDue), errs.KindOf(err) == errs.NotFound:
		default:
			failed = append(failed, fmt.Errorf("auto-rotate transit key %s/%s: %w", mount, name, err))
		}
	}
	return rotated, errors.Join(failed...)
}
