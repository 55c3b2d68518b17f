package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
)

// kmsScope is the embedded KMS's scope of project in the test region.
func kmsScope(project string) keyservice.Scope {
	return keyservice.Scope{ProjectID: project, RegionID: apitest.Region}
}

// newAESKey creates another aes_256_gcm key (version 1 only) in ring of
// project and returns its ID.
func newAESKey(t *testing.T, env *apitest.Env, project, ring string) string {
	t.Helper()
	k, err := env.KMS.CreateKey(context.Background(), kmsScope(project), ring, keyservice.KeySpec{DisplayName: "extra",
		Algorithm: keyring.AES256GCM, Purpose: keyring.AES256GCM.Purpose(), Protection: "software"})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return k.ID
}

// kmsBreakage makes a key version of project unusable and can undo it.
type kmsBreakage struct {
	name  string
	apply func(t *testing.T, env *apitest.Env, project, ring, key string, version int64)
	undo  func(t *testing.T, env *apitest.Env, project, ring, key string, version int64)
	rule3 string // what rule 3 answers for a kmsKey naming the broken version
}

// kmsBreakages are the two ways a key version in use can become unusable.
var kmsBreakages = []kmsBreakage{
	{"version disabled",
		func(t *testing.T, env *apitest.Env, project, ring, key string, version int64) {
			t.Helper()
			if err := env.KMS.DisableVersion(context.Background(), kmsScope(project), ring, key, version); err != nil {
				t.Fatalf("DisableVersion: %v", err)
			}
		},
		func(t *testing.T, env *apitest.Env, project, ring, key string, version int64) {
			t.Helper()
			if err := env.KMS.EnableVersion(context.Background(), kmsScope(project), ring, key, version); err != nil {
				t.Fatalf("EnableVersion: %v", err)
			}
		},
		"kmsKey.keyVersion: version 1 is disabled, not active"},
	{"key scheduled for deletion",
		func(t *testing.T, env *apitest.Env, project, ring, key string, _ int64) {
			t.Helper()
			if err := env.KMS.DeleteKey(context.Background(), kmsScope(project), ring, key); err != nil {
				t.Fatalf("DeleteKey: %v", err)
			}
		},
		func(t *testing.T, env *apitest.Env, project, ring, key string, _ int64) {
			t.Helper()
			if err := env.KMS.RestoreKey(context.Background(), kmsScope(project), ring, key); err != nil {
				t.Fatalf("RestoreKey: %v", err)
			}
		},
		"kmsKey.keyId: the key is scheduled for deletion"},
}

// kmsRuleCase is a kmsKey that one of the kmsKey rules (DESIGN.md, "kmsKey
// validation") rejects, with the status and a message excerpt that names
// the field and the rule.
type kmsRuleCase struct {
	name string
	// regionID and projectID are sent only when not empty: the v1 form has
	// neither, so the cases that need them run through v2 only.
	regionID, projectID string
	ring, key           string
	version             int64
	sa                  string
	status              int
	mention             string
}

func (c kmsRuleCase) v2Only() bool { return c.regionID != "" || c.projectID != "" }

// kmsRuleFixture is a project's keys in every state the kmsKey rules tell
// apart, and another project with keys of its own.
type kmsRuleFixture struct {
	keys      apitest.KMSKeys // usable keys of the project
	bad       apitest.KMSKeys // KeyA v1 disabled, KeyB scheduled for deletion
	destroyed string          // an aes_256_gcm key in bad.Ring whose version 1 is destroyed
	elsewhere string          // another project; sa holds no role there
	foreign   apitest.KMSKeys // keys of elsewhere
	noRole    string          // a service account of the project without a secrets-manager role
	cases     []kmsRuleCase
}

// newKMSRuleFixture prepares the key states next to keys (the project's
// usable keys, which it leaves alone) and returns the cases. sa is a
// service account of project that holds secrets-manager.reader.
func newKMSRuleFixture(t *testing.T, env *apitest.Env, project, sa string, keys apitest.KMSKeys) *kmsRuleFixture {
	t.Helper()
	ctx := context.Background()
	f := &kmsRuleFixture{keys: keys, bad: env.CreateKMSKeys(t, project), elsewhere: uuid.NewString(),
		noRole: "kms-user-" + project[:8] + "@example.com"}
	sc := kmsScope(project)
	if err := env.KMS.DisableVersion(ctx, sc, f.bad.Ring, f.bad.KeyA, 1); err != nil {
		t.Fatalf("DisableVersion: %v", err)
	}
	if err := env.KMS.DeleteKey(ctx, sc, f.bad.Ring, f.bad.KeyB); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	f.destroyed = newAESKey(t, env, project, f.bad.Ring)
	if err := env.KMS.DestroyVersion(ctx, sc, f.bad.Ring, f.destroyed, 1); err != nil {
		t.Fatalf("DestroyVersion: %v", err)
	}
	f.foreign = env.CreateKMSKeys(t, f.elsewhere)
	env.Token(t, project, f.noRole, iam.RoleKMSUser) // may use keys, but has no secrets-manager role
	unknown := uuid.NewString()
	bad, reg := http.StatusBadRequest, apitest.Region
	f.cases = []kmsRuleCase{
		// Rule 2: the key ring, key and version exist in kmsKey.projectId.
		{name: "unknown key ring", ring: unknown, key: keys.KeyA, version: 1, sa: sa, status: bad,
			mention: fmt.Sprintf("kmsKey: key ring %s not found in project %s", unknown, project)},
		{name: "key ring of another project", ring: f.foreign.Ring, key: f.foreign.KeyA, version: 1, sa: sa, status: bad,
			mention: fmt.Sprintf("kmsKey: project mismatch: key ring %s is not in project %s", f.foreign.Ring, project)},
		{name: "unknown key", ring: keys.Ring, key: unknown, version: 1, sa: sa, status: bad,
			mention: fmt.Sprintf("kmsKey: key %s not found in key ring %s", unknown, keys.Ring)},
		{name: "key of another key ring", ring: keys.Ring, key: f.bad.SignKey, version: 1, sa: sa, status: bad,
			mention: fmt.Sprintf("kmsKey: key %s not found in key ring %s", f.bad.SignKey, keys.Ring)},
		{name: "unknown version", ring: keys.Ring, key: keys.KeyA, version: 2, sa: sa, status: bad,
			mention: fmt.Sprintf("kmsKey: version 2 of key %s not found", keys.KeyA)},
		// Rule 3: a symmetric key, an active version, a key not being deleted.
		{name: "wrong purpose", ring: keys.Ring, key: keys.SignKey, version: 1, sa: sa, status: bad,
			mention: "kmsKey.keyId: the key's purpose is " + string(keyring.AsymmetricSignVerify)},
		{name: "disabled version", ring: f.bad.Ring, key: f.bad.KeyA, version: 1, sa: sa, status: bad,
			mention: "kmsKey.keyVersion: version 1 is disabled, not active"},
		{name: "destroyed version", ring: f.bad.Ring, key: f.destroyed, version: 1, sa: sa, status: bad,
			mention: "kmsKey.keyVersion: version 1 is destroyed, not active"},
		{name: "key scheduled for deletion", ring: f.bad.Ring, key: f.bad.KeyB, version: 2, sa: sa, status: bad,
			mention: "kmsKey.keyId: the key is scheduled for deletion"},
		// Rule 4: the service account (403).
		{name: "service account without secrets-manager role", ring: keys.Ring, key: keys.KeyA, version: 1, sa: f.noRole,
			status: http.StatusForbidden, mention: "kmsKey.serviceAccountEmail: " + f.noRole + " holds neither"},
		// The rules apply in order.
		{name: "rule 2 before rule 4", ring: unknown, key: keys.KeyA, version: 1, sa: f.noRole, status: bad,
			mention: "kmsKey: key ring " + unknown + " not found"},
		{name: "rule 3 before rule 4", ring: f.bad.Ring, key: f.bad.KeyA, version: 1, sa: f.noRole, status: bad,
			mention: "kmsKey.keyVersion: version 1 is disabled"},

		// v2 only: the region and a key in another project.
		{name: "region mismatch", regionID: "eu02", ring: keys.Ring, key: keys.KeyA, version: 1, sa: sa, status: bad,
			mention: "kmsKey.regionId: region mismatch"},
		{name: "rule 1 before rule 2", regionID: "eu02", ring: unknown, key: unknown, version: 1, sa: sa, status: bad,
			mention: "kmsKey.regionId: region mismatch"},
		{name: "projectId is not the key ring's project", regionID: reg, projectID: f.elsewhere, ring: keys.Ring,
			key: keys.KeyA, version: 1, sa: sa, status: bad,
			mention: fmt.Sprintf("kmsKey: project mismatch: key ring %s is not in project %s", keys.Ring, f.elsewhere)},
		{name: "unknown version in another project", projectID: f.elsewhere, ring: f.foreign.Ring, key: f.foreign.KeyB,
			version: 3, sa: sa, status: bad, mention: fmt.Sprintf("kmsKey: version 3 of key %s not found", f.foreign.KeyB)},
		{name: "wrong purpose in another project", projectID: f.elsewhere, ring: f.foreign.Ring, key: f.foreign.SignKey,
			version: 1, sa: sa, status: bad, mention: "kmsKey.keyId: the key's purpose is"},
		{name: "another project's key without kms.user there", projectID: f.elsewhere, ring: f.foreign.Ring,
			key: f.foreign.KeyA, version: 1, sa: sa, status: http.StatusForbidden,
			mention: fmt.Sprintf("kmsKey.serviceAccountEmail: %s may not use keys of project %s", sa, f.elsewhere)},
		{name: "rule 4 before the key-use rule", projectID: f.elsewhere,
			ring: f.foreign.Ring, key: f.foreign.KeyA, version: 1, sa: f.noRole, status: http.StatusForbidden,
			mention: "kmsKey.serviceAccountEmail: " + f.noRole + " holds neither"},
	}
	return f
}
