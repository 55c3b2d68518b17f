package iam

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
)

// Wrapper wraps key material at rest (the seal). AAD binds a wrapped value to
// its purpose and place.
type Wrapper interface {
	Wrap(plaintext, aad []byte) ([]byte, error)
	Unwrap(wrapped, aad []byte) ([]byte, error)
}

// Config holds the token settings. Its env names are part of Coffer's
// documented configuration.
type Config struct {
	Issuer   string        `env:"COFFER_JWT_ISSUER" envDefault:"coffer"`
	Audience string        `env:"COFFER_JWT_AUDIENCE" envDefault:"coffer"`
	MaxTTL   time.Duration `env:"COFFER_JWT_MAX_TTL" envDefault:"720h"`
}

// Validate checks the config's invariants.
func (c Config) Validate() error {
	if c.Issuer == "" || c.Audience == "" {
		return errs.E(errs.InvalidArgument, "COFFER_JWT_ISSUER and COFFER_JWT_AUDIENCE must not be empty")
	}
	if c.MaxTTL <= 0 {
		return errs.E(errs.InvalidArgument, "COFFER_JWT_MAX_TTL must be positive")
	}
	return nil
}

// Claims are the claims of a Coffer access token. As in STACKIT access
// tokens, "sub" is the service account's UUID and "email" its email.
type Claims struct {
	Email string `json:"email"`
	jwt.RegisteredClaims
}

// Principal is an authenticated caller.
type Principal struct {
	ServiceAccountID string
	Email            string
}

const signingAlg = "EdDSA"

// Tokens issues and verifies EdDSA access tokens. It is safe for concurrent use.
type Tokens struct {
	cfg   Config
	kid   string
	priv  ed25519.PrivateKey
	pubs  map[string]ed25519.PublicKey // by kid
	store Store
	now   func() time.Time
}

func signingKeyAAD(kid string) []byte { return []byte("coffer/iam/jwt-signing-key/" + kid) }

// TokenOption adjusts a Tokens.
type TokenOption func(*Tokens)

// WithClock makes the Tokens read the time from now (tests use it to issue
// tokens that are already expired).
func WithClock(now func() time.Time) TokenOption { return func(t *Tokens) { t.now = now } }

// OpenTokens loads the signing key from st, creating it on first use (first
// writer wins, so concurrent first starts agree), and unwraps it with w.
func OpenTokens(ctx context.Context, cfg Config, st Store, w Wrapper, opts ...TokenOption) (*Tokens, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cand, err := newSigningKey(w)
	if err != nil {
		return nil, err
	}
	cur, err := st.EnsureSigningKey(ctx, cand)
	if err != nil {
		return nil, fmt.Errorf("ensure signing key: %w", err)
	}
	seed, err := w.Unwrap(cur.WrappedKey, signingKeyAAD(cur.KID))
	if err != nil {
		return nil, fmt.Errorf("unwrap signing key %s: %w", cur.KID, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errs.E(errs.FailedPrecondition, "signing key %s has a bad size", cur.KID)
	}
	t := &Tokens{cfg: cfg, kid: cur.KID, priv: ed25519.NewKeyFromSeed(seed), store: st, now: time.Now,
		pubs: map[string]ed25519.PublicKey{}}
	clear(seed)
	for _, o := range opts {
		o(t)
	}
	all, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	for _, k := range all {
		t.pubs[k.KID] = ed25519.PublicKey(k.Public)
	}
	return t, nil
}

func newSigningKey(w Wrapper) (*SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	sum := sha256.Sum256(pub)
	kid := base64.RawURLEncoding.EncodeToString(sum[:12])
	wrapped, err := w.Wrap(priv.Seed(), signingKeyAAD(kid))
	if err != nil {
		return nil, fmt.Errorf("wrap signing key: %w", err)
	}
	return &SigningKey{KID: kid, Algorithm: signingAlg, Public: pub, WrappedKey: wrapped,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}, nil
}

// Issue returns a signed access token for the service account with email,
// valid for ttl (at most the configured maximum). The account must exist.
func (t *Tokens) Issue(ctx context.Context, email string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > t.cfg.MaxTTL {
		return "", errs.E(errs.InvalidArgument, "ttl must be between 1s and %s", t.cfg.MaxTTL)
	}
	sa, err := t.store.ServiceAccount(ctx, email)
	if err != nil {
		return "", fmt.Errorf("look up service account: %w", err)
	}
	now := t.now()
	claims := Claims{Email: sa.Email, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: t.cfg.Issuer, Subject: sa.ID, Audience: jwt.ClaimStrings{t.cfg.Audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), ID: uuid.NewString(),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = t.kid
	return tok.SignedString(t.priv)
}

// Verify checks a token's signature, algorithm, issuer, audience and expiry,
// and that its service account still exists with the same ID. Every failure
// is errs.Unauthenticated with a message that names no secret.
func (t *Tokens) Verify(ctx context.Context, raw string) (*Principal, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(raw, &c, t.keyFunc,
		jwt.WithValidMethods([]string{signingAlg}), jwt.WithIssuer(t.cfg.Issuer),
		jwt.WithAudience(t.cfg.Audience), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second), jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding()) // refuse non-canonical base64: one token, one encoding
	if err != nil {
		return nil, errs.Wrap(errs.Unauthenticated, err, "invalid token")
	}
	sa, err := t.store.ServiceAccount(ctx, c.Email)
	if errs.Is(err, errs.NotFound) || (err == nil && sa.ID != c.Subject) {
		return nil, errs.E(errs.Unauthenticated, "invalid token: unknown service account")
	}
	if err != nil {
		return nil, fmt.Errorf("look up token subject: %w", err)
	}
	return &Principal{ServiceAccountID: sa.ID, Email: sa.Email}, nil
}

func (t *Tokens) keyFunc(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	pub, ok := t.pubs[kid]
	if !ok {
		return nil, fmt.Errorf("unknown key id")
	}
	return pub, nil
}

// JWK is one entry of a JSON Web Key Set (RFC 7517, RFC 8037 for OKP).
type JWK struct {
	KTY string `json:"kty"`
	CRV string `json:"crv"`
	X   string `json:"x"`
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the public signing keys as a JSON Web Key Set.
func (t *Tokens) JWKS() map[string][]JWK {
	keys := make([]JWK, 0, len(t.pubs))
	for kid, pub := range t.pubs {
		keys = append(keys, JWK{KTY: "OKP", CRV: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
			KID: kid, Alg: signingAlg, Use: "sig"})
	}
	return map[string][]JWK{"keys": keys}
}
