// Package storetest implements the conformance suite that every Coffer
// store must pass: the instance, IAM, seal-check, embedded KMS, Vault
// token, KV v2, Vault mount table, transit key and transit endpoint stores, run against a real database
// by each store package's tests.
package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/services"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

// Stores are the stores of one database under test.
type Stores struct {
	Instances instance.Store
	IAM       iam.Store
	SealCheck seal.CheckStore
	KMS       keyservice.Store
	Tokens    token.Store
	KV        kv.Store
	Mounts    mount.Store
	Transit   transit.Store
	Endpoints services.Store
}

// Run runs the suite. open must return the stores of a fresh, migrated,
// empty database, and close it when t ends; it is called once per subtest,
// and subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("Instances", func(t *testing.T) { testInstances(t, open) })
	t.Run("InstanceKeyrings", func(t *testing.T) { testInstanceKeyrings(t, open) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("ACLs", func(t *testing.T) { testACLs(t, open) })
	t.Run("UnknownIDs", func(t *testing.T) { testUnknownIDs(t, open) })
	t.Run("IAM", func(t *testing.T) { testIAM(t, open) })
	t.Run("SealCheck", func(t *testing.T) { testSealCheck(t, open) })
	t.Run("KMS", func(t *testing.T) { testKMS(t, open) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("KV", func(t *testing.T) { testKV(t, open) })
	t.Run("Mounts", func(t *testing.T) { testMounts(t, open) })
	t.Run("Transit", func(t *testing.T) { testTransit(t, open) })
	t.Run("TransitEndpoints", func(t *testing.T) { testEndpoints(t, open) })
}

// base is a time as callers store them: UTC, truncated to the microsecond.
var base = time.Date(2025, 6, 1, 10, 30, 0, 123456000, time.UTC)

// at returns base plus minutes.
func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

var serial atomic.Int64

// unique returns prefix followed by a number unique in this process.
func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, serial.Add(1)) }

func newInstance(projectID, regionID string, created time.Time) *instance.Instance {
	return &instance.Instance{
		ID:                   uuid.NewString(),
		ProjectID:            projectID,
		RegionID:             regionID,
		Name:                 unique("instance"),
		State:                instance.StateActive,
		CreationStartDate:    created,
		CreationFinishedDate: created.Add(1500 * time.Microsecond),
		WrappedKeyring:       []byte("wrapped keyring " + unique("k")),
		WrappedFallbackKey:   []byte("wrapped fallback key " + unique("k")),
	}
}

func newKMSKey() *instance.KMSKey {
	return &instance.KMSKey{
		RegionID:            "eu01",
		ProjectID:           uuid.NewString(),
		ServiceAccountEmail: unique("sa") + "@sa.coffer.local",
		KeyRingID:           uuid.NewString(),
		KeyID:               uuid.NewString(),
		KeyVersion:          3,
	}
}

func newUser(instanceID string, created time.Time) *instance.User {
	return &instance.User{
		ID:           uuid.NewString(),
		InstanceID:   instanceID,
		Username:     unique("user"),
		PasswordHash: []byte("hash of " + unique("password")),
		Write:        true,
		Description:  "a user",
		CreatedAt:    created,
	}
}

func newACL(instanceID, cidr string) *instance.ACL {
	return &instance.ACL{ID: uuid.NewString(), InstanceID: instanceID, CIDR: cidr}
}

// mustCreateInstance creates an instance in a fresh project and region "eu01".
func mustCreateInstance(t *testing.T, s instance.Store) *instance.Instance {
	t.Helper()
	in := newInstance(uuid.NewString(), "eu01", base)
	if err := s.CreateInstance(t.Context(), in); err != nil {
		t.Fatalf("CreateInstance() error = %v", err)
	}
	return in
}

// mustOK fails t when err is not nil.
func mustOK(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s error = %v", op, err)
	}
}

// wantKind fails t unless err is an error of kind want.
func wantKind(t *testing.T, op string, err error, want errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s error = nil, want kind %v", op, want)
	}
	if got := errs.KindOf(err); got != want {
		t.Fatalf("%s error kind = %v, want %v (err: %v)", op, got, want, err)
	}
}

// wantUTC fails t unless every time is in UTC.
func wantUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for _, tm := range times {
		if tm.Location() != time.UTC {
			t.Errorf("%s: time %v has location %v, want UTC", what, tm, tm.Location())
		}
	}
}
