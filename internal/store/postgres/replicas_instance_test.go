package postgres_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
)

type countingInstances struct {
	instance.Store
	reads atomic.Int64
}

func (s *countingInstances) InstanceByID(ctx context.Context, id string) (*instance.Instance, error) {
	s.reads.Add(1)
	return s.Store.InstanceByID(ctx, id)
}

func (s *countingInstances) ListACLs(ctx context.Context, instanceID string) ([]*instance.ACL, error) {
	s.reads.Add(1)
	return s.Store.ListACLs(ctx, instanceID)
}

// TestReplicasSeeInstanceChanges: the data plane's instance lookups
// (InstanceByID, AllowsAddress) are cache hits on replica B, and B sees A's
// ACL changes, keyring changes and the instance's deletion.
func TestReplicasSeeInstanceChanges(t *testing.T) {
	t.Parallel()
	a, b := newReplicas(t)
	ctx := t.Context()
	bStore := &countingInstances{Store: open(t, b.url).Instances()}
	bSvc := instance.NewService(instance.Config{}, instance.Deps{Store: bStore, Cache: b.bus})
	aStore := open(t, a.url).Instances()

	now := time.Now().UTC().Truncate(time.Microsecond)
	in := &instance.Instance{ID: uuid.NewString(), ProjectID: uuid.NewString(), RegionID: "eu01", Name: "i",
		State: instance.StateActive, CreationStartDate: now, CreationFinishedDate: now,
		WrappedKeyring: []byte("keyring v1"), WrappedFallbackKey: []byte("fallback")}
	if err := aStore.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	inside, outside := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.0.2.7")
	allows := func(addr netip.Addr) bool {
		ok, err := bSvc.AllowsAddress(ctx, in.ID, addr)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	keyring := func() string {
		got, err := bSvc.InstanceByID(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		return string(got.WrappedKeyring)
	}
	if !allows(outside) || keyring() != "keyring v1" {
		t.Fatal("B: a new instance without ACLs is not open, or has another keyring")
	}
	wantHit(t, "B's lookups", &bStore.reads, func() { allows(outside); keyring() })

	// ACLs set on A close B's instance to other addresses.
	if err := aStore.ReplaceACLs(ctx, in.ID, []*instance.ACL{{ID: uuid.NewString(), CIDR: "10.0.0.0/8"}}, 10); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B applies A's ACLs", func() bool { return !allows(outside) && allows(inside) })
	wantHit(t, "B's ACL check", &bStore.reads, func() { allows(inside) })

	// A new keyring (a kmsKey switch) on A.
	in.WrappedKeyring = []byte("keyring v2")
	if err := aStore.UpdateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees A's new keyring", func() bool { return keyring() == "keyring v2" })

	// Deletion on A.
	if err := aStore.DeleteInstance(ctx, in.ProjectID, in.RegionID, in.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees the instance deleted", func() bool {
		_, err := bSvc.InstanceByID(ctx, in.ID)
		return errs.Is(err, errs.NotFound)
	})
}
