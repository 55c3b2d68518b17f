package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
)

// MountStore is the PostgreSQL mount.Store: the Vault listener's mount
// table and the users of its userpass mounts. It is safe for concurrent
// use; returned values and their slices and maps are owned by the caller.
// Every change of a mount notifies its cache invalidation (mount.Changed)
// in its transaction.
type MountStore struct {
	db *DB
}

var _ mount.Store = (*MountStore)(nil)

// Mounts returns the mount table store on db.
func (db *DB) Mounts() *MountStore { return &MountStore{db: db} }

const mountColumns = `kind, path, type, description, accessor, uuid, options, default_lease_ttl_ns, max_lease_ttl_ns,
created_at, wrapped_keyring, wrapped_fallback_key`

const insertMountSQL = `INSERT INTO vault_mounts (` + mountColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// CreateMount stores m. A taken path (within its kind) or accessor is
// errs.AlreadyExists; a mount without kind, path or accessor, or with a
// negative TTL, is errs.InvalidArgument.
func (s *MountStore) CreateMount(ctx context.Context, m *mount.Mount) error {
	if err := checkMount(m); err != nil {
		return err
	}
	opts, err := json.Marshal(m.Options)
	if err != nil {
		return fmt.Errorf("encode mount options: %w", err)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, insertMountSQL, m.Kind, m.Path, m.Type, m.Description, m.Accessor, m.UUID, string(opts),
			int64(m.DefaultLeaseTTL), int64(m.MaxLeaseTTL), m.CreatedAt.UTC().Truncate(time.Microsecond),
			nonNil(m.WrappedKeyring), nonNil(m.WrappedFallbackKey))
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err,
				fmt.Sprintf("a mount at %s/ or with accessor %s already exists", m.Path, m.Accessor))
		}
		if err != nil {
			return fmt.Errorf("insert mount: %w", err)
		}
		return notify(ctx, tx, mount.Changed(m.Kind, m.Path))
	})
}

// checkMount checks what the columns require of m.
func checkMount(m *mount.Mount) error {
	switch {
	case m.Kind != mount.KindSecret && m.Kind != mount.KindAuth:
		return errs.E(errs.InvalidArgument, "mount kind %q is neither %q nor %q", m.Kind, mount.KindSecret, mount.KindAuth)
	case m.Path == "" || m.Accessor == "":
		return errs.E(errs.InvalidArgument, "a mount needs a path and an accessor")
	}
	return checkLeaseTTLs(m)
}

// checkLeaseTTLs refuses negative lease TTLs.
func checkLeaseTTLs(m *mount.Mount) error {
	if m.DefaultLeaseTTL < 0 || m.MaxLeaseTTL < 0 {
		return errs.E(errs.InvalidArgument, "lease TTLs must not be negative")
	}
	return nil
}

const selectMountSQL = `SELECT ` + mountColumns + ` FROM vault_mounts WHERE kind = $1 AND path = $2`

// Mount returns the mount of kind at path; errs.NotFound when there is none.
func (s *MountStore) Mount(ctx context.Context, kind, path string) (*mount.Mount, error) {
	var m *mount.Mount
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		m, err = queryOne(ctx, tx, scanMount, selectMountSQL, kind, path)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "no mount at %s/", path)
		}
		if err != nil {
			return fmt.Errorf("select mount: %w", err)
		}
		return nil
	})
	return m, err
}

const listMountsSQL = `SELECT ` + mountColumns + ` FROM vault_mounts WHERE kind = $1 ORDER BY path`

// ListMounts returns the mounts of kind ordered by path.
func (s *MountStore) ListMounts(ctx context.Context, kind string) ([]*mount.Mount, error) {
	var list []*mount.Mount
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		if list, err = queryAll(ctx, tx, scanMount, listMountsSQL, kind); err != nil {
			return fmt.Errorf("list mounts: %w", err)
		}
		return nil
	})
	return list, err
}

const tuneMountSQL = `UPDATE vault_mounts SET default_lease_ttl_ns = $3, max_lease_ttl_ns = $4, description = $5
WHERE kind = $1 AND path = $2`

// TuneMount replaces the lease TTLs and description of the mount of
// m.Kind at m.Path; errs.NotFound when there is none.
func (s *MountStore) TuneMount(ctx context.Context, m *mount.Mount) error {
	if err := checkLeaseTTLs(m); err != nil {
		return err
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := execOne(ctx, tx, "mount "+m.Path, tuneMountSQL, m.Kind, m.Path,
			int64(m.DefaultLeaseTTL), int64(m.MaxLeaseTTL), m.Description); err != nil {
			return err
		}
		return notify(ctx, tx, mount.Changed(m.Kind, m.Path))
	})
}

const (
	lockMountOptionsSQL = `SELECT options FROM vault_mounts WHERE kind = $1 AND path = $2 FOR UPDATE`
	setMountOptionsSQL  = `UPDATE vault_mounts SET options = $3 WHERE kind = $1 AND path = $2`
)

// SetMountOptions merges set into the options of the mount of kind at
// path, holding the row's lock from the read to the write; errs.NotFound
// when there is none.
func (s *MountStore) SetMountOptions(ctx context.Context, kind, path string, set map[string]string) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		var raw string
		err := tx.QueryRow(ctx, lockMountOptionsSQL, kind, path).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "no mount at %s/", path)
		}
		if err != nil {
			return fmt.Errorf("select mount options: %w", err)
		}
		var opts map[string]string
		if err := json.Unmarshal([]byte(raw), &opts); err != nil {
			return fmt.Errorf("decode mount options: %w", err)
		}
		if opts == nil {
			opts = make(map[string]string, len(set))
		}
		for k, v := range set {
			opts[k] = v
		}
		b, err := json.Marshal(opts)
		if err != nil {
			return fmt.Errorf("encode mount options: %w", err)
		}
		if err := execOne(ctx, tx, "mount "+path, setMountOptionsSQL, kind, path, string(b)); err != nil {
			return err
		}
		return notify(ctx, tx, mount.Changed(kind, path))
	})
}

const (
	deleteMountSQL      = `DELETE FROM vault_mounts WHERE kind = $1 AND path = $2`
	deleteMountUsersSQL = `DELETE FROM vault_userpass_users WHERE mount = $1`
)

// DeleteMount removes the mount of kind at path and, for an auth mount,
// its users; errs.NotFound when there is no such mount.
func (s *MountStore) DeleteMount(ctx context.Context, kind, path string) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := execOne(ctx, tx, "mount "+path, deleteMountSQL, kind, path); err != nil {
			return err
		}
		if err := notify(ctx, tx, mount.Changed(kind, path)); err != nil {
			return err
		}
		if kind != mount.KindAuth {
			return nil
		}
		if _, err := tx.Exec(ctx, deleteMountUsersSQL, path); err != nil {
			return fmt.Errorf("delete the mount's users: %w", err)
		}
		return nil
	})
}

func scanMount(row pgx.CollectableRow) (*mount.Mount, error) {
	var (
		m              mount.Mount
		opts           string
		dflt, maxTTL   int64
		created        time.Time
		ring, fallback []byte
	)
	err := row.Scan(&m.Kind, &m.Path, &m.Type, &m.Description, &m.Accessor, &m.UUID, &opts, &dflt, &maxTTL,
		&created, &ring, &fallback)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(opts), &m.Options); err != nil {
		return nil, fmt.Errorf("decode mount options: %w", err)
	}
	m.DefaultLeaseTTL, m.MaxLeaseTTL, m.CreatedAt = time.Duration(dflt), time.Duration(maxTTL), created.UTC()
	m.WrappedKeyring, m.WrappedFallbackKey = nilIfEmpty(ring), nilIfEmpty(fallback)
	return &m, nil
}
