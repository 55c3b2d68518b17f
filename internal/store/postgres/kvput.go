package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

const (
	insertEmptyMetadataSQL = `INSERT INTO kv_metadata (` + metadataColumns + `)
VALUES ($1, $2, 0, 0, 0, false, 0, '{}', $3, $3) ON CONFLICT (mount, path) DO NOTHING`
	insertKVVersionSQL = `INSERT INTO kv_versions (mount, path, version, ciphertext, created_time, deletion_time, destroyed)
VALUES ($1, $2, $3, $4, $5, $6, false)`
	pruneKVVersionsSQL = `DELETE FROM kv_versions WHERE mount = $1 AND path = $2 AND version <= $3`
	updateCurrentSQL   = `UPDATE kv_metadata SET current_version = $3, oldest_version = $4, updated_time = $5
WHERE mount = $1 AND path = $2`
)

// Put writes the path's next version; see kv.Store. The path's metadata row
// is locked (FOR UPDATE) for the whole transaction, so writers of one path
// take turns and each sees the version the one before it wrote.
func (s *KVStore) Put(ctx context.Context, mount, path string, now time.Time,
	check func(md *kv.Metadata, mc *kv.MountConfig) error, seal func(version int) ([]byte, error)) (*kv.Metadata, error) {
	now = now.UTC().Truncate(time.Microsecond)
	var md *kv.Metadata
	err := s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		cur, isNew, err := lockForPut(ctx, tx, mount, path, now)
		if err != nil {
			return err
		}
		mc, err := mountConfig(ctx, tx, mount)
		if err != nil {
			return err
		}
		seen := cur.Clone()
		if isNew {
			seen = nil
		}
		if err := check(seen, mc); err != nil {
			return err
		}
		vm := kv.VersionMeta{Version: cur.CurrentVersion + 1, CreatedTime: now}
		if dva := kv.EffectiveDeleteVersionAfter(cur.DeleteVersionAfter, mc.DeleteVersionAfter); dva > 0 {
			vm.DeletionTime = now.Add(dva).Truncate(time.Microsecond)
		}
		ciphertext, err := seal(vm.Version)
		if err != nil {
			return fmt.Errorf("seal version %d of kv path %q: %w", vm.Version, path, err)
		}
		_, err = tx.Exec(ctx, insertKVVersionSQL, mount, path, vm.Version, nonNil(ciphertext), vm.CreatedTime, nullTime(vm.DeletionTime))
		if err != nil {
			return fmt.Errorf("insert kv version: %w", err)
		}
		cur.Versions = append(cur.Versions, vm)
		cur.CurrentVersion, cur.UpdatedTime = vm.Version, now
		if err := pruneTo(ctx, tx, cur, kv.EffectiveMaxVersions(cur.MaxVersions, mc.MaxVersions)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, updateCurrentSQL, mount, path, cur.CurrentVersion, cur.OldestVersion, now); err != nil {
			return fmt.Errorf("update kv metadata: %w", err)
		}
		md = cur
		return nil
	})
	return md, err
}

// lockForPut locks the path's metadata row and returns it with its
// versions, creating an empty one (and reporting isNew) when the path has
// none. A concurrent creator's insert makes ours wait for its transaction:
// when it commits, ours does nothing and the row is locked as it left it.
func lockForPut(ctx context.Context, tx pgx.Tx, mount, path string, now time.Time) (md *kv.Metadata, isNew bool, err error) {
	md, err = metadata(ctx, tx, lockMetadataSQL, mount, path)
	if errs.KindOf(err) != errs.NotFound {
		return md, false, err
	}
	tag, err := tx.Exec(ctx, insertEmptyMetadataSQL, mount, path, now)
	if err != nil {
		return nil, false, fmt.Errorf("insert kv metadata: %w", err)
	}
	if tag.RowsAffected() == 0 {
		md, err = metadata(ctx, tx, lockMetadataSQL, mount, path)
		return md, false, err
	}
	return &kv.Metadata{Mount: mount, Path: path, CreatedTime: now, UpdatedTime: now}, true, nil
}

// pruneTo deletes the versions of md beyond the newest maxVersions, and
// updates md's Versions and OldestVersion (not its row) to match.
func pruneTo(ctx context.Context, tx pgx.Tx, md *kv.Metadata, maxVersions int) error {
	cutoff := md.CurrentVersion - maxVersions
	if cutoff < max(md.OldestVersion, 1) {
		return nil
	}
	if _, err := tx.Exec(ctx, pruneKVVersionsSQL, md.Mount, md.Path, cutoff); err != nil {
		return fmt.Errorf("prune kv versions: %w", err)
	}
	md.OldestVersion = cutoff + 1
	kept := md.Versions[:0]
	for _, v := range md.Versions {
		if v.Version > cutoff {
			kept = append(kept, v)
		}
	}
	md.Versions = kept
	return nil
}

const readKVSQL = `SELECT m.mount, m.path, m.current_version, m.oldest_version, m.max_versions, m.cas_required,
	m.delete_version_after_ns, m.custom_metadata, m.created_time, m.updated_time,
	v.version, v.ciphertext, v.created_time, v.deletion_time, v.destroyed
FROM kv_metadata m LEFT JOIN kv_versions v ON v.mount = m.mount AND v.path = m.path
	AND v.version = CASE WHEN $3::bigint = 0 THEN m.current_version ELSE $3::bigint END
WHERE m.mount = $1 AND m.path = $2`

// Read returns a version of the path with the path's metadata (without
// Versions), in one statement; see kv.Store.
func (s *KVStore) Read(ctx context.Context, mount, path string, version int) ([]byte, *kv.VersionMeta, *kv.Metadata, error) {
	var r *kvRead
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		r, err = queryOne(ctx, tx, scanKVRead, readKVSQL, mount, path, version)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, metadataNotFoundFmt, path)
		}
		if err != nil {
			return fmt.Errorf("read kv version: %w", err)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, nil, nil, err
	case r.vm != nil:
		return r.ciphertext, r.vm, r.md, nil
	case version == 0:
		return nil, nil, nil, errs.E(errs.NotFound, noCurrentVersionFmt, path)
	}
	return nil, nil, nil, errs.E(errs.NotFound, kvVersionNotFoundFmt, version, path)
}

// kvRead is a row of readKVSQL: vm is nil when the version does not exist.
type kvRead struct {
	md         *kv.Metadata
	vm         *kv.VersionMeta
	ciphertext []byte
}

func scanKVRead(row pgx.CollectableRow) (*kvRead, error) {
	var (
		md               kv.Metadata
		dva              int64
		custom           string
		created, updated time.Time
		version          *int
		ciphertext       []byte
		vCreated, vDel   *time.Time
		destroyed        *bool
	)
	err := row.Scan(&md.Mount, &md.Path, &md.CurrentVersion, &md.OldestVersion, &md.MaxVersions, &md.CASRequired,
		&dva, &custom, &created, &updated, &version, &ciphertext, &vCreated, &vDel, &destroyed)
	if err != nil {
		return nil, err
	}
	if md.CustomMetadata, err = decodeCustomMetadata(custom); err != nil {
		return nil, fmt.Errorf(customMetadataFailFmt, md.Path, err)
	}
	md.DeleteVersionAfter, md.CreatedTime, md.UpdatedTime = time.Duration(dva), created.UTC(), updated.UTC()
	r := &kvRead{md: &md}
	if version != nil {
		r.vm = &kv.VersionMeta{Version: *version, CreatedTime: utc(vCreated), DeletionTime: utc(vDel), Destroyed: *destroyed}
		r.ciphertext = ciphertext
	}
	return r, nil
}

const (
	lockPathSQL         = `SELECT path FROM kv_metadata WHERE mount = $1 AND path = $2 FOR UPDATE`
	undeleteVersionsSQL = `UPDATE kv_versions SET deletion_time = NULL
WHERE mount = $1 AND path = $2 AND version = ANY($3) AND NOT destroyed`
	deleteVersionsSQL = `UPDATE kv_versions SET deletion_time = $4
WHERE mount = $1 AND path = $2 AND version = ANY($3) AND NOT destroyed AND (deletion_time IS NULL OR deletion_time > $4)`
	destroyVersionsSQL = `UPDATE kv_versions SET destroyed = true, ciphertext = NULL
WHERE mount = $1 AND path = $2 AND version = ANY($3)`
)

// SetDeletionTime soft-deletes or undeletes versions; see kv.Store.
func (s *KVStore) SetDeletionTime(ctx context.Context, mount, path string, versions []int, t time.Time) error {
	if t.IsZero() {
		return s.updateVersions(ctx, mount, path, "undelete", undeleteVersionsSQL, versions)
	}
	t = t.UTC().Truncate(time.Microsecond)
	return s.updateVersions(ctx, mount, path, "delete", deleteVersionsSQL, versions, t)
}

// Destroy erases the ciphertexts of versions; see kv.Store.
func (s *KVStore) Destroy(ctx context.Context, mount, path string, versions []int) error {
	return s.updateVersions(ctx, mount, path, "destroy", destroyVersionsSQL, versions)
}

// updateVersions runs query on the versions of the path, holding its
// metadata row lock as Put does; errs.NotFound when the path has none.
func (s *KVStore) updateVersions(ctx context.Context, mount, path, verb, query string, versions []int, args ...any) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		var p string
		err := tx.QueryRow(ctx, lockPathSQL, mount, path).Scan(&p)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, metadataNotFoundFmt, path)
		}
		if err != nil {
			return fmt.Errorf("lock kv metadata: %w", err)
		}
		if _, err := tx.Exec(ctx, query, append([]any{mount, path, versions}, args...)...); err != nil {
			return fmt.Errorf("%s kv versions: %w", verb, err)
		}
		return nil
	})
}

const (
	upsertMetadataSQL = `INSERT INTO kv_metadata (` + metadataColumns + `)
VALUES ($1, $2, 0, 0, $3, $4, $5, $6, $7, $7)
ON CONFLICT (mount, path) DO UPDATE SET max_versions = EXCLUDED.max_versions, cas_required = EXCLUDED.cas_required,
	delete_version_after_ns = EXCLUDED.delete_version_after_ns, custom_metadata = EXCLUDED.custom_metadata,
	updated_time = EXCLUDED.updated_time
RETURNING current_version, oldest_version`
	updateOldestSQL = `UPDATE kv_metadata SET oldest_version = $3 WHERE mount = $1 AND path = $2`
)

// WriteMetadata creates or updates the settable fields of md.Path's
// metadata, pruning versions beyond a lowered MaxVersions; see kv.Store.
// The upsert locks the row, so it takes turns with Put.
func (s *KVStore) WriteMetadata(ctx context.Context, md *kv.Metadata, now time.Time) error {
	if err := checkSettings(md.MaxVersions, md.DeleteVersionAfter); err != nil {
		return err
	}
	custom, err := encodeCustomMetadata(md.CustomMetadata)
	if err != nil {
		return err
	}
	now = now.UTC().Truncate(time.Microsecond)
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		cur := &kv.Metadata{Mount: md.Mount, Path: md.Path}
		err := tx.QueryRow(ctx, upsertMetadataSQL, md.Mount, md.Path, md.MaxVersions, md.CASRequired,
			int64(md.DeleteVersionAfter), custom, now).Scan(&cur.CurrentVersion, &cur.OldestVersion)
		if err != nil {
			return fmt.Errorf("upsert kv metadata: %w", err)
		}
		mc, err := mountConfig(ctx, tx, md.Mount)
		if err != nil {
			return err
		}
		oldest := cur.OldestVersion
		if err := pruneTo(ctx, tx, cur, kv.EffectiveMaxVersions(md.MaxVersions, mc.MaxVersions)); err != nil {
			return err
		}
		if cur.OldestVersion == oldest {
			return nil
		}
		if _, err := tx.Exec(ctx, updateOldestSQL, md.Mount, md.Path, cur.OldestVersion); err != nil {
			return fmt.Errorf("update kv metadata: %w", err)
		}
		return nil
	})
}
