package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

// KVStore is the PostgreSQL kv.Store: the KV v2 engine's mount configs,
// path metadata and sealed versions. It is safe for concurrent use; the
// writers of one path take turns on its metadata row. Returned values and
// their byte slices are owned by the caller.
type KVStore struct {
	db *DB
}

var _ kv.Store = (*KVStore)(nil)

// KV returns the KV v2 store on db.
func (db *DB) KV() *KVStore { return &KVStore{db: db} }

// inSnapshot runs fn in one read-only REPEATABLE READ transaction, so that
// its statements see one snapshot (a metadata row and its versions agree).
func (db *DB) inSnapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return pgx.BeginTxFunc(ctx, db.pool, opts, fn)
}

const (
	selectMountConfigSQL = `SELECT max_versions, cas_required, delete_version_after_ns FROM kv_mount_config WHERE mount = $1`
	upsertMountConfigSQL = `INSERT INTO kv_mount_config (mount, max_versions, cas_required, delete_version_after_ns)
VALUES ($1, $2, $3, $4)
ON CONFLICT (mount) DO UPDATE SET max_versions = EXCLUDED.max_versions, cas_required = EXCLUDED.cas_required,
	delete_version_after_ns = EXCLUDED.delete_version_after_ns`
)

// MountConfig returns the mount's config, the zero config when none was set.
func (s *KVStore) MountConfig(ctx context.Context, mount string) (*kv.MountConfig, error) {
	var mc *kv.MountConfig
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		mc, err = mountConfig(ctx, tx, mount)
		return err
	})
	return mc, err
}

func mountConfig(ctx context.Context, tx pgx.Tx, mount string) (*kv.MountConfig, error) {
	var (
		mc  kv.MountConfig
		dva int64
	)
	err := tx.QueryRow(ctx, selectMountConfigSQL, mount).Scan(&mc.MaxVersions, &mc.CASRequired, &dva)
	if errors.Is(err, pgx.ErrNoRows) {
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
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, upsertMountConfigSQL, mount, c.MaxVersions, c.CASRequired, int64(c.DeleteVersionAfter)); err != nil {
			return fmt.Errorf("upsert kv mount config: %w", err)
		}
		return nil
	})
}

// checkSettings rejects what the columns cannot hold.
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
	selectMetadataSQL     = `SELECT ` + metadataColumns + ` FROM kv_metadata WHERE mount = $1 AND path = $2`
	selectKVVersionsSQL   = `SELECT version, created_time, deletion_time, destroyed FROM kv_versions WHERE mount = $1 AND path = $2 ORDER BY version`
	lockMetadataSQL       = selectMetadataSQL + ` FOR UPDATE`
	listKVPathsSQL        = `SELECT path FROM kv_metadata WHERE mount = $1 AND path LIKE $2 ESCAPE '\' ORDER BY path`
	countKVPathsSQL       = `SELECT count(*) FROM kv_metadata WHERE mount = $1`
	deleteMetadataSQL     = `DELETE FROM kv_metadata WHERE mount = $1 AND path = $2`
	deleteMountPathsSQL   = `DELETE FROM kv_metadata WHERE mount = $1`
	deleteMountConfigSQL  = `DELETE FROM kv_mount_config WHERE mount = $1`
	metadataNotFoundFmt   = "kv path %q not found"
	kvVersionNotFoundFmt  = "version %d of kv path %q not found"
	noCurrentVersionFmt   = "kv path %q has no version"
	customMetadataFailFmt = "decode custom metadata of kv path %q: %w"
)

// Metadata returns the path's metadata with its retained versions.
func (s *KVStore) Metadata(ctx context.Context, mount, path string) (*kv.Metadata, error) {
	var md *kv.Metadata
	err := s.db.inSnapshot(ctx, func(tx pgx.Tx) error {
		var err error
		md, err = metadata(ctx, tx, selectMetadataSQL, mount, path)
		return err
	})
	return md, err
}

// metadata runs query (selectMetadataSQL or lockMetadataSQL) and loads the
// path's versions; errs.NotFound when the path has no metadata.
func metadata(ctx context.Context, tx pgx.Tx, query, mount, path string) (*kv.Metadata, error) {
	md, err := queryOne(ctx, tx, scanMetadata, query, mount, path)
	if errors.Is(err, pgx.ErrNoRows) {
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

// List returns the direct children of prefix, from the paths that start
// with it (LIKE with its wildcards escaped; the C collation lets the
// primary key serve the prefix).
func (s *KVStore) List(ctx context.Context, mount, prefix string) ([]string, error) {
	var paths []string
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		paths, err = queryAll(ctx, tx, pgx.RowTo[string], listKVPathsSQL, mount, likePrefix(prefix))
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

// likePrefix returns a LIKE pattern (escape character '\') that matches
// the strings starting with prefix.
func likePrefix(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
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
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, countKVPathsSQL, mount).Scan(&n); err != nil {
			return fmt.Errorf("count kv paths: %w", err)
		}
		return nil
	})
	return n, err
}

// DeleteMetadata removes the path with all its versions; errs.NotFound
// when it has no metadata.
func (s *KVStore) DeleteMetadata(ctx context.Context, mount, path string) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, deleteMetadataSQL, mount, path)
		if err != nil {
			return fmt.Errorf("delete kv metadata: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, metadataNotFoundFmt, path)
		}
		return nil
	})
}

// DeleteMount removes the mount's config, paths and versions. A mount
// with nothing stored is not an error.
func (s *KVStore) DeleteMount(ctx context.Context, mount string) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, deleteMountPathsSQL, mount); err != nil {
			return fmt.Errorf("delete kv paths: %w", err)
		}
		if _, err := tx.Exec(ctx, deleteMountConfigSQL, mount); err != nil {
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

func scanMetadata(row pgx.CollectableRow) (*kv.Metadata, error) {
	var (
		md               kv.Metadata
		dva              int64
		custom           string
		created, updated time.Time
	)
	err := row.Scan(&md.Mount, &md.Path, &md.CurrentVersion, &md.OldestVersion, &md.MaxVersions, &md.CASRequired,
		&dva, &custom, &created, &updated)
	if err != nil {
		return nil, err
	}
	if md.CustomMetadata, err = decodeCustomMetadata(custom); err != nil {
		return nil, fmt.Errorf(customMetadataFailFmt, md.Path, err)
	}
	md.DeleteVersionAfter, md.CreatedTime, md.UpdatedTime = time.Duration(dva), created.UTC(), updated.UTC()
	return &md, nil
}

func scanVersionMeta(row pgx.CollectableRow) (kv.VersionMeta, error) {
	var (
		vm       kv.VersionMeta
		created  time.Time
		deletion *time.Time
	)
	if err := row.Scan(&vm.Version, &created, &deletion, &vm.Destroyed); err != nil {
		return kv.VersionMeta{}, err
	}
	vm.CreatedTime, vm.DeletionTime = created.UTC(), utc(deletion)
	return vm, nil
}
