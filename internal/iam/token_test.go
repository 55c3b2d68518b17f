package iam_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
)

const project = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

var cfg = iam.Config{Issuer: "coffer", Audience: "coffer", MaxTTL: 24 * time.Hour}

type fixture struct {
	store iam.Store
	seal  *seal.Seal
	svc   *iam.Service
	tok   *iam.Tokens
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := sqlitetest.Open(t)
	key, _ := seal.NewRootKey()
	sl, _ := seal.New(key)
	tok, err := iam.OpenTokens(ctx, cfg, db.IAM(), sl)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: db.IAM(), seal: sl, svc: iam.NewService(db.IAM()), tok: tok}
}

func TestIssueVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sa, err := f.svc.Grant(ctx, project, "ci@example.com", iam.RoleSecretsManagerAdmin)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.tok.Issue(ctx, "ci@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.tok.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("Verify(valid) = %v", err)
	}
	if p.Email != "ci@example.com" || p.ServiceAccountID != sa.ID {
		t.Errorf("principal = %+v, want email ci@example.com and id %s", p, sa.ID)
	}
	// The claims carry sub = account UUID and email, as STACKIT access tokens do.
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != sa.ID || claims["email"] != "ci@example.com" || claims["iss"] != "coffer" {
		t.Errorf("claims = %v", claims)
	}
}

func TestIssueRejects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Grant(ctx, project, "ci@example.com", iam.RoleOwner); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		email string
		ttl   time.Duration
		want  errs.Kind
	}{
		"unknown account": {"nobody@example.com", time.Hour, errs.NotFound},
		"zero ttl":        {"ci@example.com", 0, errs.InvalidArgument},
		"ttl over max":    {"ci@example.com", 25 * time.Hour, errs.InvalidArgument},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := f.tok.Issue(ctx, tc.email, tc.ttl); errs.KindOf(err) != tc.want {
				t.Errorf("Issue() kind = %v, want %v (err %v)", errs.KindOf(err), tc.want, err)
			}
		})
	}
}

// sign makes a token with an arbitrary method and key, as an attacker would.
func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sa, err := f.svc.Grant(ctx, project, "ci@example.com", iam.RoleOwner)
	if err != nil {
		t.Fatal(err)
	}
	jwks := f.tok.JWKS()["keys"]
	if len(jwks) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(jwks))
	}
	kid := jwks[0].KID
	now := time.Now()
	good := jwt.MapClaims{"iss": "coffer", "aud": "coffer", "sub": sa.ID, "email": "ci@example.com",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	past, err := iam.OpenTokens(ctx, cfg, f.store, f.seal, iam.WithClock(func() time.Time { return now.Add(-3 * time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	expired, err := past.Issue(ctx, "ci@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"empty":              "",
		"garbage":            "not.a.jwt",
		"expired":            expired,
		"wrong signing key":  sign(t, jwt.SigningMethodEdDSA, otherKey, kid, good),
		"alg none":           sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, good),
		"hs256 with pub key": sign(t, jwt.SigningMethodHS256, []byte(jwks[0].X), kid, good),
		"unknown kid":        sign(t, jwt.SigningMethodEdDSA, otherKey, "nope", good),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := f.tok.Verify(ctx, raw); errs.KindOf(err) != errs.Unauthenticated {
				t.Errorf("Verify() kind = %v, want Unauthenticated (err %v)", errs.KindOf(err), err)
			}
		})
	}
	// Claims checks need a validly signed token: issue one through a Tokens
	// with other settings over the same key.
	for name, c := range map[string]iam.Config{
		"wrong issuer":   {Issuer: "evil", Audience: "coffer", MaxTTL: time.Hour},
		"wrong audience": {Issuer: "coffer", Audience: "evil", MaxTTL: time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			other, err := iam.OpenTokens(ctx, c, f.store, f.seal)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := other.Issue(ctx, "ci@example.com", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.tok.Verify(ctx, raw); errs.KindOf(err) != errs.Unauthenticated {
				t.Errorf("Verify() kind = %v, want Unauthenticated (err %v)", errs.KindOf(err), err)
			}
		})
	}
}

func TestVerifyMessageHasNoToken(t *testing.T) {
	f := newFixture(t)
	raw := sign(t, jwt.SigningMethodHS256, []byte("k"), "x", jwt.MapClaims{"secret": "canary-123"})
	_, err := f.tok.Verify(context.Background(), raw)
	if err == nil || strings.Contains(err.Error(), raw) || strings.Contains(err.Error(), "canary-123") {
		t.Errorf("Verify() error %q must exist and not echo the token", err)
	}
}

func TestSigningKeyIsStableAndSealed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	again, err := iam.OpenTokens(ctx, cfg, f.store, f.seal)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := f.tok.JWKS()["keys"][0].KID, again.JWKS()["keys"][0].KID; a != b {
		t.Errorf("reopening made a new signing key: %s then %s", a, b)
	}
	otherKey, _ := seal.NewRootKey()
	wrong, _ := seal.New(otherKey)
	if _, err := iam.OpenTokens(ctx, cfg, f.store, wrong); err == nil {
		t.Error("OpenTokens with a different root key succeeded; the signing key must only unwrap under its seal")
	}
}

func TestAuthorize(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := "11111111-1111-1111-1111-111111111111"
	if _, err := f.svc.Grant(ctx, project, "reader@example.com", iam.RoleSecretsManagerReader); err != nil {
		t.Fatal(err)
	}
	p := &iam.Principal{Email: "reader@example.com"}
	cases := []struct {
		project, perm string
		want          errs.Kind
	}{
		{project, iam.PermInstanceGet, errs.Internal}, // Internal = no error here (KindOf(nil))
		{project, iam.PermInstanceList, errs.Internal},
		{project, iam.PermInstanceCreate, errs.PermissionDenied},
		{project, iam.PermInstanceDelete, errs.PermissionDenied},
		{other, iam.PermInstanceGet, errs.PermissionDenied},
	}
	for _, tc := range cases {
		err := f.svc.Authorize(ctx, p, tc.project, tc.perm)
		if (err == nil) != (tc.want == errs.Internal) || (err != nil && errs.KindOf(err) != tc.want) {
			t.Errorf("Authorize(%s, %s) = %v, want kind %v", tc.project, tc.perm, err, tc.want)
		}
	}
	if err := f.svc.Authorize(ctx, nil, project, iam.PermInstanceGet); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("Authorize(nil principal) = %v, want Unauthenticated", err)
	}
}

func TestCheckKMSServiceAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := "11111111-1111-1111-1111-111111111111"
	mustGrant := func(p, e, r string) {
		if _, err := f.svc.Grant(ctx, p, e, r); err != nil {
			t.Fatal(err)
		}
	}
	mustGrant(project, "reader@example.com", iam.RoleSecretsManagerReader)
	mustGrant(project, "admin@example.com", iam.RoleSecretsManagerAdmin)
	mustGrant(project, "kms@example.com", iam.RoleKMSUser)
	mustGrant(other, "elsewhere@example.com", iam.RoleSecretsManagerAdmin)
	mustGrant(project, "elsewhere@example.com", iam.RoleSecretsManagerAdmin) // bound here, but lives in other
	for email, wantOK := range map[string]bool{
		"reader@example.com": true, "admin@example.com": true, "kms@example.com": false,
		"elsewhere@example.com": false, "ghost@example.com": false,
	} {
		err := f.svc.CheckKMSServiceAccount(ctx, project, email)
		if wantOK != (err == nil) || (err != nil && errs.KindOf(err) != errs.PermissionDenied) {
			t.Errorf("CheckKMSServiceAccount(%s) = %v, want ok=%v or PermissionDenied", email, err, wantOK)
		}
		if err != nil && !strings.Contains(errs.Message(err), "kmsKey.serviceAccountEmail") {
			t.Errorf("message %q does not name kmsKey.serviceAccountEmail", errs.Message(err))
		}
	}
}

func TestGrantValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, args := range map[string][3]string{
		"bad project": {"nope", "a@example.com", iam.RoleOwner},
		"bad email":   {project, "not an email", iam.RoleOwner},
		"bad role":    {project, "a@example.com", "superuser"},
	} {
		if _, err := f.svc.Grant(ctx, args[0], args[1], args[2]); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("%s: Grant() = %v, want InvalidArgument", name, err)
		}
	}
	for range 2 { // idempotent
		if _, err := f.svc.Grant(ctx, project, "a@example.com", iam.RoleOwner); err != nil {
			t.Fatalf("Grant() = %v", err)
		}
	}
	bs, err := f.store.Bindings(ctx, "a@example.com")
	if err != nil || len(bs) != 1 {
		t.Errorf("Bindings = %v, %v; want exactly one", bs, err)
	}
}
