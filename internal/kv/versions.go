package kv

import (
	"context"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// DeleteLatest soft-deletes the path's current version (Vault's DELETE on
// data/). Like Vault, it succeeds without effect for a path that does not
// exist, has no version, or whose current version is already deleted
// (which keeps its deletion time).
func (s *Service) DeleteLatest(ctx context.Context, mount, path string) error {
	if err := validateTarget(mount, path); err != nil {
		return err
	}
	md, err := s.store.Metadata(ctx, mount, path)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read kv metadata: %w", err)
	}
	if md.CurrentVersion == 0 {
		return nil
	}
	return s.DeleteVersions(ctx, mount, path, []int{md.CurrentVersion})
}

// DeleteVersions soft-deletes versions of the path now. Destroyed and
// unknown versions are skipped, and versions deleted before keep their
// deletion time; a version only scheduled for deletion is deleted now.
// Like Vault, a path that does not exist is not an error.
func (s *Service) DeleteVersions(ctx context.Context, mount, path string, versions []int) error {
	if err := validateVersions(mount, path, versions); err != nil {
		return err
	}
	return ignoreNotFound(s.store.SetDeletionTime(ctx, mount, path, versions, s.now()), "delete kv versions")
}

// Undelete restores soft-deleted versions of the path, and cancels their
// scheduled deletion. Destroyed and unknown versions are skipped; a path
// that does not exist is not an error.
func (s *Service) Undelete(ctx context.Context, mount, path string, versions []int) error {
	if err := validateVersions(mount, path, versions); err != nil {
		return err
	}
	return ignoreNotFound(s.store.SetDeletionTime(ctx, mount, path, versions, time.Time{}), "undelete kv versions")
}

// Destroy erases the ciphertexts of versions of the path for good.
// Unknown versions are skipped; a path that does not exist is not an error.
func (s *Service) Destroy(ctx context.Context, mount, path string, versions []int) error {
	if err := validateVersions(mount, path, versions); err != nil {
		return err
	}
	return ignoreNotFound(s.store.Destroy(ctx, mount, path, versions), "destroy kv versions")
}

// validateVersions checks the target and a version list: Vault's message
// for none, and numbers from 1.
func validateVersions(mount, path string, versions []int) error {
	if err := validateTarget(mount, path); err != nil {
		return err
	}
	if len(versions) == 0 {
		return errs.E(errs.InvalidArgument, "no version number provided")
	}
	for _, v := range versions {
		if v < 1 {
			return errs.E(errs.InvalidArgument, "versions: %d is not a version number", v)
		}
	}
	return nil
}

// ignoreNotFound returns nil for nil and errs.NotFound errors (Vault
// answers 204 for a path that does not exist), and err wrapped otherwise.
func ignoreNotFound(err error, verb string) error {
	if err == nil || errs.KindOf(err) == errs.NotFound {
		return nil
	}
	return fmt.Errorf("%s: %w", verb, err)
}
