package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/services"
)

// EndpointStore is the PostgreSQL services.Store: the endpoints of the
// services file with their wrapped tokens. It is safe for concurrent use;
// returned values and their slices are owned by the caller.
type EndpointStore struct {
	db *DB
}

var _ services.Store = (*EndpointStore)(nil)

// TransitEndpoints returns the transit endpoint store on db.
func (db *DB) TransitEndpoints() *EndpointStore { return &EndpointStore{db: db} }

const (
	endpointColumns   = `id, service, policies, accessor, wrapped_token, updated_at`
	insertEndpointSQL = `INSERT INTO transit_endpoints (` + endpointColumns + `) VALUES ($1, $2, $3, $4, $5, $6)`
)

// CreateEndpoint stores e; errs.AlreadyExists when its ID is taken.
func (s *EndpointStore) CreateEndpoint(ctx context.Context, e *services.StoredEndpoint) error {
	policies, err := encodeEndpoint(e)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, insertEndpointSQL, e.ID, e.Service, policies, e.Accessor, e.WrappedToken, storedTime(e.UpdatedAt))
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("transit endpoint %s already exists", e.ID))
		}
		if err != nil {
			return fmt.Errorf("insert transit endpoint: %w", err)
		}
		return nil
	})
}

const selectEndpointSQL = `SELECT ` + endpointColumns + ` FROM transit_endpoints WHERE id = $1`

// Endpoint returns the endpoint id; errs.NotFound when there is none.
func (s *EndpointStore) Endpoint(ctx context.Context, id string) (*services.StoredEndpoint, error) {
	var e *services.StoredEndpoint
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		e, err = queryOne(ctx, tx, scanEndpoint, selectEndpointSQL, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "transit endpoint %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("select transit endpoint: %w", err)
		}
		return nil
	})
	return e, err
}

const listEndpointsSQL = `SELECT ` + endpointColumns + ` FROM transit_endpoints ORDER BY id`

// ListEndpoints returns every endpoint ordered by ID.
func (s *EndpointStore) ListEndpoints(ctx context.Context) ([]*services.StoredEndpoint, error) {
	var list []*services.StoredEndpoint
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		if list, err = queryAll(ctx, tx, scanEndpoint, listEndpointsSQL); err != nil {
			return fmt.Errorf("list transit endpoints: %w", err)
		}
		return nil
	})
	return list, err
}

const (
	replaceEndpointSQL = `UPDATE transit_endpoints SET service = $1, policies = $2, accessor = $3, wrapped_token = $4,
updated_at = $5 WHERE id = $6 AND accessor = $7`
	endpointExistsSQL = `SELECT 1 FROM transit_endpoints WHERE id = $1`
)

// ReplaceEndpoint replaces the endpoint e.ID while its accessor is
// prevAccessor; errs.FailedPrecondition when it is not, errs.NotFound when
// there is no such endpoint. A concurrent replacement of the same row
// waits for the row lock and then re-checks the accessor on the row as
// committed, so exactly one of two writers from the same accessor wins.
func (s *EndpointStore) ReplaceEndpoint(ctx context.Context, e *services.StoredEndpoint, prevAccessor string) error {
	policies, err := encodeEndpoint(e)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, replaceEndpointSQL, e.Service, policies, e.Accessor, e.WrappedToken,
			storedTime(e.UpdatedAt), e.ID, prevAccessor)
		if err != nil {
			return fmt.Errorf("update transit endpoint: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var one int
		err = tx.QueryRow(ctx, endpointExistsSQL, e.ID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "transit endpoint %s not found", e.ID)
		}
		if err != nil {
			return fmt.Errorf("read transit endpoint: %w", err)
		}
		return services.ErrEndpointChanged(e.ID)
	})
}

const deleteEndpointSQL = `DELETE FROM transit_endpoints WHERE id = $1`

// DeleteEndpoint removes the endpoint id; errs.NotFound when there is none.
func (s *EndpointStore) DeleteEndpoint(ctx context.Context, id string) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		return execOne(ctx, tx, "transit endpoint "+id, deleteEndpointSQL, id)
	})
}

// encodeEndpoint validates e and returns its policies as stored.
func encodeEndpoint(e *services.StoredEndpoint) (string, error) {
	if err := e.Validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(e.Policies)
	if err != nil {
		return "", fmt.Errorf("encode transit endpoint policies: %w", err)
	}
	return string(b), nil
}

func scanEndpoint(row pgx.CollectableRow) (*services.StoredEndpoint, error) {
	var e services.StoredEndpoint
	var policies string
	if err := row.Scan(&e.ID, &e.Service, &policies, &e.Accessor, &e.WrappedToken, &e.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(policies), &e.Policies); err != nil {
		return nil, fmt.Errorf("decode transit endpoint policies: %w", err)
	}
	e.UpdatedAt = e.UpdatedAt.UTC()
	return &e, nil
}
