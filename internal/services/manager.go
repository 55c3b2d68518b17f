package services

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

// Keys reads and creates transit keys; *transit.Service is one.
type Keys interface {
	Key(ctx context.Context, mount, name string) (*transit.Key, error)
	Create(ctx context.Context, mount, name, typ string, o transit.Options) (*transit.Key, error)
}

// Mounts reads and enables mounts; *mount.Service is one.
type Mounts interface {
	Mount(ctx context.Context, kind, path string) (*mount.Mount, error)
	Enable(ctx context.Context, kind, path, typ, description string, options map[string]string,
		defaultLeaseTTL, maxLeaseTTL time.Duration) (*mount.Mount, error)
}

// Tokens issues and checks Vault tokens; *token.Service is one.
type Tokens interface {
	Create(ctx context.Context, spec token.Spec) (string, *token.Token, error)
	Lookup(ctx context.Context, secret string, client netip.Addr) (*token.Token, error)
}

// Revoker revokes a token by accessor; token.Store is one. It lets the
// Manager revoke an endpoint's old token without its secret.
type Revoker interface {
	RevokeToken(ctx context.Context, accessor string) error
}

// Wrapper wraps values under the root key; *seal.Seal is one. Unwrap of a
// value wrapped with another aad must fail.
type Wrapper interface {
	Wrap(plaintext, aad []byte) ([]byte, error)
	Unwrap(wrapped, aad []byte) ([]byte, error)
}

// Deps are what a Manager works with.
type Deps struct {
	Store   Store
	Keys    Keys
	Mounts  Mounts
	Tokens  Tokens
	Revoker Revoker
	Seal    Wrapper
	Log     *slog.Logger     // nil: discard
	Now     func() time.Time // nil: time.Now
}

// Manager applies a services file and keeps its endpoints' tokens. It is
// safe for concurrent use, and several processes may share one database:
// a token written by one is seen by the others, and of two that issue a
// token for the same endpoint at once, one wins and the other revokes its
// own.
type Manager struct{ d Deps }

// NewManager returns a Manager over d.
func NewManager(d Deps) *Manager {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Manager{d: d}
}

// writeAttempts bounds the read-issue-write loop on an endpoint that other
// processes change at the same time.
const writeAttempts = 5

// EnsureMount makes sure the transit mount "transit" exists, creating it
// when missing. A mount of another type at that path is
// errs.FailedPrecondition (it is left alone).
func (m *Manager) EnsureMount(ctx context.Context) error {
	for range writeAttempts {
		mt, err := m.d.Mounts.Mount(ctx, mount.KindSecret, Mount)
		switch {
		case err == nil && mt.Type == mount.TypeTransit:
			return nil
		case err == nil:
			return errs.E(errs.FailedPrecondition, "the mount %s/ is of type %s; the services file needs a transit mount there",
				Mount, mt.Type)
		case !errs.Is(err, errs.NotFound):
			return fmt.Errorf("read the transit mount: %w", err)
		}
		_, err = m.d.Mounts.Enable(ctx, mount.KindSecret, Mount, mount.TypeTransit,
			"transit keys of the Vault KMS endpoints (COFFER_TRANSIT_CONFIG)", nil, 0, 0)
		if err == nil {
			m.d.Log.Info("transit mount created", "mount", Mount)
			return nil
		}
		if !errs.Is(err, errs.AlreadyExists) { // else another process made it: read it again
			return fmt.Errorf("create the transit mount: %w", err)
		}
	}
	return errs.E(errs.FailedPrecondition, "the mount %s/ changed concurrently; try again", Mount)
}

// Check checks f against what exists: a key the file names that already
// exists must have the Vault type its endpoint type maps to (a key's type
// cannot change after creation). Every mismatch is reported, naming the
// endpoint, policy and key of the first line that uses the key; the error
// is errs.InvalidArgument. Check changes nothing.
func (m *Manager) Check(ctx context.Context, f *File) error {
	var problems []string
	for _, k := range f.Keys() {
		key, err := m.d.Keys.Key(ctx, Mount, k.Name)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read transit key %s: %w", k.Name, err)
		}
		if want := KeyTypes[k.Type]; key.Type != want {
			problems = append(problems, k.Grant.where(k.Endpoint)+fmt.Sprintf(
				": key %s/%s exists with type %s, but type %s needs %s (a key's type cannot change after creation)",
				Mount, k.Name, key.Type, k.Type, want))
		}
	}
	if len(problems) > 0 {
		return errs.E(errs.InvalidArgument, "services file: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Apply makes the database match f, and can run on every start: it
// checks f (Check) before it changes anything, so a file with a problem
// applies nothing; then it makes sure the transit mount exists, creates
// the keys that are missing (sign → ecdsa-p256, encrypt →
// chacha20-poly1305), and gives every endpoint a working token with its
// policies: kept when it still works and its policies and service are
// unchanged, else a new one (the old one revoked). Endpoints that are no
// longer in f lose their token and are forgotten; their keys stay.
//
// Apply logs which endpoints got a new token and why (never the token),
// and warns about tokens that expire within ExpiryWarning.
func (m *Manager) Apply(ctx context.Context, f *File) error {
	if err := m.Check(ctx, f); err != nil {
		return err
	}
	if err := m.EnsureMount(ctx); err != nil {
		return err
	}
	for _, k := range f.Keys() {
		if err := m.ensureKey(ctx, k); err != nil {
			return err
		}
	}
	for _, e := range f.Endpoints {
		if err := m.syncEndpoint(ctx, f.Service, e); err != nil {
			return err
		}
	}
	stored, err := m.d.Store.ListEndpoints(ctx)
	if err != nil {
		return fmt.Errorf("list transit endpoints: %w", err)
	}
	for _, se := range stored {
		if _, keep := f.Endpoint(se.ID); !keep {
			if err := m.remove(ctx, se); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureKey creates key k when it is missing. One made meanwhile by
// another process must have the right type too.
func (m *Manager) ensureKey(ctx context.Context, k Key) error {
	want := KeyTypes[k.Type]
	key, err := m.d.Keys.Create(ctx, Mount, k.Name, want, transit.Options{})
	if err == nil {
		m.d.Log.Info("transit key created", "mount", Mount, "key", k.Name, "type", want)
		return nil
	}
	if !errs.Is(err, errs.AlreadyExists) {
		return fmt.Errorf("create transit key %s: %w", k.Name, err)
	}
	if key, err = m.d.Keys.Key(ctx, Mount, k.Name); err != nil {
		return fmt.Errorf("read transit key %s: %w", k.Name, err)
	}
	if key.Type != want {
		return errs.E(errs.InvalidArgument, "services file: %s: key %s/%s exists with type %s, but type %s needs %s",
			k.Grant.where(k.Endpoint), Mount, k.Name, key.Type, k.Type, want)
	}
	return nil
}

// syncEndpoint gives endpoint e of service a working token with its
// policies, keeping the current one when it qualifies.
func (m *Manager) syncEndpoint(ctx context.Context, service string, e Endpoint) error {
	want := e.TokenPolicies()
	for range writeAttempts {
		cur, err := m.d.Store.Endpoint(ctx, e.ID)
		if errs.Is(err, errs.NotFound) {
			_, err = m.issue(ctx, &StoredEndpoint{ID: e.ID, Service: service, Policies: want}, nil, "new endpoint")
			if errs.Is(err, errs.AlreadyExists) {
				continue // another process stored it first: look at its token
			}
			return err
		}
		if err != nil {
			return fmt.Errorf("read transit endpoint %s: %w", e.ID, err)
		}
		reason, err := m.stale(ctx, cur, service, want)
		if err != nil {
			return err
		}
		if reason == "" {
			return nil
		}
		_, err = m.issue(ctx, &StoredEndpoint{ID: e.ID, Service: service, Policies: want}, cur, reason)
		if k := errs.KindOf(err); k == errs.FailedPrecondition || k == errs.NotFound {
			continue // another process replaced or removed it: start again
		}
		return err
	}
	return errs.E(errs.FailedPrecondition, "transit endpoint %s changed concurrently %d times; try again", e.ID, writeAttempts)
}

// stale returns why the stored endpoint cur needs a new token, or "" when
// its token still works for service with policies want; it warns when
// that token expires within ExpiryWarning.
func (m *Manager) stale(ctx context.Context, cur *StoredEndpoint, service string, want []string) (string, error) {
	switch {
	case cur.Service != service:
		return "service renamed", nil
	case !slices.Equal(cur.Policies, want):
		return "policies changed", nil
	}
	t, err := m.lookup(ctx, cur)
	if err != nil {
		return "", err
	}
	if t == nil {
		return "token expired or revoked", nil
	}
	if left := t.ExpiresAt.Sub(m.d.Now()); !t.ExpiresAt.IsZero() && left < ExpiryWarning {
		m.d.Log.Warn("transit endpoint token expires soon; run coffer relationships rotate-token",
			"endpoint", cur.ID, "accessor", t.Accessor, "expires_at", t.ExpiresAt)
	}
	return "", nil
}

// lookup returns the live token of cur; nil when it expired, was revoked,
// or its secret does not unwrap.
func (m *Manager) lookup(ctx context.Context, cur *StoredEndpoint) (*token.Token, error) {
	secret, err := m.d.Seal.Unwrap(cur.WrappedToken, TokenAAD(cur.ID))
	if err != nil {
		m.d.Log.Warn("transit endpoint token does not unwrap; issuing a new one", "endpoint", cur.ID, "err", err)
		return nil, nil
	}
	defer clear(secret)
	t, err := m.d.Tokens.Lookup(ctx, string(secret), netip.Addr{})
	switch {
	case errs.Is(err, errs.PermissionDenied):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look up the token of transit endpoint %s: %w", cur.ID, err)
	case t.Accessor != cur.Accessor:
		return nil, nil // not the token the row names: never trust it
	}
	return t, nil
}

// tokenSpec is the Spec of an endpoint's token.
func tokenSpec(e *StoredEndpoint) token.Spec {
	return token.Spec{Policies: e.Policies, Meta: map[string]string{"endpoint": e.ID},
		DisplayName: "endpoint-" + e.ID, Path: "auth/token/create", TTL: TokenTTL, MaxTTL: TokenTTL}
}

// issue creates a token for next and stores it: a new row when prev is
// nil, else in place of prev (whose token it then revokes). When the row
// cannot be written (errs.AlreadyExists, or errs.FailedPrecondition when
// another process replaced prev first) the new token is revoked again.
func (m *Manager) issue(ctx context.Context, next, prev *StoredEndpoint, reason string) (*token.Token, error) {
	secret, t, err := m.d.Tokens.Create(ctx, tokenSpec(next))
	if err != nil {
		return nil, fmt.Errorf("create the token of transit endpoint %s: %w", next.ID, err)
	}
	b := []byte(secret)
	next.WrappedToken, err = m.d.Seal.Wrap(b, TokenAAD(next.ID))
	clear(b)
	if err != nil {
		m.revoke(ctx, next.ID, t.Accessor)
		return nil, fmt.Errorf("wrap the token of transit endpoint %s: %w", next.ID, err)
	}
	next.Accessor, next.UpdatedAt = t.Accessor, m.d.Now().UTC().Truncate(time.Microsecond)
	if prev == nil {
		err = m.d.Store.CreateEndpoint(ctx, next)
	} else {
		err = m.d.Store.ReplaceEndpoint(ctx, next, prev.Accessor)
	}
	if err != nil {
		m.revoke(ctx, next.ID, t.Accessor)
		return nil, fmt.Errorf("store transit endpoint %s: %w", next.ID, err)
	}
	if prev != nil {
		m.revoke(ctx, prev.ID, prev.Accessor)
	}
	m.d.Log.Info("transit endpoint token issued", "endpoint", next.ID, "reason", reason,
		"accessor", t.Accessor, "policies", next.Policies, "expires_at", t.ExpiresAt)
	return t, nil
}

// revoke revokes the token with accessor, of endpoint id; a token already
// gone is fine, and a failure is only logged: the token expires anyway.
func (m *Manager) revoke(ctx context.Context, id, accessor string) {
	if err := m.d.Revoker.RevokeToken(ctx, accessor); err != nil && !errs.Is(err, errs.NotFound) {
		m.d.Log.Error("revoke transit endpoint token", "endpoint", id, "accessor", accessor, "err", err)
	}
}

// remove revokes the token of an endpoint no longer in the file and
// forgets the endpoint.
func (m *Manager) remove(ctx context.Context, se *StoredEndpoint) error {
	if err := m.d.Store.DeleteEndpoint(ctx, se.ID); err != nil && !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("delete transit endpoint %s: %w", se.ID, err)
	}
	m.revoke(ctx, se.ID, se.Accessor)
	m.d.Log.Info("transit endpoint removed; its token is revoked", "endpoint", se.ID, "accessor", se.Accessor)
	return nil
}

// Rotate issues a new token for endpoint id with the policies it has, and
// revokes the old one. An unknown endpoint is errs.NotFound naming it.
func (m *Manager) Rotate(ctx context.Context, id string) (*token.Token, error) {
	for range writeAttempts {
		cur, err := m.endpoint(ctx, id)
		if err != nil {
			return nil, err
		}
		next := &StoredEndpoint{ID: cur.ID, Service: cur.Service, Policies: cur.Policies}
		t, err := m.issue(ctx, next, cur, "rotate-token")
		if k := errs.KindOf(err); k == errs.FailedPrecondition {
			continue
		}
		return t, err
	}
	return nil, errs.E(errs.FailedPrecondition, "transit endpoint %s changed concurrently %d times; try again", id, writeAttempts)
}

// endpoint returns the stored endpoint id; errs.NotFound naming it and the
// known endpoints when there is none.
func (m *Manager) endpoint(ctx context.Context, id string) (*StoredEndpoint, error) {
	e, err := m.d.Store.Endpoint(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, m.unknown(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read transit endpoint %s: %w", id, err)
	}
	return e, nil
}

// unknown is the error for an endpoint id that does not exist.
func (m *Manager) unknown(ctx context.Context, id string) error {
	all, err := m.d.Store.ListEndpoints(ctx)
	if err != nil {
		return fmt.Errorf("list transit endpoints: %w", err)
	}
	ids := make([]string, len(all))
	for i, e := range all {
		ids[i] = e.ID
	}
	if len(ids) == 0 {
		return errs.E(errs.NotFound, "no transit endpoint %q: there are none (COFFER_TRANSIT_CONFIG)", id)
	}
	return errs.E(errs.NotFound, "no transit endpoint %q (endpoints: %s)", id, strings.Join(ids, ", "))
}

// Credential is an endpoint's current token, unwrapped. Token is secret:
// String and LogValue leave it out.
type Credential struct {
	Endpoint, Service string
	Token             string
	Accessor          string
	Policies          []string
	// Live is false when the token has expired or was revoked (serve
	// issues a new one on its next start; rotate-token at once).
	Live      bool
	ExpiresAt time.Time
}

// String describes c without its token.
func (c Credential) String() string {
	return fmt.Sprintf("credential of endpoint %s (token %s, live %t)", c.Endpoint, c.Accessor, c.Live)
}

// GoString is String, so that %#v does not show the token either.
func (c Credential) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", c.Endpoint), slog.String("accessor", c.Accessor),
		slog.Bool("live", c.Live))
}

// Credentials returns the credential of endpoint id, or of every endpoint
// (ordered by id) when id is empty. An unknown id is errs.NotFound naming
// it. A token that does not unwrap is errs.FailedPrecondition.
func (m *Manager) Credentials(ctx context.Context, id string) ([]Credential, error) {
	var list []*StoredEndpoint
	if id != "" {
		e, err := m.endpoint(ctx, id)
		if err != nil {
			return nil, err
		}
		list = []*StoredEndpoint{e}
	} else {
		var err error
		if list, err = m.d.Store.ListEndpoints(ctx); err != nil {
			return nil, fmt.Errorf("list transit endpoints: %w", err)
		}
	}
	out := make([]Credential, 0, len(list))
	for _, e := range list {
		secret, err := m.d.Seal.Unwrap(e.WrappedToken, TokenAAD(e.ID))
		if err != nil {
			return nil, fmt.Errorf("unwrap the token of transit endpoint %s: %w", e.ID, err)
		}
		c := Credential{Endpoint: e.ID, Service: e.Service, Token: string(secret), Accessor: e.Accessor,
			Policies: slices.Clone(e.Policies)}
		clear(secret)
		t, err := m.d.Tokens.Lookup(ctx, c.Token, netip.Addr{})
		switch {
		case err == nil && t.Accessor == e.Accessor:
			c.Live, c.ExpiresAt = true, t.ExpiresAt
		case err != nil && !errs.Is(err, errs.PermissionDenied):
			return nil, fmt.Errorf("look up the token of transit endpoint %s: %w", e.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}
