package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
)

func testIAM(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("EnsureServiceAccount", func(t *testing.T) {
		t.Parallel()
		s := open(t).IAM
		ctx := t.Context()
		sa := &iam.ServiceAccount{ID: uuid.NewString(), Email: "ci@sa.coffer.local", ProjectID: "p1", CreatedAt: at(0)}
		got, err := s.EnsureServiceAccount(ctx, sa)
		mustOK(t, "EnsureServiceAccount()", err)
		if diff := cmp.Diff(sa, got); diff != "" {
			t.Errorf("EnsureServiceAccount() mismatch (-want +got):\n%s", diff)
		}
		wantUTC(t, "EnsureServiceAccount()", got.CreatedAt)

		again := &iam.ServiceAccount{ID: uuid.NewString(), Email: sa.Email, ProjectID: "p2", CreatedAt: at(9)}
		got, err = s.EnsureServiceAccount(ctx, again)
		mustOK(t, "EnsureServiceAccount(existing email)", err)
		if diff := cmp.Diff(sa, got); diff != "" {
			t.Errorf("EnsureServiceAccount(existing email) mismatch (-want +got):\n%s", diff)
		}
		got, err = s.ServiceAccount(ctx, sa.Email)
		mustOK(t, "ServiceAccount()", err)
		if diff := cmp.Diff(sa, got); diff != "" {
			t.Errorf("ServiceAccount() mismatch (-want +got):\n%s", diff)
		}

		_, err = s.ServiceAccount(ctx, "nobody@sa.coffer.local")
		wantKind(t, "ServiceAccount(unknown)", err, errs.NotFound)
		takenID := &iam.ServiceAccount{ID: sa.ID, Email: "other@sa.coffer.local", ProjectID: "p1", CreatedAt: at(0)}
		_, err = s.EnsureServiceAccount(ctx, takenID)
		wantKind(t, "EnsureServiceAccount(taken ID)", err, errs.AlreadyExists)
	})

	t.Run("GrantRevoke", func(t *testing.T) {
		t.Parallel()
		s := open(t).IAM
		ctx := t.Context()
		b := iam.RoleBinding{ProjectID: "p1", Subject: "ci@sa.coffer.local", Role: "secrets-manager.admin"}
		mustOK(t, "Grant()", s.Grant(ctx, b))
		mustOK(t, "Grant(again)", s.Grant(ctx, b))
		wantBindings(t, s, b.Subject, []iam.RoleBinding{b})

		mustOK(t, "Revoke()", s.Revoke(ctx, b))
		wantBindings(t, s, b.Subject, []iam.RoleBinding{})
		wantKind(t, "Revoke(again)", s.Revoke(ctx, b), errs.NotFound)
		never := iam.RoleBinding{ProjectID: "p1", Subject: b.Subject, Role: "owner"}
		wantKind(t, "Revoke(never granted)", s.Revoke(ctx, never), errs.NotFound)
	})

	t.Run("BindingsOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t).IAM
		const subject = "ci@sa.coffer.local"
		want := []iam.RoleBinding{
			{ProjectID: "p1", Subject: subject, Role: "kms.user"},
			{ProjectID: "p1", Subject: subject, Role: "secrets-manager.reader"},
			{ProjectID: "p2", Subject: subject, Role: "kms.admin"},
			{ProjectID: "p3", Subject: subject, Role: "owner"},
		}
		for _, i := range []int{3, 1, 2, 0} {
			mustOK(t, "Grant()", s.Grant(t.Context(), want[i]))
		}
		other := iam.RoleBinding{ProjectID: "p1", Subject: "other@sa.coffer.local", Role: "owner"}
		mustOK(t, "Grant()", s.Grant(t.Context(), other))
		wantBindings(t, s, subject, want)
		wantBindings(t, s, "nobody@sa.coffer.local", []iam.RoleBinding{})
	})

	t.Run("EnsureSigningKeyFirstWins", func(t *testing.T) {
		t.Parallel()
		s := open(t).IAM
		ctx := t.Context()
		empty, err := s.SigningKeys(ctx)
		mustOK(t, "SigningKeys()", err)
		if empty == nil || len(empty) != 0 {
			t.Errorf("SigningKeys() of a new store = %v, want an empty non-nil slice", empty)
		}
		first := newSigningKey(at(0))
		got, err := s.EnsureSigningKey(ctx, first)
		mustOK(t, "EnsureSigningKey()", err)
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("EnsureSigningKey() mismatch (-want +got):\n%s", diff)
		}
		// Any existing key wins, even over an older one.
		got, err = s.EnsureSigningKey(ctx, newSigningKey(at(-60)))
		mustOK(t, "EnsureSigningKey(second)", err)
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("EnsureSigningKey(second) mismatch (-want +got):\n%s", diff)
		}
		all, err := s.SigningKeys(ctx)
		mustOK(t, "SigningKeys()", err)
		if diff := cmp.Diff([]*iam.SigningKey{first}, all); diff != "" {
			t.Errorf("SigningKeys() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("EnsureSigningKeyConcurrent", func(t *testing.T) {
		t.Parallel()
		s := open(t).IAM
		const n = 10
		kids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				k, err := s.EnsureSigningKey(t.Context(), newSigningKey(at(i)))
				if err != nil {
					t.Errorf("EnsureSigningKey() error = %v", err)
					return
				}
				kids[i] = k.KID
			})
		}
		wg.Wait()
		for i, kid := range kids {
			if kid != kids[0] {
				t.Errorf("EnsureSigningKey() call %d returned key %q, call 0 returned %q; want one key", i, kid, kids[0])
			}
		}
		all, err := s.SigningKeys(t.Context())
		mustOK(t, "SigningKeys()", err)
		if len(all) != 1 {
			t.Errorf("SigningKeys() has %d keys, want 1", len(all))
		}
	})

	t.Run("ReturnedBytesAreCopies", func(t *testing.T) {
		t.Parallel()
		s := open(t).IAM
		ctx := t.Context()
		k := newSigningKey(at(0))
		want := *k
		want.Public, want.WrappedKey = clone(k.Public), clone(k.WrappedKey)
		got, err := s.EnsureSigningKey(ctx, k)
		mustOK(t, "EnsureSigningKey()", err)
		scribble(k.Public, k.WrappedKey, got.Public, got.WrappedKey)
		all, err := s.SigningKeys(ctx)
		mustOK(t, "SigningKeys()", err)
		scribble(all[0].Public, all[0].WrappedKey)
		all, err = s.SigningKeys(ctx)
		mustOK(t, "SigningKeys()", err)
		if diff := cmp.Diff([]*iam.SigningKey{&want}, all); diff != "" {
			t.Errorf("SigningKeys() after mutating slices mismatch (-want +got):\n%s", diff)
		}
	})
}

func newSigningKey(created time.Time) *iam.SigningKey {
	return &iam.SigningKey{
		KID:        uuid.NewString(),
		Algorithm:  "EdDSA",
		Public:     []byte("public key " + unique("k")),
		WrappedKey: []byte("wrapped private key " + unique("k")),
		CreatedAt:  created,
	}
}

// wantBindings fails t unless subject's bindings are want, in that order.
func wantBindings(t *testing.T, s iam.Store, subject string, want []iam.RoleBinding) {
	t.Helper()
	got, err := s.Bindings(t.Context(), subject)
	mustOK(t, "Bindings()", err)
	if got == nil {
		t.Errorf("Bindings(%q) = nil, want a non-nil slice", subject)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Bindings(%q) mismatch (-want +got):\n%s", subject, diff)
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// scribble overwrites every byte of each slice.
func scribble(bs ...[]byte) {
	for _, b := range bs {
		for i := range b {
			b[i] = 'X'
		}
	}
}
