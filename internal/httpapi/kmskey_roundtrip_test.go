package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	sm "github.com/stackitcloud/stackit-sdk-go/services/secretsmanager/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
)

// TestV1UpdateKeepsKeyProject: a v1 client (whose kmsKey has no projectId)
// that reads an instance and writes its key back to rename it must not move
// the key to the path's project.
func TestV1UpdateKeepsKeyProject(t *testing.T) {
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newV2Project(t, env, "kms-"+uuid.NewString()[:8]+"@example.com")
		elsewhere := uuid.NewString()
		body := `{"name":"a","kmsKey":{"regionId":"eu01","projectId":"` + elsewhere + `","serviceAccountEmail":"` + p.sa +
			`","keyRingId":"` + seedKeyRing + `","keyId":"` + seedKeyA + `","keyVersion":1}}`
		r, err := p.c.CreateInstanceV2WithBodyWithResponse(t.Context(), p.id, apitest.Region, "application/json", strings.NewReader(body))
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
		// A different key ring in the v1 form means the path's project.
		key := *got.KmsKey
		key.KeyRingId = uuid.NewString()
		if err := api.UpdateInstance(t.Context(), p.id.String(), created.Id.String()).
			UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed", KmsKey: &key}).Execute(); err != nil {
			t.Fatal(err)
		}
		if after := p.get(t, created.Id); after.KmsKey.ProjectId != p.id {
			t.Errorf("a new key ring via v1 got projectId %s, want the path's %s", after.KmsKey.ProjectId, p.id)
		}
	})
}
