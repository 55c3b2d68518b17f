package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	sm "github.com/stackitcloud/stackit-sdk-go/services/secretsmanager/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
)

// TestV1UpdateKeepsKeyProject: a v1 client (whose kmsKey has no projectId)
// that reads an instance and writes its key back to rename it must not move
// the key to the path's project.
func TestV1UpdateKeepsKeyProject(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newV2Project(t, env, "kms-"+uuid.NewString()[:8]+"@example.com")
		// The key lives in another project, where the service account holds
		// kms.user: without it the key may not be used (below).
		elsewhere := uuid.NewString()
		foreign := env.CreateKMSKeys(t, elsewhere)
		body := func(sa string) string {
			return `{"name":"a","kmsKey":{"regionId":"eu01","projectId":"` + elsewhere + `","serviceAccountEmail":"` + sa +
				`","keyRingId":"` + foreign.Ring + `","keyId":"` + foreign.KeyA + `","keyVersion":1}}`
		}
		noGrant := fmt.Sprintf("kmsKey.serviceAccountEmail: %s may not use keys of project %s", p.sa, elsewhere)
		r, err := p.c.CreateInstanceV2WithBodyWithResponse(t.Context(), p.id, apitest.Region, "application/json",
			strings.NewReader(body(p.sa)))
		wantV2Error(t, "CreateInstanceV2 without kms.user on the key's project", r, err, http.StatusForbidden, noGrant)
		lr, err := p.c.ListInstancesV2WithResponse(t.Context(), p.id, apitest.Region)
		if l := wantV2Status(t, "ListInstancesV2", lr, err, http.StatusOK).JSON200.Instances; len(l) != 0 {
			t.Fatalf("a rejected create left instances %+v", l)
		}

		env.Token(t, elsewhere, p.sa, iam.RoleKMSUser)
		r, err = p.c.CreateInstanceV2WithBodyWithResponse(t.Context(), p.id, apitest.Region, "application/json",
			strings.NewReader(body(p.sa)))
		created := wantV2Status(t, "CreateInstanceV2", r, err, http.StatusCreated).JSON201

		owner := env.Token(t, p.id.String(), "owner-"+p.id.String()[:8]+"@example.com")
		api := sdkAPI(t, env, owner)
		got, err := api.GetInstance(t.Context(), p.id.String(), created.Id.String()).Execute()
		if err != nil {
			t.Fatal(err)
		}
		err = api.UpdateInstance(t.Context(), p.id.String(), created.Id.String()).
			UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed", KmsKey: got.KmsKey}).Execute()
		if err != nil {
			t.Fatalf("v1 UpdateInstance: %v", err)
		}
		after := p.get(t, created.Id)
		if after.Name != "renamed" || after.KmsKey == nil || after.KmsKey.ProjectId.String() != elsewhere {
			t.Fatalf("after a v1 rename the key is %+v, want projectId %s kept", after.KmsKey, elsewhere)
		}

		// The kept projectId is checked like a given one: a service account
		// without kms.user on the key's project is refused, and nothing changes.
		other := "kms-other-" + p.id.String()[:8] + "@example.com"
		env.Token(t, p.id.String(), other, iam.RoleSecretsManagerReader)
		key := *got.KmsKey
		key.ServiceAccountEmail = other
		err = api.UpdateInstance(t.Context(), p.id.String(), created.Id.String()).
			UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed", KmsKey: &key}).Execute()
		want := fmt.Sprintf("kmsKey.serviceAccountEmail: %s may not use keys of project %s", other, elsewhere)
		if msg := wantAPIError(t, err, http.StatusForbidden); !strings.Contains(msg, want) {
			t.Errorf("v1 update with an account without kms.user: message %q does not contain %q", msg, want)
		}
		if diff := cmp.Diff(after, p.get(t, created.Id)); diff != "" {
			t.Errorf("the rejected update changed the instance (-before +after):\n%s", diff)
		}

		// A different key ring in the v1 form means the path's project.
		local := p.keys // a key ring of the path's project
		key = *got.KmsKey
		key.KeyRingId, key.KeyId = local.Ring, local.KeyA
		if err := api.UpdateInstance(t.Context(), p.id.String(), created.Id.String()).
			UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed", KmsKey: &key}).Execute(); err != nil {
			t.Fatal(err)
		}
		if after := p.get(t, created.Id); after.KmsKey.ProjectId != p.id || after.KmsKey.KeyRingId.String() != local.Ring {
			t.Errorf("a new key ring via v1 got projectId %s, key ring %s; want the path's %s and %s",
				after.KmsKey.ProjectId, after.KmsKey.KeyRingId, p.id, local.Ring)
		}
		// So naming the other project's key ring through v1 is a project mismatch.
		key.KeyRingId, key.KeyId = foreign.Ring, foreign.KeyA
		before := p.get(t, created.Id)
		err = api.UpdateInstance(t.Context(), p.id.String(), created.Id.String()).
			UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed", KmsKey: &key}).Execute()
		want = fmt.Sprintf("kmsKey: project mismatch: key ring %s is not in project %s", foreign.Ring, p.id)
		if msg := wantAPIError(t, err, http.StatusBadRequest); !strings.Contains(msg, want) {
			t.Errorf("v1 update naming another project's key ring: message %q does not contain %q", msg, want)
		}
		if diff := cmp.Diff(before, p.get(t, created.Id)); diff != "" {
			t.Errorf("the rejected update changed the instance (-before +after):\n%s", diff)
		}
	})
}
