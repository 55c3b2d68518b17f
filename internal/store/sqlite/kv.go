package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

// KVStore is the SQLite kv.Store: the KV v2 engine's mount configs, path
// metadata and sealed versions. It is safe for concurrent use; writers
// take turns on the database's write lock (IMMEDIATE transactions).
// Returned values and their byte slices are owned by the caller.
type KVStore struct {
	db *DB
}

var _ kv.Store = (*KVStore)(nil)

// KV returns the KV v2 store on db.
func (db *DB) KV() *KVStore { return &KVStore{db: db} }

const (
	selectMountConfigSQL = `SELECT max_versions, cas_required, delete_version_after_ns FROM kv_mount_config WHERE mount = ?`
	upsertMountConfigSQL = `INSERT INTO kv_mount_config (mount, max_versions, cas_required, delete_version_after_ns)
VALUES (?, ?, ?, ?)
ON CONFLICT (mount) DO UPDATE SET max_versions = excluded.max_versions, cas_required = excluded.cas_required,
	delete_version_after_ns = excluded.delete_version_after_ns`
)

// MountConfig returns the mount's config, the zero config when none was set.
func (s *KVStore) MountConfig(ctx context.Context, mount string) (*kv.MountConfig, error) {
	var mc *kv.MountConfig
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		mc, err = mountConfig(ctx, tx, mount)
		return err
	})
	return mc, err
}

func mountConfig(ctx context.Context, tx *sql.Tx, mount string) (*kv.MountConfig, error) {
	var (
		mc  kv.MountConfig
		dva int64
	)
	err := tx.QueryRowContext(ctx, selectMountConfigSQL, mount).Scan(&mc.MaxVersions, &mc.CASRequired, &dva)
	if errors.Is(err, sql.ErrNoRows) {
		return &kv.MountConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("select kv mount config: %w", err)
	}
	mc.DeleteVersionAfter = time.Duration(dva)
	return &mc, nil
}

// SetMountConfig replaces the mount's config. A negative or out-of-range
// setting is errs.InvalidArgument.
func (s *KVStore) SetMountConfig(ctx context.Context, mount string, c *kv.MountConfig) error {
	if err := checkSettings(c.MaxVersions, c.DeleteVersionAfter); err != nil {
		return err
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, upsertMountConfigSQL, mount, c.MaxVersions, c.CASRequired, int64(c.DeleteVersionAfter))
		if err != nil {
			return fmt.Errorf("upsert kv mount config: %w", err)
		}
		return nil
	})
}

// checkSettings rejects what the PostgreSQL store's columns cannot hold,
// so that both stores answer alike.
func checkSettings(maxVersions int, deleteVersionAfter time.Duration) error {
	if maxVersions < 0 || maxVersions > math.MaxInt32 {
		return errs.E(errs.InvalidArgument, "max_versions must be between 0 and %d", math.MaxInt32)
	}
	if deleteVersionAfter < 0 {
		return errs.E(errs.InvalidArgument, "delete_version_after must not be negative")
	}
	return nil
}

const metadataColumns = `mount, path, current_version, oldest_version, max_versions, cas_required,
	delete_version_after_ns, custom_metadata, created_time, updated_time`

const (
	selectMetadataSQL     = `SELECT ` + metadataColumns + ` FROM kv_metadata WHERE mount = ? AND path = ?`
	selectKVVersionsSQL   = `SELECT version, created_time, deletion_time, destroyed FROM kv_versions WHERE mount = ? AND path = ? ORDER BY version`
	listAllKVPathsSQL     = `SELECT path FROM kv_metadata WHERE mount = ? ORDER BY path`
	listKVPathsFromSQL    = `SELECT path FROM kv_metadata WHERE mount = ? AND path >= ? ORDER BY path`
	listKVPathsRangeSQL   = `SELECT path FROM kv_metadata WHERE mount = ? AND path >= ? AND path < ? ORDER BY path`
	countKVPathsSQL       = `SELECT count(*) FROM kv_metadata WHERE mount = ?`
	deleteMetadataSQL     = `DELETE FROM kv_metadata WHERE mount = ? AND path = ?`
	deleteMountPathsSQL   = `DELETE FROM kv_metadata WHERE mount = ?`
	deleteMountConfigSQL  = `DELETE FROM kv_mount_config WHERE mount = ?`
	metadataNotFoundFmt   = "kv path %q not found"
	kvVersionNotFoundFmt  = "version %d of kv path %q not found"
	noCurrentVersionFmt   = "kv path %q has no version"
	customMetadataFailFmt = "decode custom metadata of kv path %q: %w"
)

// Metadata returns the path's metadata with its retained versions. The
// read transaction sees one snapshot of the database.
func (s *KVStore) Metadata(ctx context.Context, mount, path string) (*kv.Metadata, error) {
	var md *kv.Metadata
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		md, err = metadata(ctx, tx, mount, path)
		return err
	})
	return md, err
}

// metadata loads the path's metadata and versions; errs.NotFound when the
// path has none.
func metadata(ctx context.Context, tx *sql.Tx, mount, path string) (*kv.Metadata, error) {
	md, err := scanMetadata(tx.QueryRowContext(ctx, selectMetadataSQL, mount, path))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, metadataNotFoundFmt, path)
	}
	if err != nil {
		return nil, fmt.Errorf("select kv metadata: %w", err)
	}
	md.Versions, err = queryAll(ctx, tx, scanVersionMeta, selectKVVersionsSQL, mount, path)
	if err != nil {
		return nil, fmt.Errorf("select kv versions: %w", err)
	}
	return md, nil
}

// List returns the direct children of prefix, from the paths in the range
// [prefix, successor of prefix). A range, not LIKE: SQLite's LIKE ignores
// ASCII case.
func (s *KVStore) List(ctx context.Context, mount, prefix string) ([]string, error) {
	query, args := listAllKVPathsSQL, []any{mount}
	if prefix != "" {
		if end, ok := successor(prefix); ok {
			query, args = listKVPathsRangeSQL, append(args, prefix, end)
		} else {
			query, args = listKVPathsFromSQL, append(args, prefix)
		}
	}
	var paths []string
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		paths, err = queryAll(ctx, tx, scanString, query, args...)
		if err != nil {
			return fmt.Errorf("list kv paths: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return children(prefix, paths), nil
}

// successor returns the least string greater than every string that
// starts with prefix, and false when there is none (prefix is all 0xff).
func successor(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// children returns the direct children of prefix among paths: the first
// segment after prefix, with a trailing "/" when more follows; sorted, and
// without duplicates.
func children(prefix string, paths []string) []string {
	list := []string{}
	for _, p := range paths {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || rest == "" {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		list = append(list, rest)
	}
	slices.Sort(list)
	return slices.Compact(list)
}

// CountPaths returns how many paths of the mount have metadata.
func (s *KVStore) CountPaths(ctx context.Context, mount string) (int, error) {
	var n int
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, countKVPathsSQL, mount).Scan(&n); err != nil {
			return fmt.Errorf("count kv paths: %w", err)
		}
		return nil
	})
	return n, err
}

// DeleteMetadata removes the path with all its versions; errs.NotFound
// when it has no metadata.
func (s *KVStore) DeleteMetadata(ctx context.Context, mount, path string) error {
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, deleteMetadataSQL, mount, path)
		if err != nil {
			return fmt.Errorf("delete kv metadata: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("delete kv metadata: %w", err)
		}
		if n == 0 {
			return errs.E(errs.NotFound, metadataNotFoundFmt, path)
		}
		return nil
	})
}

// DeleteMount removes the mount's config, paths and versions. A mount
// with nothing stored is not an error.
func (s *KVStore) DeleteMount(ctx context.Context, mount string) error {
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, deleteMountPathsSQL, mount); err != nil {
			return fmt.Errorf("delete kv paths: %w", err)
		}
		if _, err := tx.ExecContext(ctx, deleteMountConfigSQL, mount); err != nil {
			return fmt.Errorf("delete kv mount config: %w", err)
		}
		return nil
	})
}

// encodeCustomMetadata returns m as the JSON object the column holds.
func encodeCustomMetadata(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode custom metadata: %w", err)
	}
	return string(b), nil
}

// decodeCustomMetadata parses the column; an empty object is nil.
func decodeCustomMetadata(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func scanString(row scanner) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}

func scanMetadata(row scanner) (*kv.Metadata, error) {
	var (
		md     kv.Metadata
		dva    int64
		custom string
	)
	err := row.Scan(&md.Mount, &md.Path, &md.CurrentVersion, &md.OldestVersion, &md.MaxVersions, &md.CASRequired,
		&dva, &custom, scanTime(&md.CreatedTime), scanTime(&md.UpdatedTime))
	if err != nil {
		return nil, err
	}
	if md.CustomMetadata, err = decodeCustomMetadata(custom); err != nil {
		return nil, fmt.Errorf(customMetadataFailFmt, md.Path, err)
	}
	md.DeleteVersionAfter = time.Duration(dva)
	return &md, nil
}

func scanVersionMeta(row scanner) (kv.VersionMeta, error) {
	var vm kv.VersionMeta
	err := row.Scan(&vm.Version, scanTime(&vm.CreatedTime), scanTime(&vm.DeletionTime), &vm.Destroyed)
	return vm, err
}
