package storetest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/instance"
)

// testInstanceKeyrings checks an instance's wrapped keyring and fallback
// key: they are replaced together with the kmsKey, and never aliased.
func testInstanceKeyrings(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("SwitchIsAtomic", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		in := newInstance("p1", "eu01", at(0))
		// Two configurations, each a kmsKey with the keyring wrapped under it.
		configs := []struct {
			key  *instance.KMSKey
			ring []byte
		}{{newKMSKey(), nil}, {nil, nil}}
		for i := range configs {
			configs[i].ring = keyringFor(configs[i].key)
		}
		in.KMSKey, in.WrappedKeyring = configs[0].key, configs[0].ring
		mustOK(t, "CreateInstance()", s.CreateInstance(t.Context(), in))

		var done atomic.Bool
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for !done.Load() {
					got, err := s.Instance(t.Context(), in.ProjectID, in.RegionID, in.ID)
					if err != nil {
						t.Errorf("Instance() error = %v", err)
						return
					}
					if !bytes.Equal(got.WrappedKeyring, keyringFor(got.KMSKey)) {
						t.Errorf("Instance() returned kmsKey %+v with keyring %q: a half-done switch", got.KMSKey, got.WrappedKeyring)
						return
					}
				}
			})
		}
		for i := range 40 {
			c := configs[(i+1)%2]
			upd := *in
			upd.KMSKey, upd.WrappedKeyring = c.key, c.ring
			if err := s.UpdateInstance(t.Context(), &upd); err != nil {
				t.Errorf("UpdateInstance() error = %v", err)
				break
			}
		}
		done.Store(true)
		wg.Wait()
	})

	t.Run("ReturnedBytesAreCopies", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in := newInstance("p1", "eu01", at(0))
		want := *in
		want.WrappedKeyring, want.WrappedFallbackKey = clone(in.WrappedKeyring), clone(in.WrappedFallbackKey)
		mustOK(t, "CreateInstance()", s.CreateInstance(ctx, in))
		scribble(in.WrappedKeyring, in.WrappedFallbackKey)

		kept, err := s.Instance(ctx, in.ProjectID, in.RegionID, in.ID)
		mustOK(t, "Instance()", err)
		got, err := s.InstanceByID(ctx, in.ID)
		mustOK(t, "InstanceByID()", err)
		scribble(got.WrappedKeyring, got.WrappedFallbackKey)
		list, err := s.ListInstances(ctx, in.ProjectID, in.RegionID)
		mustOK(t, "ListInstances()", err)
		scribble(list[0].WrappedKeyring, list[0].WrappedFallbackKey)
		got, err = s.InstanceByID(ctx, in.ID)
		mustOK(t, "InstanceByID()", err)
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("InstanceByID() after mutating slices mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(&want, kept); diff != "" {
			t.Errorf("Instance() result changed by later calls (-want +got):\n%s", diff)
		}

		upd := want
		upd.WrappedKeyring, upd.WrappedFallbackKey = []byte("rewrapped keyring"), []byte("rewrapped fallback")
		want.WrappedKeyring, want.WrappedFallbackKey = clone(upd.WrappedKeyring), clone(upd.WrappedFallbackKey)
		mustOK(t, "UpdateInstance()", s.UpdateInstance(ctx, &upd))
		scribble(upd.WrappedKeyring, upd.WrappedFallbackKey)
		got, err = s.Instance(ctx, in.ProjectID, in.RegionID, in.ID)
		mustOK(t, "Instance()", err)
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("Instance() after mutating the update's slices mismatch (-want +got):\n%s", diff)
		}
	})
}

// keyringFor returns a stand-in for a keyring wrapped under key, or under
// the fallback key when key is nil.
func keyringFor(key *instance.KMSKey) []byte {
	if key == nil {
		return []byte("keyring wrapped under the fallback key")
	}
	return []byte("keyring wrapped under " + key.KeyID)
}

// allBytes returns the 256 byte values, in order.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}
