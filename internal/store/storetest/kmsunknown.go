package storetest

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyservice"
)

func testKMSUnknownIDs(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		k, v := mustCreateKey(t, s)
		kr, err := s.KeyRingByID(t.Context(), k.KeyRingID)
		mustOK(t, "KeyRingByID()", err)

		// Each operation gets an ID that matches nothing: a fresh UUID, or
		// one that is not a UUID at all.
		for _, unknown := range []string{uuid.NewString(), "not-a-uuid", ""} {
			for _, tc := range kmsNotFoundCases(kr, k, v, unknown) {
				t.Run(tc.name+"/"+unknown, func(t *testing.T) {
					wantKind(t, tc.name, tc.call(t.Context(), s), errs.NotFound)
				})
			}
		}
		// Nothing changed.
		wantKeyRings(t, s, kr.ProjectID, kr.RegionID, []*keyservice.KeyRing{kr})
		wantKeys(t, s, kr, []*keyservice.Key{k})
		wantVersions(t, s, k.ID, []*keyservice.Version{v})
	})

	t.Run("MalformedNewIDs", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		kr := mustCreateKeyRing(t, s)
		for _, bad := range []string{"not-a-uuid", ""} {
			ring := newKeyRing("p1", "eu01", base)
			ring.ID = bad
			wantKind(t, "CreateKeyRing(malformed ID)", s.CreateKeyRing(t.Context(), ring), errs.InvalidArgument)
			k := newKey(kr, base)
			k.ID = bad
			wantKind(t, "CreateKey(malformed ID)", s.CreateKey(t.Context(), k, newVersion(base)), errs.InvalidArgument)
		}
		wantKeyRings(t, s, "p1", "eu01", []*keyservice.KeyRing{})
		wantKeys(t, s, kr, []*keyservice.Key{})
	})
}

type kmsNotFoundCase struct {
	name string
	call func(ctx context.Context, s keyservice.Store) error
}

// kmsNotFoundCases returns every lookup and mutation of keyservice.Store
// that takes an existing ID, each aimed at the ID unknown in the scope of
// the existing ring kr, key k and version v.
func kmsNotFoundCases(kr *keyservice.KeyRing, k *keyservice.Key, v *keyservice.Version, unknown string) []kmsNotFoundCase {
	key := func(ringID, id string) *keyservice.Key {
		c := *k
		c.KeyRingID, c.ID = ringID, id
		return &c
	}
	version := func(keyID string, number int64) *keyservice.Version {
		c := *v
		c.KeyID, c.Number = keyID, number
		return &c
	}
	get := func(_ any, err error) error { return err }
	return []kmsNotFoundCase{
		{"KeyRing", func(ctx context.Context, s keyservice.Store) error {
			return get(s.KeyRing(ctx, kr.ProjectID, kr.RegionID, unknown))
		}},
		{"KeyRingByID", func(ctx context.Context, s keyservice.Store) error { return get(s.KeyRingByID(ctx, unknown)) }},
		{"DeleteKeyRing", func(ctx context.Context, s keyservice.Store) error {
			return s.DeleteKeyRing(ctx, kr.ProjectID, kr.RegionID, unknown)
		}},
		{"CreateKey/unknown ring", func(ctx context.Context, s keyservice.Store) error {
			return s.CreateKey(ctx, key(unknown, uuid.NewString()), nil)
		}},
		{"Key/unknown ring", func(ctx context.Context, s keyservice.Store) error {
			return get(s.Key(ctx, kr.ProjectID, kr.RegionID, unknown, k.ID))
		}},
		{"Key", func(ctx context.Context, s keyservice.Store) error {
			return get(s.Key(ctx, kr.ProjectID, kr.RegionID, kr.ID, unknown))
		}},
		{"ListKeys", func(ctx context.Context, s keyservice.Store) error {
			return get(s.ListKeys(ctx, kr.ProjectID, kr.RegionID, unknown))
		}},
		{"UpdateKey", func(ctx context.Context, s keyservice.Store) error { return s.UpdateKey(ctx, key(kr.ID, unknown)) }},
		{"PurgeKey", func(ctx context.Context, s keyservice.Store) error { return s.PurgeKey(ctx, unknown) }},
		{"AddVersion", func(ctx context.Context, s keyservice.Store) error {
			return s.AddVersion(ctx, version(unknown, 0), wrapFor(unknown))
		}},
		{"Version/unknown key", func(ctx context.Context, s keyservice.Store) error { return get(s.Version(ctx, unknown, 1)) }},
		{"ListVersions", func(ctx context.Context, s keyservice.Store) error { return get(s.ListVersions(ctx, unknown)) }},
		{"UpdateVersion/unknown key", func(ctx context.Context, s keyservice.Store) error {
			return s.UpdateVersion(ctx, version(unknown, 1))
		}},
	}
}
