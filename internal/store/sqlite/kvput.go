package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

const (
	insertEmptyMetadataSQL = `INSERT INTO kv_metadata (` + metadataColumns + `)
VALUES (?, ?, 0, 0, 0, 0, 0, '{}', ?, ?)`
	insertKVVersionSQL = `INSERT INTO kv_versions (mount, path, version, ciphertext, created_time, deletion_time, destroyed)
VALUES (?, ?, ?, ?, ?, ?, 0)`
	pruneKVVersionsSQL = `DELETE FROM kv_versions WHERE mount = ? AND path = ? AND version <= ?`
	updateCurrentSQL   = `UPDATE kv_metadata SET current_version = ?, oldest_version = ?, updated_time = ?
WHERE mount = ? AND path = ?`
)

// Put writes the path's next version; see kv.Store. The IMMEDIATE
// transaction holds the database's write lock throughout, so writers take
// turns and each sees the version the one before it wrote.
func (s *KVStore) Put(ctx context.Context, mount, path string, now time.Time,
	check func(md *kv.Metadata, mc *kv.MountConfig) error, seal func(version int) ([]byte, error)) (*kv.Metadata, error) {
	now = now.UTC().Truncate(time.Microsecond)
	var md *kv.Metadata
	err := s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		cur, err := metadata(ctx, tx, mount, path)
		isNew := errs.KindOf(err) == errs.NotFound
		if err != nil && !isNew {
			return err
		}
		mc, err := mountConfig(ctx, tx, mount)
		if err != nil {
			return err
		}
		if err := check(cur.Clone(), mc); err != nil {
			return err
		}
		if isNew {
			cur = &kv.Metadata{Mount: mount, Path: path, CreatedTime: now}
			if _, err := tx.ExecContext(ctx, insertEmptyMetadataSQL, mount, path, formatTime(now), formatTime(now)); err != nil {
				return fmt.Errorf("insert kv metadata: %w", err)
			}
		}
		vm := kv.VersionMeta{Version: cur.CurrentVersion + 1, CreatedTime: now}
		if dva := kv.EffectiveDeleteVersionAfter(cur.DeleteVersionAfter, mc.DeleteVersionAfter); dva > 0 {
			vm.DeletionTime = now.Add(dva).Truncate(time.Microsecond)
		}
		ciphertext, err := seal(vm.Version)
		if err != nil {
			return fmt.Errorf("seal version %d of kv path %q: %w", vm.Version, path, err)
		}
		_, err = tx.ExecContext(ctx, insertKVVersionSQL, mount, path, vm.Version, nonNil(ciphertext),
			formatTime(vm.CreatedTime), nullTime(vm.DeletionTime))
		if err != nil {
			return fmt.Errorf("insert kv version: %w", err)
		}
		cur.Versions = append(cur.Versions, vm)
		cur.CurrentVersion, cur.UpdatedTime = vm.Version, now
		if err := pruneTo(ctx, tx, cur, kv.EffectiveMaxVersions(cur.MaxVersions, mc.MaxVersions)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, updateCurrentSQL, cur.CurrentVersion, cur.OldestVersion, formatTime(now), mount, path)
		if err != nil {
			return fmt.Errorf("update kv metadata: %w", err)
		}
		md = cur
		return nil
	})
	return md, err
}

// pruneTo deletes the versions of md beyond the newest maxVersions, and
// updates md's Versions and OldestVersion (not its row) to match.
func pruneTo(ctx context.Context, tx *sql.Tx, md *kv.Metadata, maxVersions int) error {
	cutoff := md.CurrentVersion - maxVersions
	if cutoff < max(md.OldestVersion, 1) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, pruneKVVersionsSQL, md.Mount, md.Path, cutoff); err != nil {
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
	AND v.version = CASE WHEN ?3 = 0 THEN m.current_version ELSE ?3 END
WHERE m.mount = ?1 AND m.path = ?2`

// Read returns a version of the path with the path's metadata (without
// Versions), in one statement; see kv.Store.
func (s *KVStore) Read(ctx context.Context, mount, path string, version int) ([]byte, *kv.VersionMeta, *kv.Metadata, error) {
	var r *kvRead
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		r, err = scanKVRead(tx.QueryRowContext(ctx, readKVSQL, mount, path, version))
		if errors.Is(err, sql.ErrNoRows) {
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

func scanKVRead(row scanner) (*kvRead, error) {
	var (
		md             kv.Metadata
		dva            int64
		custom         string
		version        sql.NullInt64
		ciphertext     []byte
		vCreated, vDel time.Time
		destroyed      sql.NullBool
	)
	err := row.Scan(&md.Mount, &md.Path, &md.CurrentVersion, &md.OldestVersion, &md.MaxVersions, &md.CASRequired,
		&dva, &custom, scanTime(&md.CreatedTime), scanTime(&md.UpdatedTime),
		&version, &ciphertext, scanTime(&vCreated), scanTime(&vDel), &destroyed)
	if err != nil {
		return nil, err
	}
	if md.CustomMetadata, err = decodeCustomMetadata(custom); err != nil {
		return nil, fmt.Errorf(customMetadataFailFmt, md.Path, err)
	}
	md.DeleteVersionAfter = time.Duration(dva)
	r := &kvRead{md: &md}
	if version.Valid {
		r.vm = &kv.VersionMeta{Version: int(version.Int64), CreatedTime: vCreated, DeletionTime: vDel, Destroyed: destroyed.Bool}
		// The driver reads an empty BLOB as nil, which means destroyed.
		if r.ciphertext = ciphertext; !r.vm.Destroyed && ciphertext == nil {
			r.ciphertext = []byte{}
		}
	}
	return r, nil
}

const (
	pathExistsSQL       = `SELECT path FROM kv_metadata WHERE mount = ? AND path = ?`
	inVersions          = ` AND version IN (SELECT value FROM json_each(?))`
	undeleteVersionsSQL = `UPDATE kv_versions SET deletion_time = NULL
WHERE mount = ? AND path = ? AND NOT destroyed` + inVersions
	deleteVersionsSQL = `UPDATE kv_versions SET deletion_time = ?4
WHERE mount = ?1 AND path = ?2 AND version IN (SELECT value FROM json_each(?3))
	AND NOT destroyed AND (deletion_time IS NULL OR deletion_time > ?4)`
	destroyVersionsSQL = `UPDATE kv_versions SET destroyed = 1, ciphertext = NULL
WHERE mount = ? AND path = ?` + inVersions
)

// SetDeletionTime soft-deletes or undeletes versions; see kv.Store.
func (s *KVStore) SetDeletionTime(ctx context.Context, mount, path string, versions []int, t time.Time) error {
	if t.IsZero() {
		return s.updateVersions(ctx, mount, path, "undelete", undeleteVersionsSQL, versions)
	}
	return s.updateVersions(ctx, mount, path, "delete", deleteVersionsSQL, versions, formatTime(t.Truncate(time.Microsecond)))
}

// Destroy erases the ciphertexts of versions; see kv.Store.
func (s *KVStore) Destroy(ctx context.Context, mount, path string, versions []int) error {
	return s.updateVersions(ctx, mount, path, "destroy", destroyVersionsSQL, versions)
}

// updateVersions runs query on the versions of the path (bound as a JSON
// array for json_each); errs.NotFound when the path has no metadata.
func (s *KVStore) updateVersions(ctx context.Context, mount, path, verb, query string, versions []int, args ...any) error {
	list, err := json.Marshal(versions)
	if err != nil {
		return fmt.Errorf("encode kv versions: %w", err)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		var p string
		err := tx.QueryRowContext(ctx, pathExistsSQL, mount, path).Scan(&p)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, metadataNotFoundFmt, path)
		}
		if err != nil {
			return fmt.Errorf("find kv metadata: %w", err)
		}
		if _, err := tx.ExecContext(ctx, query, append([]any{mount, path, string(list)}, args...)...); err != nil {
			return fmt.Errorf("%s kv versions: %w", verb, err)
		}
		return nil
	})
}

const (
	upsertMetadataSQL = `INSERT INTO kv_metadata (` + metadataColumns + `)
VALUES (?, ?, 0, 0, ?, ?, ?, ?, ?, ?)
ON CONFLICT (mount, path) DO UPDATE SET max_versions = excluded.max_versions, cas_required = excluded.cas_required,
	delete_version_after_ns = excluded.delete_version_after_ns, custom_metadata = excluded.custom_metadata,
	updated_time = excluded.updated_time
RETURNING current_version, oldest_version`
	updateOldestSQL = `UPDATE kv_metadata SET oldest_version = ? WHERE mount = ? AND path = ?`
)

// WriteMetadata creates or updates the settable fields of md.Path's
// metadata, pruning versions beyond a lowered MaxVersions; see kv.Store.
func (s *KVStore) WriteMetadata(ctx context.Context, md *kv.Metadata, now time.Time) error {
	if err := checkSettings(md.MaxVersions, md.DeleteVersionAfter); err != nil {
		return err
	}
	custom, err := encodeCustomMetadata(md.CustomMetadata)
	if err != nil {
		return err
	}
	ts := formatTime(now.Truncate(time.Microsecond))
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		cur := &kv.Metadata{Mount: md.Mount, Path: md.Path}
		err := tx.QueryRowContext(ctx, upsertMetadataSQL, md.Mount, md.Path, md.MaxVersions, md.CASRequired,
			int64(md.DeleteVersionAfter), custom, ts, ts).Scan(&cur.CurrentVersion, &cur.OldestVersion)
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
		if _, err := tx.ExecContext(ctx, updateOldestSQL, cur.OldestVersion, md.Mount, md.Path); err != nil {
			return fmt.Errorf("update kv metadata: %w", err)
		}
		return nil
	})
}
