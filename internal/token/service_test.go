package token_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
	"github.com/cofferhq/coffer/internal/token"
)

var (
	start    = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	hashKey  = bytes.Repeat([]byte{0x42}, token.HashKeySize)
	otherKey = bytes.Repeat([]byte{0x43}, token.HashKeySize)
	cfg      = token.Config{DefaultTTL: 15 * time.Minute, MaxTTL: 24 * time.Hour}
	client   = netip.MustParseAddr("10.1.2.3")

	secretRE   = regexp.MustCompile(`^hvs\.[A-Za-z0-9_-]{43}$`)
	accessorRE = regexp.MustCompile(`^[a-z2-7]{24}$`)
)

// clock is a settable time source, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type fixture struct {
	svc   *token.Service
	store token.Store
	clock *clock
}

// newFixture returns a Service on a fresh embedded store, with its clock at
// start and a cache (as serve runs it), so that every test here also
// checks that the cache changes nothing the Service promises.
func newFixture(t testing.TB, c token.Config) *fixture {
	t.Helper()
	st := sqlitetest.Open(t).Tokens()
	clk := &clock{now: start}
	return &fixture{svc: token.NewService(c, st, hashKey, token.WithClock(clk.Now),
		token.WithCache(cache.NewLocalBus(), 100)), store: st, clock: clk}
}

func (f *fixture) create(t *testing.T, spec token.Spec) (string, *token.Token) {
	t.Helper()
	secret, tok, err := f.svc.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	return secret, tok
}

func userpass() token.Spec {
	return token.Spec{
		Policies:    []string{"instance-rw", "default", "instance-rw"},
		Meta:        map[string]string{"username": "sm-abc", "instance": "i-1"},
		DisplayName: "userpass-sm-abc",
		Path:        "auth/userpass/login/sm-abc",
		Renewable:   true,
	}
}

// wantDenied fails t unless err is Vault's one answer to a token that does
// not work.
func wantDenied(t *testing.T, op string, err error) {
	t.Helper()
	if errs.KindOf(err) != errs.PermissionDenied || err.Error() != "permission denied" {
		t.Errorf("%s error = %v (kind %v), want kind %v with message \"permission denied\"",
			op, err, errs.KindOf(err), errs.PermissionDenied)
	}
}

func TestCreateLookup(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	secret, tok := f.create(t, userpass())
	if !secretRE.MatchString(secret) {
		t.Errorf("secret has the form %q, want hvs. and 43 base64url characters", secretRE)
	}
	if !accessorRE.MatchString(tok.Accessor) {
		t.Errorf("accessor %q does not match %s", tok.Accessor, accessorRE)
	}
	want := &token.Token{
		Hash: tok.Hash, Accessor: tok.Accessor,
		Policies:     []string{"default", "instance-rw"},
		Meta:         map[string]string{"username": "sm-abc", "instance": "i-1"},
		DisplayName:  "userpass-sm-abc",
		Path:         "auth/userpass/login/sm-abc",
		CreatedAt:    start,
		ExpiresAt:    start.Add(15 * time.Minute),
		MaxExpiresAt: start.Add(24 * time.Hour),
		TTL:          15 * time.Minute,
		Renewable:    true,
	}
	if diff := cmp.Diff(want, tok); diff != "" {
		t.Errorf("Create() mismatch (-want +got):\n%s", diff)
	}
	got, err := f.svc.Lookup(t.Context(), secret, client)
	if err != nil {
		t.Fatalf("Lookup() error = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lookup() mismatch (-want +got):\n%s", diff)
	}
	// The hash is a 32-byte HMAC, never the secret or a piece of it.
	if len(tok.Hash) != 32 || bytes.Contains([]byte(secret), tok.Hash) {
		t.Errorf("stored hash is %d bytes, want 32", len(tok.Hash))
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, "hvs."))
	if bytes.Contains(tok.Hash, raw[:8]) || bytes.Contains(tok.Hash, []byte(secret[4:12])) {
		t.Error("stored hash contains part of the secret")
	}
}

func TestCreateUnique(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	secrets, accessors := map[string]bool{}, map[string]bool{}
	for range 50 {
		secret, tok := f.create(t, userpass())
		if secrets[secret] || accessors[tok.Accessor] {
			t.Fatal("Create() repeated a secret or an accessor")
		}
		secrets[secret], accessors[tok.Accessor] = true, true
	}
}

func TestCreateSpecs(t *testing.T) {
	t.Parallel()
	year := 365 * 24 * time.Hour
	cases := []struct {
		name                 string
		cfg                  token.Config
		spec                 token.Spec
		wantTTL              time.Duration
		wantExpires, wantMax time.Time
		wantCIDRs            []string
		wantKind             errs.Kind
	}{
		{name: "defaults", cfg: cfg, spec: token.Spec{Policies: []string{"p"}},
			wantTTL: 15 * time.Minute, wantExpires: start.Add(15 * time.Minute), wantMax: start.Add(24 * time.Hour)},
		{name: "TTL capped at the config's max", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, TTL: 48 * time.Hour},
			wantTTL: 24 * time.Hour, wantExpires: start.Add(24 * time.Hour), wantMax: start.Add(24 * time.Hour)},
		{name: "TTL capped at the spec's max", cfg: cfg,
			spec:    token.Spec{Policies: []string{"p"}, TTL: time.Hour, MaxTTL: 30 * time.Minute},
			wantTTL: 30 * time.Minute, wantExpires: start.Add(30 * time.Minute), wantMax: start.Add(30 * time.Minute)},
		{name: "explicit max beyond the config's (transit endpoints)", cfg: cfg,
			spec:    token.Spec{Policies: []string{"transit-sign"}, TTL: year, MaxTTL: year},
			wantTTL: year, wantExpires: start.Add(year), wantMax: start.Add(year)},
		{name: "no max anywhere", cfg: token.Config{DefaultTTL: time.Minute}, spec: token.Spec{Policies: []string{"p"}},
			wantTTL: time.Minute, wantExpires: start.Add(time.Minute)},
		{name: "root", cfg: cfg, spec: token.RootSpec()},
		{name: "bound CIDRs are canonical", cfg: cfg,
			spec: token.Spec{Policies: []string{"p"},
				BoundCIDRs: []string{"10.1.2.3/8", "192.0.2.7", "::ffff:10.0.0.0/104", "2001:DB8::1/32", "::ffff:192.0.2.9"}},
			wantTTL: 15 * time.Minute, wantExpires: start.Add(15 * time.Minute), wantMax: start.Add(24 * time.Hour),
			wantCIDRs: []string{"10.0.0.0/8", "192.0.2.7/32", "10.0.0.0/8", "2001:db8::/32", "192.0.2.9/32"}},
		{name: "no policies", cfg: cfg, spec: token.Spec{}, wantKind: errs.InvalidArgument},
		{name: "empty policy name", cfg: cfg, spec: token.Spec{Policies: []string{"p", ""}}, wantKind: errs.InvalidArgument},
		{name: "negative TTL", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, TTL: -time.Second}, wantKind: errs.InvalidArgument},
		{name: "negative max TTL", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, MaxTTL: -time.Second}, wantKind: errs.InvalidArgument},
		{name: "no expiry with a TTL", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, NoExpiry: true, TTL: time.Hour},
			wantKind: errs.InvalidArgument},
		{name: "no expiry with a max TTL", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, NoExpiry: true, MaxTTL: time.Hour},
			wantKind: errs.InvalidArgument},
		{name: "no expiry and renewable", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, NoExpiry: true, Renewable: true},
			wantKind: errs.InvalidArgument},
		{name: "bad CIDR", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, BoundCIDRs: []string{"10.0.0.0/33"}},
			wantKind: errs.InvalidArgument},
		{name: "zoned address", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, BoundCIDRs: []string{"fe80::1%eth0"}},
			wantKind: errs.InvalidArgument},
		{name: "empty meta key", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, Meta: map[string]string{"": "x"}},
			wantKind: errs.InvalidArgument},
		{name: "control character in a policy name", cfg: cfg, spec: token.Spec{Policies: []string{"p\n"}},
			wantKind: errs.InvalidArgument},
		{name: "invalid UTF-8 in a policy name", cfg: cfg, spec: token.Spec{Policies: []string{"p\xff"}},
			wantKind: errs.InvalidArgument},
		{name: "NUL in a meta value", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, Meta: map[string]string{"k": "a\x00"}},
			wantKind: errs.InvalidArgument},
		{name: "invalid UTF-8 in a meta key", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, Meta: map[string]string{"\xff": "v"}},
			wantKind: errs.InvalidArgument},
		{name: "NUL in the display name", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, DisplayName: "a\x00"},
			wantKind: errs.InvalidArgument},
		{name: "invalid UTF-8 in the path", cfg: cfg, spec: token.Spec{Policies: []string{"p"}, Path: "auth/\xff"},
			wantKind: errs.InvalidArgument},
		{name: "zero default TTL", cfg: token.Config{}, spec: token.Spec{Policies: []string{"p"}}, wantKind: errs.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.cfg)
			secret, tok, err := f.svc.Create(t.Context(), tc.spec)
			if tc.wantKind != errs.Internal {
				if errs.KindOf(err) != tc.wantKind || secret != "" || tok != nil {
					t.Fatalf("Create() = %q, %v, %v; want kind %v", secret, tok, err, tc.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Create() error = %v", err)
			}
			got := [3]any{tok.TTL, tok.ExpiresAt, tok.MaxExpiresAt}
			if want := [3]any{tc.wantTTL, tc.wantExpires, tc.wantMax}; got != want {
				t.Errorf("Create() TTL, expiry, max expiry = %v, want %v", got, want)
			}
			if diff := cmp.Diff(tc.wantCIDRs, tok.BoundCIDRs); diff != "" {
				t.Errorf("Create() bound CIDRs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateDoesNotRetainSpec(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	spec := userpass()
	secret, _ := f.create(t, spec)
	spec.Policies[0], spec.Meta["username"] = "root", "admin"
	got, err := f.svc.Lookup(t.Context(), secret, client)
	if err != nil {
		t.Fatalf("Lookup() error = %v", err)
	}
	if got.Meta["username"] != "sm-abc" || !cmp.Equal(got.Policies, []string{"default", "instance-rw"}) {
		t.Errorf("Lookup() = %v, %v after the spec was modified", got.Policies, got.Meta)
	}
}

func TestRootToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	secret, tok := f.create(t, token.RootSpec())
	if !tok.ExpiresAt.IsZero() || !tok.MaxExpiresAt.IsZero() || tok.TTL != 0 || tok.Renewable {
		t.Errorf("root token = %+v, want no expiry, no TTL, not renewable", tok)
	}
	f.clock.Set(start.Add(100 * 365 * 24 * time.Hour))
	got, err := f.svc.Lookup(t.Context(), secret, netip.Addr{})
	if err != nil || !cmp.Equal(got.Policies, []string{token.RootPolicy}) {
		t.Fatalf("Lookup(root) a century later = %v, %v", got, err)
	}
	if n, err := f.svc.Sweep(t.Context()); err != nil || n != 0 {
		t.Errorf("Sweep() = %d, %v; want 0, nil", n, err)
	}
	_, err = f.svc.Renew(t.Context(), secret, 0)
	if errs.KindOf(err) != errs.InvalidArgument || err.Error() != "lease is not renewable" {
		t.Errorf("Renew(root) error = %v, want \"lease is not renewable\"", err)
	}
}

func TestLookupExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	secret, tok := f.create(t, userpass())
	ctx := t.Context()
	f.clock.Set(tok.ExpiresAt.Add(-time.Microsecond))
	if _, err := f.svc.Lookup(ctx, secret, client); err != nil {
		t.Fatalf("Lookup() just before expiry: error = %v", err)
	}
	f.clock.Set(tok.ExpiresAt)
	_, err := f.svc.Lookup(ctx, secret, client)
	wantDenied(t, "Lookup() at expiry", err)
	_, err = f.svc.Renew(ctx, secret, 0)
	wantDenied(t, "Renew() at expiry", err)
	wantDenied(t, "Revoke() at expiry", f.svc.Revoke(ctx, secret))

	// Expired is not yet swept at the instant of expiry, but just after.
	if n, err := f.svc.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("Sweep() at expiry = %d, %v; want 0, nil", n, err)
	}
	f.clock.Set(tok.ExpiresAt.Add(time.Microsecond))
	if n, err := f.svc.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("Sweep() after expiry = %d, %v; want 1, nil", n, err)
	}
	if _, err := f.store.TokenByAccessor(ctx, tok.Accessor); errs.KindOf(err) != errs.NotFound {
		t.Errorf("TokenByAccessor() after Sweep: error = %v, want kind %v", err, errs.NotFound)
	}
}

func TestLookupMalformed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	secret, _ := f.create(t, userpass())
	body := secret[4:]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// The last character carries two padding bits; a non-canonical variant
	// decodes to the same bytes but is not the secret.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", secret[len(secret)-1])
	nonCanonical := secret[:len(secret)-1] +
		string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	for name, s := range map[string]string{
		"empty":            "",
		"prefix only":      "hvs.",
		"no prefix":        body,
		"old prefix":       "s." + body,
		"upper-case":       "HVS." + body,
		"bearer":           "Bearer " + secret,
		"one char changed": flip(secret, 10),
		"last char":        flip(secret, len(secret)-1),
		"truncated":        secret[:len(secret)-1],
		"extended":         secret + "A",
		"padded":           secret + "=",
		"newline":          secret + "\n",
		"space":            " " + secret,
		"std base64":       "hvs." + strings.NewReplacer("-", "+", "_", "/").Replace(body) + "+/",
		"non-canonical":    nonCanonical,
		"NUL":              secret[:10] + "\x00" + secret[11:],
		"hex of it":        hex.EncodeToString([]byte(secret)),
		"accessor-shaped":  strings.Repeat("a", 24),
		"invalid UTF-8":    "hvs.\xff\xfe" + body[2:],
	} {
		if s == secret {
			continue // a flip that changed nothing cannot happen, but be sure
		}
		_, err := f.svc.Lookup(t.Context(), s, client)
		wantDenied(t, fmt.Sprintf("Lookup(%s)", name), err)
		_, err = f.svc.Renew(t.Context(), s, 0)
		wantDenied(t, fmt.Sprintf("Renew(%s)", name), err)
		wantDenied(t, fmt.Sprintf("Revoke(%s)", name), f.svc.Revoke(t.Context(), s))
	}
	if _, err := f.svc.Lookup(t.Context(), secret, client); err != nil {
		t.Errorf("Lookup() of the real secret after the attempts: error = %v", err)
	}
}

func TestBoundCIDRs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	spec := userpass()
	spec.BoundCIDRs = []string{"10.0.0.0/8", "2001:db8::/32"}
	bound, _ := f.create(t, spec)
	free, _ := f.create(t, userpass())
	cases := []struct {
		client   netip.Addr
		boundOK  bool
		freeOKay bool
	}{
		{netip.MustParseAddr("10.1.2.3"), true, true},
		{netip.MustParseAddr("::ffff:10.1.2.3"), true, true},
		{netip.MustParseAddr("2001:db8::1"), true, true},
		{netip.MustParseAddr("2001:db8::1%eth0"), false, true},
		{netip.MustParseAddr("11.0.0.1"), false, true},
		{netip.MustParseAddr("192.168.1.1"), false, true},
		{netip.MustParseAddr("2001:db9::1"), false, true},
		{netip.Addr{}, false, true},
	}
	for _, tc := range cases {
		_, err := f.svc.Lookup(t.Context(), bound, tc.client)
		if tc.boundOK && err != nil {
			t.Errorf("Lookup(bound, %v) error = %v, want nil", tc.client, err)
		}
		if !tc.boundOK {
			wantDenied(t, fmt.Sprintf("Lookup(bound, %v)", tc.client), err)
		}
		if _, err := f.svc.Lookup(t.Context(), free, tc.client); (err == nil) != tc.freeOKay {
			t.Errorf("Lookup(unbound, %v) error = %v", tc.client, err)
		}
	}
}

func TestRenew(t *testing.T) {
	t.Parallel()
	spec := userpass()
	spec.MaxTTL = time.Hour
	cases := []struct {
		name      string
		at        time.Duration // after creation
		increment time.Duration
		want      time.Duration // new expiry, after creation
	}{
		{"by the token's TTL", 10 * time.Minute, 0, 25 * time.Minute},
		{"by an increment", 10 * time.Minute, 30 * time.Minute, 40 * time.Minute},
		{"shortening", 10 * time.Minute, time.Minute, 11 * time.Minute},
		{"capped at the max TTL", 14 * time.Minute, 2 * time.Hour, time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, cfg)
			secret, _ := f.create(t, spec)
			f.clock.Set(start.Add(tc.at))
			got, err := f.svc.Renew(t.Context(), secret, tc.increment)
			if err != nil {
				t.Fatalf("Renew() error = %v", err)
			}
			if want := start.Add(tc.want); !got.ExpiresAt.Equal(want) {
				t.Errorf("Renew() expiry = %v, want %v", got.ExpiresAt, want)
			}
			looked, err := f.svc.Lookup(t.Context(), secret, client)
			if err != nil || !looked.ExpiresAt.Equal(got.ExpiresAt) {
				t.Errorf("Lookup() after Renew() = %v, %v; want expiry %v", looked, err, got.ExpiresAt)
			}
		})
	}
}

func TestRenewChain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	spec := userpass()
	spec.MaxTTL = time.Hour
	secret, _ := f.create(t, spec)
	ctx := t.Context()
	// Renewing every 10 minutes keeps the token alive up to its max TTL.
	for m := 10; m < 60; m += 10 {
		f.clock.Set(start.Add(time.Duration(m) * time.Minute))
		if _, err := f.svc.Renew(ctx, secret, 0); err != nil {
			t.Fatalf("Renew() at +%dm error = %v", m, err)
		}
	}
	f.clock.Set(start.Add(59 * time.Minute))
	got, err := f.svc.Renew(ctx, secret, 0)
	if err != nil || !got.ExpiresAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("Renew() at +59m = %v, %v; want expiry at the max TTL", got, err)
	}
	f.clock.Set(start.Add(time.Hour))
	_, err = f.svc.Renew(ctx, secret, 0)
	wantDenied(t, "Renew() at the max TTL", err)
}

func TestRenewWithoutMaxExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, token.Config{DefaultTTL: 15 * time.Minute})
	secret, tok := f.create(t, userpass())
	if !tok.MaxExpiresAt.IsZero() {
		t.Fatalf("MaxExpiresAt = %v, want zero without any max TTL", tok.MaxExpiresAt)
	}
	got, err := f.svc.Renew(t.Context(), secret, 100*time.Hour)
	if err != nil || !got.ExpiresAt.Equal(start.Add(100*time.Hour)) {
		t.Errorf("Renew(100h) = %v, %v; want expiry +100h", got, err)
	}
	// A service whose config has a max TTL caps such a token's renewals.
	capped := token.NewService(cfg, f.store, hashKey, token.WithClock(f.clock.Now))
	got, err = capped.Renew(t.Context(), secret, 100*time.Hour)
	if err != nil || !got.ExpiresAt.Equal(start.Add(24*time.Hour)) {
		t.Errorf("Renew(100h) under a 24h max = %v, %v; want expiry +24h", got, err)
	}
}

func TestRenewErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	spec := userpass()
	spec.Renewable = false
	fixed, _ := f.create(t, spec)
	_, err := f.svc.Renew(t.Context(), fixed, 0)
	if errs.KindOf(err) != errs.InvalidArgument || err.Error() != "lease is not renewable" {
		t.Errorf("Renew(not renewable) error = %v, want kind %v \"lease is not renewable\"", err, errs.InvalidArgument)
	}
	renewable, _ := f.create(t, userpass())
	_, err = f.svc.Renew(t.Context(), renewable, -time.Second)
	if errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("Renew(negative) error = %v, want kind %v", err, errs.InvalidArgument)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	ctx := t.Context()
	secret, tok := f.create(t, userpass())
	other, _ := f.create(t, userpass())
	if err := f.svc.Revoke(ctx, secret); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	_, err := f.svc.Lookup(ctx, secret, client)
	wantDenied(t, "Lookup(revoked)", err)
	wantDenied(t, "Revoke(again)", f.svc.Revoke(ctx, secret))
	if _, err := f.store.TokenByAccessor(ctx, tok.Accessor); errs.KindOf(err) != errs.NotFound {
		t.Errorf("TokenByAccessor(revoked) error = %v, want kind %v", err, errs.NotFound)
	}
	if _, err := f.svc.Lookup(ctx, other, client); err != nil {
		t.Errorf("Lookup(other) error = %v", err)
	}
}

func TestRevokeByMeta(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	ctx := t.Context()
	mk := func(instance string) string {
		spec := userpass()
		spec.Meta = map[string]string{"instance": instance}
		s, _ := f.create(t, spec)
		return s
	}
	x1, x2, y := mk("x"), mk("x"), mk("y")
	if n, err := f.svc.RevokeByMeta(ctx, "instance", "x"); err != nil || n != 2 {
		t.Errorf("RevokeByMeta(x) = %d, %v; want 2, nil", n, err)
	}
	for _, s := range []string{x1, x2} {
		_, err := f.svc.Lookup(ctx, s, client)
		wantDenied(t, "Lookup(revoked by meta)", err)
	}
	if _, err := f.svc.Lookup(ctx, y, client); err != nil {
		t.Errorf("Lookup(y) error = %v", err)
	}
	if n, err := f.svc.RevokeByMeta(ctx, "instance", "x"); err != nil || n != 0 {
		t.Errorf("RevokeByMeta(x) again = %d, %v; want 0, nil", n, err)
	}
	if _, err := f.svc.RevokeByMeta(ctx, "", "x"); errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("RevokeByMeta(empty key) error = %v, want kind %v", err, errs.InvalidArgument)
	}
}

func TestHashKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	secret, tok := f.create(t, userpass())
	other := token.NewService(cfg, f.store, otherKey, token.WithClock(f.clock.Now))
	_, err := other.Lookup(t.Context(), secret, client)
	wantDenied(t, "Lookup() under another hash key", err)
	_, otherTok, err := other.Create(t.Context(), userpass())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(tok.Hash, otherTok.Hash) {
		t.Error("two tokens share a hash")
	}

	k1, k2 := token.DeriveHashKey([]byte("root key one")), token.DeriveHashKey([]byte("root key two"))
	if len(k1) != token.HashKeySize || bytes.Equal(k1, k2) || !bytes.Equal(k1, token.DeriveHashKey([]byte("root key one"))) {
		t.Error("DeriveHashKey() is not a deterministic 32-byte function of its input")
	}
	for _, n := range []int{0, 16, 31, 33, 64} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewService() with a %d-byte key did not panic", n)
				}
			}()
			token.NewService(cfg, f.store, make([]byte, n))
		}()
	}
	// The service keeps its own copy of the key.
	key := bytes.Clone(hashKey)
	svc := token.NewService(cfg, f.store, key, token.WithClock(f.clock.Now))
	s2, _, err := svc.Create(t.Context(), userpass())
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff
	if _, err := svc.Lookup(t.Context(), s2, client); err != nil {
		t.Errorf("Lookup() after the caller changed its key slice: error = %v", err)
	}
}

func TestTokenNeverShowsSecretOrHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	secret, tok := f.create(t, userpass())
	var text, jsonLog bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("issued", "token", tok)
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("issued", "token", tok)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", tok), "%+v": fmt.Sprintf("%+v", tok), "%#v": fmt.Sprintf("%#v", tok),
		"%v of the value": fmt.Sprintf("%v", *tok), "%+v of a struct holding it": fmt.Sprintf("%+v", struct{ T *token.Token }{tok}),
		"%s": fmt.Sprintf("%s", tok), "slog text": text.String(), "slog JSON": jsonLog.String(),
	}
	forms := []string{secret, secret[4:], string(tok.Hash), hex.EncodeToString(tok.Hash),
		base64.StdEncoding.EncodeToString(tok.Hash), fmt.Sprint(tok.Hash), fmt.Sprintf("%x", tok.Hash[:4])}
	for name, out := range outputs {
		for _, form := range forms {
			if strings.Contains(out, form) {
				t.Errorf("%s output %q shows the secret or the hash", name, out)
			}
		}
		if !strings.Contains(out, tok.Accessor) {
			t.Errorf("%s output %q does not name the accessor", name, out)
		}
	}
}

// faultStore is a token.Store whose methods can be replaced to force
// errors; the others go to the embedded store.
type faultStore struct {
	token.Store
	tokenByHash func(ctx context.Context, hash []byte) (*token.Token, error)
	update      func(ctx context.Context, accessor string, at time.Time) error
	revoke      func(ctx context.Context, accessor string) error
}

func (s *faultStore) TokenByHash(ctx context.Context, hash []byte) (*token.Token, error) {
	if s.tokenByHash != nil {
		return s.tokenByHash(ctx, hash)
	}
	return s.Store.TokenByHash(ctx, hash)
}

func (s *faultStore) UpdateTokenExpiry(ctx context.Context, accessor string, at time.Time) error {
	if s.update != nil {
		return s.update(ctx, accessor, at)
	}
	return s.Store.UpdateTokenExpiry(ctx, accessor, at)
}

func (s *faultStore) RevokeToken(ctx context.Context, accessor string) error {
	if s.revoke != nil {
		return s.revoke(ctx, accessor)
	}
	return s.Store.RevokeToken(ctx, accessor)
}

func TestStoreFaults(t *testing.T) {
	t.Parallel()
	base := newFixture(t, cfg)
	secret, tok := base.create(t, userpass())
	ctx := t.Context()
	newSvc := func(fs *faultStore) *token.Service {
		fs.Store = base.store
		return token.NewService(cfg, fs, hashKey, token.WithClock(base.clock.Now))
	}

	down := newSvc(&faultStore{tokenByHash: func(context.Context, []byte) (*token.Token, error) {
		return nil, errs.E(errs.Unavailable, "database is down")
	}})
	_, err := down.Lookup(ctx, secret, client)
	if errs.KindOf(err) != errs.Unavailable || strings.Contains(err.Error(), secret[4:]) {
		t.Errorf("Lookup() with the store down: error = %v, want kind %v without the secret", err, errs.Unavailable)
	}

	loose := newSvc(&faultStore{tokenByHash: func(ctx context.Context, _ []byte) (*token.Token, error) {
		return base.store.TokenByAccessor(ctx, tok.Accessor) // matches any hash
	}})
	_, err = loose.Lookup(ctx, "hvs."+strings.Repeat("A", 43), client)
	wantDenied(t, "Lookup() through a store that matched loosely", err)

	gone := newSvc(&faultStore{
		update: func(context.Context, string, time.Time) error { return errs.E(errs.NotFound, "token not found") },
		revoke: func(context.Context, string) error { return errs.E(errs.NotFound, "token not found") },
	})
	_, err = gone.Renew(ctx, secret, 0)
	wantDenied(t, "Renew() of a token revoked meanwhile", err)
	if err := gone.Revoke(ctx, secret); err != nil {
		t.Errorf("Revoke() of a token revoked meanwhile: error = %v, want nil", err)
	}

	failing := newSvc(&faultStore{
		update: func(context.Context, string, time.Time) error { return errs.E(errs.Unavailable, "down") },
		revoke: func(context.Context, string) error { return errs.E(errs.Unavailable, "down") },
	})
	if _, err := failing.Renew(ctx, secret, 0); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Renew() with a failing store: error = %v, want kind %v", err, errs.Unavailable)
	}
	if err := failing.Revoke(ctx, secret); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Revoke() with a failing store: error = %v, want kind %v", err, errs.Unavailable)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cfg)
	secret, _ := f.create(t, userpass())
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := f.svc.Lookup(context.Background(), secret, client); err != nil {
					t.Errorf("Lookup() error = %v", err)
				}
				if _, err := f.svc.Renew(context.Background(), secret, time.Duration(i+1)*time.Minute); err != nil {
					t.Errorf("Renew() error = %v", err)
				}
				if _, _, err := f.svc.Create(context.Background(), userpass()); err != nil {
					t.Errorf("Create() error = %v", err)
				}
			}
		})
	}
	wg.Wait()
	if n, err := f.svc.RevokeByMeta(t.Context(), "instance", "i-1"); err != nil || n != 21 {
		t.Errorf("RevokeByMeta() = %d, %v; want 21, nil", n, err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  token.Config
		ok   bool
	}{
		{"defaults", cfg, true},
		{"no max", token.Config{DefaultTTL: time.Minute}, true},
		{"equal", token.Config{DefaultTTL: time.Hour, MaxTTL: time.Hour}, true},
		{"zero TTL", token.Config{MaxTTL: time.Hour}, false},
		{"negative TTL", token.Config{DefaultTTL: -time.Minute}, false},
		{"negative max", token.Config{DefaultTTL: time.Minute, MaxTTL: -time.Hour}, false},
		{"TTL above max", token.Config{DefaultTTL: 2 * time.Hour, MaxTTL: time.Hour}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if tc.ok != (err == nil) || (err != nil && errs.KindOf(err) != errs.InvalidArgument) {
				t.Errorf("Validate() = %v, want ok = %t", err, tc.ok)
			}
		})
	}
}
