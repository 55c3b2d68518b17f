// Package services implements the Vault KMS service model of the seed: a
// services file that declares endpoints (each a list of policy, key and
// type), the transit keys and per-endpoint tokens Coffer keeps for them in
// the transit mount "transit", the built-in policies those tokens carry,
// and the relationship JSON an application reads its token and address
// from.
//
// An endpoint's token must be printable again later (`coffer
// relationships`), but tokens are stored only hashed; so the Manager keeps
// each endpoint's token secret wrapped by the root key seal, bound by AAD
// to the endpoint, in a Store of its own.
package services

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// Mount is the path of the transit mount the services file's keys live in.
const Mount = "transit"

// TokenTTL is the lifetime of an endpoint token: "a given token is valid
// for one year from its creation" (the seed). Endpoint tokens are not
// renewable; a new one is issued on the first start after expiry or by
// `coffer relationships rotate-token`.
const TokenTTL = 365 * 24 * time.Hour

// ExpiryWarning is how long before its expiry an endpoint token is logged
// as expiring soon, on every start.
const ExpiryWarning = 30 * 24 * time.Hour

// DefaultService is the relationship's "service" when the services file
// is given in the bare `endpoints:` shape, without a service name: the
// name the seed's sample relationship shows.
const DefaultService = "vault-kms"

// RelationshipType is the relationship's "type": the seed's service type
// with the version of its examples. The version a services file declares
// (vault-kms:<version>) is accepted whatever it is and not echoed: Coffer
// serves one API.
const RelationshipType = "vault-kms:1.12"

// StoredEndpoint is the row kept for one endpoint of the services file:
// the token issued for it, by accessor, and the token's secret wrapped by
// the seal with AAD naming the endpoint (see TokenAAD). Policies are the
// token's policies, sorted, so that a change of the file's policies is
// seen without unwrapping anything.
type StoredEndpoint struct {
	ID           string // the endpoint id, also the relationship's name
	Service      string // the relationship's "service"
	Policies     []string
	Accessor     string // the current token's accessor
	WrappedToken []byte
	UpdatedAt    time.Time
}

// String describes e by its public parts; it never shows WrappedToken.
func (e StoredEndpoint) String() string {
	return fmt.Sprintf("endpoint %s (service %s, token %s, policies %v)", e.ID, e.Service, e.Accessor, e.Policies)
}

// LogValue implements slog.LogValuer with the public parts of e.
func (e StoredEndpoint) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", e.ID), slog.String("service", e.Service),
		slog.String("accessor", e.Accessor), slog.Any("policies", e.Policies))
}

// Validate checks what every store requires of e: an id, a service, an
// accessor, at least one policy and a wrapped token. A failure is
// errs.InvalidArgument.
func (e *StoredEndpoint) Validate() error {
	switch {
	case e.ID == "" || e.Service == "" || e.Accessor == "":
		return errs.E(errs.InvalidArgument, "a transit endpoint needs an id, a service and a token accessor")
	case len(e.Policies) == 0 || slices.Contains(e.Policies, ""):
		return errs.E(errs.InvalidArgument, "transit endpoint %s needs non-empty policies", e.ID)
	case len(e.WrappedToken) == 0:
		return errs.E(errs.InvalidArgument, "transit endpoint %s has no wrapped token", e.ID)
	}
	return nil
}

// Store persists the endpoints of the services file. Each method is atomic
// and implementations are safe for concurrent use. They copy slices in and
// out: the caller owns what it passes and what it gets back. Times are
// returned in UTC, truncated to the microsecond. An invalid StoredEndpoint
// (see Validate) is errs.InvalidArgument.
type Store interface {
	// CreateEndpoint stores a new endpoint; errs.AlreadyExists when its ID
	// is taken.
	CreateEndpoint(ctx context.Context, e *StoredEndpoint) error
	// Endpoint returns the endpoint id; errs.NotFound when there is none.
	Endpoint(ctx context.Context, id string) (*StoredEndpoint, error)
	// ListEndpoints returns every endpoint ordered by ID (bytewise); an
	// empty, non-nil slice when there are none.
	ListEndpoints(ctx context.Context) ([]*StoredEndpoint, error)
	// ReplaceEndpoint replaces everything of the endpoint e.ID, but only
	// while its stored Accessor is prevAccessor: otherwise it changes
	// nothing and is errs.FailedPrecondition, so that of two processes that
	// issue a token for the same endpoint at once, exactly one wins. An
	// unknown endpoint is errs.NotFound.
	ReplaceEndpoint(ctx context.Context, e *StoredEndpoint, prevAccessor string) error
	// DeleteEndpoint removes the endpoint id; errs.NotFound when there is
	// none.
	DeleteEndpoint(ctx context.Context, id string) error
}

// ErrEndpointChanged returns the error a Store's ReplaceEndpoint gives when
// the stored accessor is not the expected one.
func ErrEndpointChanged(id string) error {
	return errs.E(errs.FailedPrecondition, "transit endpoint %s changed concurrently", id)
}

// TokenAAD is the AAD an endpoint's token secret is wrapped with. Its
// prefix differs from the transit keys' ("coffer/transit/<mount>/<name>"),
// so no sealed value of one kind can ever be unwrapped as the other.
func TokenAAD(id string) []byte {
	return []byte("coffer/transit-endpoint/" + id + "/token")
}
