package storetest

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
)

func testTokens(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CRUD", func(t *testing.T) {
		t.Parallel()
		s := open(t).Tokens
		ctx := t.Context()
		tok := newToken(at(0), at(15))
		mustOK(t, "CreateToken()", s.CreateToken(ctx, cloneToken(tok)))
		wantToken(t, s, tok)

		tok.ExpiresAt = at(30)
		mustOK(t, "UpdateTokenExpiry()", s.UpdateTokenExpiry(ctx, tok.Accessor, tok.ExpiresAt))
		wantToken(t, s, tok)
		tok.ExpiresAt = time.Time{}
		mustOK(t, "UpdateTokenExpiry(zero)", s.UpdateTokenExpiry(ctx, tok.Accessor, tok.ExpiresAt))
		wantToken(t, s, tok)

		mustOK(t, "RevokeToken()", s.RevokeToken(ctx, tok.Accessor))
		_, err := s.TokenByHash(ctx, tok.Hash)
		wantKind(t, "TokenByHash(revoked)", err, errs.NotFound)
		_, err = s.TokenByAccessor(ctx, tok.Accessor)
		wantKind(t, "TokenByAccessor(revoked)", err, errs.NotFound)
		wantKind(t, "RevokeToken(again)", s.RevokeToken(ctx, tok.Accessor), errs.NotFound)
		wantKind(t, "UpdateTokenExpiry(revoked)", s.UpdateTokenExpiry(ctx, tok.Accessor, at(5)), errs.NotFound)
	})

	t.Run("OptionalFields", func(t *testing.T) {
		t.Parallel()
		s := open(t).Tokens
		bare := &token.Token{Hash: tokenHash(unique("bare")), Accessor: unique("accessor"), CreatedAt: at(0)}
		mustOK(t, "CreateToken(bare)", s.CreateToken(t.Context(), cloneToken(bare)))
		wantToken(t, s, bare)
		empty := &token.Token{Hash: tokenHash(unique("empty")), Accessor: unique("accessor"), CreatedAt: at(0),
			Policies: []string{}, Meta: map[string]string{}, BoundCIDRs: []string{}}
		mustOK(t, "CreateToken(empty)", s.CreateToken(t.Context(), cloneToken(empty)))
		wantToken(t, s, empty)
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		s := open(t).Tokens
		ctx := t.Context()
		tok := newToken(at(0), at(15))
		mustOK(t, "CreateToken()", s.CreateToken(ctx, cloneToken(tok)))
		for _, h := range [][]byte{nil, {}, tokenHash("unknown"), tok.Hash[:len(tok.Hash)-1], append(clone(tok.Hash), 0)} {
			_, err := s.TokenByHash(ctx, h)
			wantKind(t, fmt.Sprintf("TokenByHash(%x)", h), err, errs.NotFound)
		}
		for _, a := range []string{"", "unknown", tok.Accessor + " ", "X" + tok.Accessor[1:]} {
			_, err := s.TokenByAccessor(ctx, a)
			wantKind(t, fmt.Sprintf("TokenByAccessor(%q)", a), err, errs.NotFound)
			wantKind(t, fmt.Sprintf("UpdateTokenExpiry(%q)", a), s.UpdateTokenExpiry(ctx, a, at(1)), errs.NotFound)
			wantKind(t, fmt.Sprintf("RevokeToken(%q)", a), s.RevokeToken(ctx, a), errs.NotFound)
		}
		wantToken(t, s, tok)
	})

	t.Run("Conflicts", func(t *testing.T) {
		t.Parallel()
		s := open(t).Tokens
		ctx := t.Context()
		tok := newToken(at(0), at(15))
		mustOK(t, "CreateToken()", s.CreateToken(ctx, cloneToken(tok)))
		sameHash := newToken(at(1), at(16))
		sameHash.Hash = clone(tok.Hash)
		wantKind(t, "CreateToken(same hash)", s.CreateToken(ctx, sameHash), errs.AlreadyExists)
		sameAccessor := newToken(at(1), at(16))
		sameAccessor.Accessor = tok.Accessor
		wantKind(t, "CreateToken(same accessor)", s.CreateToken(ctx, sameAccessor), errs.AlreadyExists)
		noHash := newToken(at(1), at(16))
		noHash.Hash = nil
		wantKind(t, "CreateToken(no hash)", s.CreateToken(ctx, noHash), errs.InvalidArgument)
		noAccessor := newToken(at(1), at(16))
		noAccessor.Accessor = ""
		wantKind(t, "CreateToken(no accessor)", s.CreateToken(ctx, noAccessor), errs.InvalidArgument)
		wantToken(t, s, tok)
		// The failed creates left no meta behind: only tok is found by it.
		n, err := s.RevokeTokensByMeta(ctx, "instance", tok.Meta["instance"])
		mustOK(t, "RevokeTokensByMeta()", err)
		if n != 1 {
			t.Errorf("RevokeTokensByMeta() = %d, want 1", n)
		}
	})

	t.Run("ExpiryBoundary", func(t *testing.T) {
		t.Parallel()
		s := open(t).Tokens
		ctx := t.Context()
		var toks []*token.Token
		for _, exp := range []time.Time{at(0), at(1), at(2), {}} {
			tok := newToken(at(-10), exp)
			mustOK(t, "CreateToken()", s.CreateToken(ctx, cloneToken(tok)))
			toks = append(toks, tok)
		}
		wantDeleted := func(before time.Time, want int) {
			t.Helper()
			n, err := s.DeleteExpiredTokens(ctx, before)
			mustOK(t, "DeleteExpiredTokens()", err)
			if n != want {
				t.Errorf("DeleteExpiredTokens(%v) = %d, want %d", before, n, want)
			}
		}
		wantDeleted(at(0), 0) // expiring at t is not expired before t
		wantDeleted(at(1), 1)
		wantDeleted(at(1), 0)
		wantGone(t, s, toks[0])
		wantToken(t, s, toks[1])
		wantDeleted(at(1).Add(time.Microsecond), 1)
		wantDeleted(at(100_000), 1)
		wantGone(t, s, toks[1])
		wantGone(t, s, toks[2])
		wantToken(t, s, toks[3]) // never expires
		// Deleting a token deletes its meta.
		n, err := s.RevokeTokensByMeta(ctx, "username", toks[0].Meta["username"])
		mustOK(t, "RevokeTokensByMeta(expired)", err)
		if n != 0 {
			t.Errorf("RevokeTokensByMeta(expired) = %d, want 0", n)
		}
	})

	t.Run("RevokeTokensByMeta", func(t *testing.T) {
		t.Parallel()
		s := open(t).Tokens
		ctx := t.Context()
		mk := func(meta map[string]string) *token.Token {
			tok := newToken(at(0), at(15))
			tok.Meta = meta
			mustOK(t, "CreateToken()", s.CreateToken(ctx, cloneToken(tok)))
			return tok
		}
		a1 := mk(map[string]string{"instance": "A", "username": "u1"})
		a2 := mk(map[string]string{"instance": "A", "username": "u2"})
		b1 := mk(map[string]string{"instance": "B", "username": "u1"})
		none := mk(nil)
		for _, tc := range []struct {
			key, value string
			want       int
		}{
			{"instance", "a", 0}, // values are case-sensitive
			{"instance", "u1", 0},
			{"username", "A", 0},
			{"", "", 0},
			{"instance", "A", 2},
			{"instance", "A", 0},
			{"username", "u1", 1},
			{"username", "u2", 0},
		} {
			n, err := s.RevokeTokensByMeta(ctx, tc.key, tc.value)
			mustOK(t, "RevokeTokensByMeta()", err)
			if n != tc.want {
				t.Errorf("RevokeTokensByMeta(%q, %q) = %d, want %d", tc.key, tc.value, n, tc.want)
			}
		}
		wantGone(t, s, a1)
		wantGone(t, s, a2)
		wantGone(t, s, b1)
		wantToken(t, s, none)
	})

	t.Run("ReturnedValuesAreCopies", func(t *testing.T) {
		t.Parallel()
		s := open(t).Tokens
		ctx := t.Context()
		in := newToken(at(0), at(15))
		want := cloneToken(in)
		mustOK(t, "CreateToken()", s.CreateToken(ctx, in))
		scribbleToken(in)
		got, err := s.TokenByHash(ctx, want.Hash)
		mustOK(t, "TokenByHash()", err)
		scribbleToken(got)
		got, err = s.TokenByAccessor(ctx, want.Accessor)
		mustOK(t, "TokenByAccessor()", err)
		scribbleToken(got)
		wantToken(t, s, want)
	})

	t.Run("ConcurrentCreates", func(t *testing.T) {
		t.Parallel()
		s := open(t).Tokens
		const n = 20
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				tok := newToken(at(0), at(15))
				tok.Meta = map[string]string{"instance": "shared"}
				if err := s.CreateToken(t.Context(), tok); err != nil {
					t.Errorf("CreateToken() error = %v", err)
				}
			})
		}
		wg.Wait()
		// Racing creates of one accessor: exactly one wins.
		accessor := unique("accessor")
		results := make(chan error, n)
		for range n {
			wg.Go(func() {
				tok := newToken(at(0), at(15))
				tok.Accessor = accessor
				results <- s.CreateToken(t.Context(), tok)
			})
		}
		wg.Wait()
		close(results)
		won := 0
		for err := range results {
			switch {
			case err == nil:
				won++
			case errs.KindOf(err) != errs.AlreadyExists:
				t.Errorf("CreateToken(same accessor) error = %v, want nil or kind %v", err, errs.AlreadyExists)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d creates of one accessor succeeded, want 1", won, n)
		}
		got, err := s.RevokeTokensByMeta(t.Context(), "instance", "shared")
		mustOK(t, "RevokeTokensByMeta()", err)
		if got != n {
			t.Errorf("RevokeTokensByMeta() = %d, want %d", got, n)
		}
	})
}

// newToken returns a token with every field set, created at created and
// expiring at expires.
func newToken(created, expires time.Time) *token.Token {
	return &token.Token{
		Hash:         tokenHash(unique("secret")),
		Accessor:     unique("accessor"),
		Policies:     []string{"default", unique("instance") + "-rw"},
		Meta:         map[string]string{"username": unique("user"), "instance": unique("instance")},
		DisplayName:  unique("userpass"),
		Path:         "auth/userpass/login/" + unique("user"),
		CreatedAt:    created,
		ExpiresAt:    expires,
		MaxExpiresAt: created.Add(24 * time.Hour),
		TTL:          15 * time.Minute,
		Renewable:    true,
		BoundCIDRs:   []string{"10.0.0.0/8", "2001:db8::/32"},
	}
}

// tokenHash returns a stand-in for a keyed hash of secret.
func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// cloneToken returns a deep copy of t.
func cloneToken(t *token.Token) *token.Token {
	c := *t
	c.Hash = clone(t.Hash)
	c.Policies, c.BoundCIDRs, c.Meta = slices.Clone(t.Policies), slices.Clone(t.BoundCIDRs), maps.Clone(t.Meta)
	return &c
}

// scribbleToken overwrites the bytes, slices and map of t in place.
func scribbleToken(t *token.Token) {
	scribble(t.Hash)
	for i := range t.Policies {
		t.Policies[i] = "X"
	}
	for i := range t.BoundCIDRs {
		t.BoundCIDRs[i] = "X"
	}
	for k := range t.Meta {
		t.Meta[k] = "X"
	}
	t.Meta["scribbled"] = "X"
}

// wantToken fails t unless s holds want, found by both hash and accessor.
func wantToken(t *testing.T, s token.Store, want *token.Token) {
	t.Helper()
	byHash, err := s.TokenByHash(t.Context(), want.Hash)
	mustOK(t, "TokenByHash()", err)
	if diff := cmp.Diff(want, byHash); diff != "" {
		t.Errorf("TokenByHash() mismatch (-want +got):\n%s", diff)
	}
	byAccessor, err := s.TokenByAccessor(t.Context(), want.Accessor)
	mustOK(t, "TokenByAccessor()", err)
	if diff := cmp.Diff(want, byAccessor); diff != "" {
		t.Errorf("TokenByAccessor() mismatch (-want +got):\n%s", diff)
	}
	wantUTC(t, "TokenByHash()", byHash.CreatedAt, byHash.ExpiresAt, byHash.MaxExpiresAt)
}

// wantGone fails t unless s no longer holds tok.
func wantGone(t *testing.T, s token.Store, tok *token.Token) {
	t.Helper()
	_, err := s.TokenByHash(t.Context(), tok.Hash)
	wantKind(t, "TokenByHash(gone)", err, errs.NotFound)
	_, err = s.TokenByAccessor(t.Context(), tok.Accessor)
	wantKind(t, "TokenByAccessor(gone)", err, errs.NotFound)
}
