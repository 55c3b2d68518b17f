package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/httpapi/smclient"
	"github.com/cofferhq/coffer/internal/iam"
)

// seedServiceAccount is the seed's service account email.
const seedServiceAccount = "svc-secrets@customer.example"

// bearer sends tok as the request's bearer token.
func bearer(tok string) smclient.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

// v2Project is a project on a test server, driven by the client generated
// from openapi/secretsmanager.yaml with an owner's token.
type v2Project struct {
	id uuid.UUID
	c  *smclient.ClientWithResponses
	// sa is a service account of the project holding secrets-manager.reader.
	sa string
	// keys are embedded-KMS keys of the project (the seed's key ring with
	// keys A and B, which the seed names by placeholder UUIDs).
	keys apitest.KMSKeys
}

func newV2Project(t *testing.T, env *apitest.Env, sa string) *v2Project {
	t.Helper()
	id := uuid.New()
	tok := env.Token(t, id.String(), "owner-"+id.String()[:8]+"@example.com", iam.RoleOwner)
	env.Token(t, id.String(), sa, iam.RoleSecretsManagerReader)
	return &v2Project{id: id, c: v2Client(t, env, tok), sa: sa, keys: env.CreateKMSKeys(t, id.String())}
}

// v2Client returns the generated client for env.URL, authenticated with tok.
func v2Client(t *testing.T, env *apitest.Env, tok string) *smclient.ClientWithResponses {
	t.Helper()
	c, err := smclient.NewClientWithResponses(env.URL, smclient.WithRequestEditorFn(bearer(tok)))
	if err != nil {
		t.Fatalf("NewClientWithResponses: %v", err)
	}
	return c
}

// v2Result is what every generated response wrapper offers.
type v2Result interface {
	StatusCode() int
	GetBody() []byte
}

// wantV2Status fails t unless the call succeeded at the HTTP level with status
// want, and returns r.
func wantV2Status[R v2Result](t *testing.T, what string, r R, err error, want int) R {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.StatusCode() != want {
		t.Fatalf("%s: status %d, want %d (body %s)", what, r.StatusCode(), want, r.GetBody())
	}
	return r
}

// wantV2Error fails t unless the call answered status with a JSON message
// that contains mention, and returns the message.
func wantV2Error[R v2Result](t *testing.T, what string, r R, err error, status int, mention string) string {
	t.Helper()
	wantV2Status(t, what, r, err, status)
	var body struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.GetBody(), &body); err != nil || body.Message == "" {
		t.Fatalf("%s: body %s (%v), want JSON with a non-empty message", what, r.GetBody(), err)
	}
	if !strings.Contains(body.Message, mention) {
		t.Errorf("%s: message %q does not mention %q", what, body.Message, mention)
	}
	return body.Message
}

func (p *v2Project) get(t *testing.T, inst uuid.UUID) *smclient.InstanceV2 {
	t.Helper()
	r, err := p.c.GetInstanceV2WithResponse(t.Context(), p.id, apitest.Region, inst)
	return wantV2Status(t, "GetInstanceV2", r, err, http.StatusOK).JSON200
}

// seedKMSKey is the seed's kmsKey JSON (all six fields) naming version of
// keyID in the project's key ring.
func (p *v2Project) seedKMSKey(keyID string, version int) string {
	return fmt.Sprintf(`{"regionId": %q, "projectId": %q, "serviceAccountEmail": %q, `+
		`"keyRingId": %q, "keyId": %q, "keyVersion": %d}`, apitest.Region, p.id, p.sa, p.keys.Ring, keyID, version)
}

func (p *v2Project) wantKey(keyID string, version int64) *smclient.KmsKeyV2 {
	return &smclient.KmsKeyV2{RegionId: apitest.Region, ProjectId: p.id, ServiceAccountEmail: p.sa,
		KeyRingId: uuid.MustParse(p.keys.Ring), KeyId: uuid.MustParse(keyID), KeyVersion: version}
}

// TestV2SeedKMSFlow replays the seed's requests: create with a kmsKey,
// switch it, remove it with null and by omission.
func TestV2SeedKMSFlow(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newV2Project(t, env, seedServiceAccount)
		ctx := t.Context()
		const name = "my-secrets-instance"

		r, err := p.c.CreateInstanceV2WithBodyWithResponse(ctx, p.id, apitest.Region, "application/json",
			strings.NewReader(fmt.Sprintf(`{"name": %q, "kmsKey": %s}`, name, p.seedKMSKey(p.keys.KeyA, 1))))
		created := wantV2Status(t, "POST instances", r, err, http.StatusCreated).JSON201
		if created.Name != name || created.State != "active" || created.SecretsEngine != "kv-v2" {
			t.Errorf("created = %+v, want %s, active, kv-v2", created, name)
		}
		if diff := cmp.Diff(p.wantKey(p.keys.KeyA, 1), created.KmsKey); diff != "" {
			t.Errorf("created kmsKey (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(created, p.get(t, created.Id)); diff != "" {
			t.Errorf("GET differs from POST (-post +get):\n%s", diff)
		}

		steps := []struct {
			name string
			body string
			want *smclient.KmsKeyV2
		}{
			{"switch key", p.seedKMSKey(p.keys.KeyB, 2), p.wantKey(p.keys.KeyB, 2)},
			{"null removes", "null", nil},
			{"add again", p.seedKMSKey(p.keys.KeyB, 1), p.wantKey(p.keys.KeyB, 1)},
			{"omitted removes", "", nil},
		}
		for _, st := range steps {
			body := fmt.Sprintf(`{"name": %q, "kmsKey": %s}`, name, st.body)
			if st.body == "" {
				body = fmt.Sprintf(`{"name": %q}`, name)
			}
			r, err := p.c.UpdateInstanceV2WithBodyWithResponse(ctx, p.id, apitest.Region, created.Id,
				"application/json", strings.NewReader(body))
			if wantV2Status(t, "PUT "+st.name, r, err, http.StatusCreated); len(r.Body) != 0 {
				t.Errorf("PUT %s: body %q, want none", st.name, r.Body)
			}
			got := p.get(t, created.Id)
			if diff := cmp.Diff(st.want, got.KmsKey); diff != "" {
				t.Errorf("after PUT %s: kmsKey (-want +got):\n%s", st.name, diff)
			}
			if got.Name != name || got.UpdateStartDate == nil || got.UpdateFinishedDate == nil {
				t.Errorf("after PUT %s: %+v, want name kept and update dates set", st.name, got)
			}
		}

		lr, err := p.c.ListInstancesV2WithResponse(ctx, p.id, apitest.Region)
		if l := wantV2Status(t, "ListInstancesV2", lr, err, http.StatusOK).JSON200.Instances; len(l) != 1 || l[0].Id != created.Id {
			t.Errorf("ListInstancesV2 = %+v, want only %s", l, created.Id)
		}
		dr, err := p.c.DeleteInstanceV2WithResponse(ctx, p.id, apitest.Region, created.Id)
		wantV2Status(t, "DeleteInstanceV2", dr, err, http.StatusNoContent)
		gr, err := p.c.GetInstanceV2WithResponse(ctx, p.id, apitest.Region, created.Id)
		wantV2Error(t, "GetInstanceV2 after delete", gr, err, http.StatusNotFound, "not found")
	})
}

// TestV2KMSKeyDefaults checks that omitted kmsKey.regionId and projectId
// default to the path's, on create and on update.
func TestV2KMSKeyDefaults(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newV2Project(t, env, "kms@example.com")
		// A KMS key may live in another project, whose kms.user the service
		// account then needs.
		elsewhere := uuid.New()
		foreign := env.CreateKMSKeys(t, elsewhere.String())
		env.Token(t, elsewhere.String(), p.sa, iam.RoleKMSUser)
		region := apitest.Region
		cases := []struct {
			name              string
			regionID          *string
			projectID         *uuid.UUID
			wantRegion        string
			wantProjectOfPath bool
		}{
			{"both omitted", nil, nil, apitest.Region, true},
			{"region given", &region, nil, apitest.Region, true},
			{"project given", nil, &elsewhere, apitest.Region, false},
			{"both given", &region, &elsewhere, apitest.Region, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				keys, project := foreign, elsewhere
				if tc.wantProjectOfPath {
					keys, project = p.keys, p.id
				}
				key := &smclient.KmsKey{RegionId: tc.regionID, ProjectId: tc.projectID, ServiceAccountEmail: p.sa,
					KeyRingId: uuid.MustParse(keys.Ring), KeyId: uuid.MustParse(keys.KeyB), KeyVersion: 1}
				want := &smclient.KmsKeyV2{RegionId: tc.wantRegion, ProjectId: project, ServiceAccountEmail: p.sa,
					KeyRingId: key.KeyRingId, KeyId: key.KeyId, KeyVersion: 1}
				r, err := p.c.CreateInstanceV2WithResponse(t.Context(), p.id, apitest.Region,
					smclient.CreateInstancePayloadV2{Name: "defaults", KmsKey: key})
				in := wantV2Status(t, "CreateInstanceV2", r, err, http.StatusCreated).JSON201
				if diff := cmp.Diff(want, in.KmsKey); diff != "" {
					t.Errorf("created kmsKey (-want +got):\n%s", diff)
				}
				key.KeyVersion = 2
				want.KeyVersion = 2
				ur, err := p.c.UpdateInstanceV2WithResponse(t.Context(), p.id, apitest.Region, in.Id,
					smclient.UpdateInstancePayloadV2{Name: "defaults", KmsKey: key})
				wantV2Status(t, "UpdateInstanceV2", ur, err, http.StatusCreated)
				if diff := cmp.Diff(want, p.get(t, in.Id).KmsKey); diff != "" {
					t.Errorf("updated kmsKey (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// TestV2Errors checks the region rules and the service-account rule.
func TestV2Errors(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newV2Project(t, env, "kms@example.com")
		noRole := "no-role@example.com"
		env.Token(t, p.id.String(), noRole, iam.RoleKMSUser)
		ctx := t.Context()
		key := func(region, email string) *smclient.KmsKey {
			return &smclient.KmsKey{RegionId: &region, ServiceAccountEmail: email,
				KeyRingId: uuid.MustParse(p.keys.Ring), KeyId: uuid.MustParse(p.keys.KeyA), KeyVersion: 1}
		}
		r, err := p.c.CreateInstanceV2WithResponse(ctx, p.id, apitest.Region,
			smclient.CreateInstancePayloadV2{Name: "target", KmsKey: key(apitest.Region, p.sa)})
		inst := wantV2Status(t, "CreateInstanceV2", r, err, http.StatusCreated).JSON201

		for _, tc := range []struct {
			name, region string
			key          *smclient.KmsKey
			status       int
			mention      string
		}{
			{"region mismatch", apitest.Region, key("eu02", p.sa), http.StatusBadRequest, "kmsKey.regionId"},
			{"unknown path region", "eu99", nil, http.StatusBadRequest, "regionId"},
			{"malformed path region", "EU_01", nil, http.StatusBadRequest, "regionId"},
			{"service account without role", apitest.Region, key(apitest.Region, noRole), http.StatusForbidden, "kmsKey.serviceAccountEmail"},
			{"unknown service account", apitest.Region, key(apitest.Region, "ghost@example.com"), http.StatusForbidden, "kmsKey.serviceAccountEmail"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cr, err := p.c.CreateInstanceV2WithResponse(ctx, p.id, tc.region,
					smclient.CreateInstancePayloadV2{Name: "rejected", KmsKey: tc.key})
				wantV2Error(t, "CreateInstanceV2", cr, err, tc.status, tc.mention)
				ur, err := p.c.UpdateInstanceV2WithResponse(ctx, p.id, tc.region, inst.Id,
					smclient.UpdateInstancePayloadV2{Name: "rejected", KmsKey: tc.key})
				wantV2Error(t, "UpdateInstanceV2", ur, err, tc.status, tc.mention)
			})
		}
		for _, region := range []string{"eu99", "EU_01"} {
			gr, err := p.c.GetInstanceV2WithResponse(ctx, p.id, region, inst.Id)
			wantV2Error(t, "GetInstanceV2 in "+region, gr, err, http.StatusBadRequest, "regionId")
			lr, err := p.c.ListInstancesV2WithResponse(ctx, p.id, region)
			wantV2Error(t, "ListInstancesV2 in "+region, lr, err, http.StatusBadRequest, "regionId")
			dr, err := p.c.DeleteInstanceV2WithResponse(ctx, p.id, region, inst.Id)
			wantV2Error(t, "DeleteInstanceV2 in "+region, dr, err, http.StatusBadRequest, "regionId")
		}
		if diff := cmp.Diff(inst, p.get(t, inst.Id)); diff != "" {
			t.Errorf("rejected calls changed the instance (-before +after):\n%s", diff)
		}
		lr, err := p.c.ListInstancesV2WithResponse(ctx, p.id, apitest.Region)
		if l := wantV2Status(t, "ListInstancesV2", lr, err, http.StatusOK).JSON200.Instances; len(l) != 1 {
			t.Errorf("ListInstancesV2 = %+v, want only the target instance", l)
		}
	})
}

// v2Key is tc's kmsKey in the v2 form.
func (tc kmsRuleCase) v2Key() *smclient.KmsKey {
	k := &smclient.KmsKey{ServiceAccountEmail: tc.sa, KeyRingId: uuid.MustParse(tc.ring), KeyId: uuid.MustParse(tc.key),
		KeyVersion: tc.version}
	if tc.regionID != "" {
		k.RegionId = &tc.regionID
	}
	if tc.projectID != "" {
		k.ProjectId = new(uuid.MustParse(tc.projectID))
	}
	return k
}

// TestV2KMSKeyRules sends, through the generated v2 client, a kmsKey that
// breaks each kmsKey rule in turn, on create and on update: each call is its
// own 4xx naming the field and the rule, and changes nothing.
func TestV2KMSKeyRules(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newV2Project(t, env, "kms@example.com")
		f := newKMSRuleFixture(t, env, p.id.String(), p.sa, p.keys)
		ctx := t.Context()
		r, err := p.c.CreateInstanceV2WithResponse(ctx, p.id, apitest.Region, smclient.CreateInstancePayloadV2{Name: "target",
			KmsKey: &smclient.KmsKey{ServiceAccountEmail: p.sa, KeyRingId: uuid.MustParse(p.keys.Ring),
				KeyId: uuid.MustParse(p.keys.KeyA), KeyVersion: 1}})
		target := wantV2Status(t, "CreateInstanceV2", r, err, http.StatusCreated).JSON201
		for _, tc := range f.cases {
			t.Run(tc.name, func(t *testing.T) {
				cr, err := p.c.CreateInstanceV2WithResponse(ctx, p.id, apitest.Region,
					smclient.CreateInstancePayloadV2{Name: "rejected", KmsKey: tc.v2Key()})
				wantV2Error(t, "CreateInstanceV2", cr, err, tc.status, tc.mention)
				ur, err := p.c.UpdateInstanceV2WithResponse(ctx, p.id, apitest.Region, target.Id,
					smclient.UpdateInstancePayloadV2{Name: "rejected", KmsKey: tc.v2Key()})
				wantV2Error(t, "UpdateInstanceV2", ur, err, tc.status, tc.mention)
				if diff := cmp.Diff(target, p.get(t, target.Id)); diff != "" {
					t.Errorf("a rejected update changed the instance (-before +after):\n%s", diff)
				}
			})
		}
		lr, err := p.c.ListInstancesV2WithResponse(ctx, p.id, apitest.Region)
		if l := wantV2Status(t, "ListInstancesV2", lr, err, http.StatusOK).JSON200.Instances; len(l) != 1 {
			t.Errorf("ListInstancesV2 = %+v, want only the target instance", l)
		}
		// Positive control: with kms.user on the other project, its key is accepted.
		env.Token(t, f.elsewhere, p.sa, iam.RoleKMSUser)
		ok := kmsRuleCase{projectID: f.elsewhere, ring: f.foreign.Ring, key: f.foreign.KeyA, version: 1, sa: p.sa}
		cr, err := p.c.CreateInstanceV2WithResponse(ctx, p.id, apitest.Region,
			smclient.CreateInstancePayloadV2{Name: "foreign", KmsKey: ok.v2Key()})
		if k := wantV2Status(t, "CreateInstanceV2 after the grant", cr, err, http.StatusCreated).JSON201.KmsKey; k == nil ||
			k.ProjectId.String() != f.elsewhere {
			t.Errorf("created kmsKey %+v, want projectId %s", k, f.elsewhere)
		}
	})
}

// TestV2SwitchAwayFromUnusableKey: an instance whose current key version
// became unusable can neither switch its key nor drop it (null or omitted):
// 409, as the old key cannot unwrap the keyring; keeping it breaks rule 3
// (400). Nothing changes. Once the key is usable again, the switch works.
func TestV2SwitchAwayFromUnusableKey(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		for _, b := range kmsBreakages {
			t.Run(b.name, func(t *testing.T) {
				p := newV2Project(t, env, "kms-"+uuid.NewString()[:8]+"@example.com")
				ctx := t.Context()
				r, err := p.c.CreateInstanceV2WithBodyWithResponse(ctx, p.id, apitest.Region, "application/json",
					strings.NewReader(`{"name": "switch", "kmsKey": `+p.seedKMSKey(p.keys.KeyA, 1)+`}`))
				in := wantV2Status(t, "CreateInstanceV2", r, err, http.StatusCreated).JSON201
				b.apply(t, env, p.id.String(), p.keys.Ring, p.keys.KeyA, 1)
				for _, tc := range []struct {
					name, body string
					status     int
					want       string
				}{
					{"switch to another key", `{"name": "renamed", "kmsKey": ` + p.seedKMSKey(p.keys.KeyB, 2) + `}`,
						http.StatusConflict, "kmsKey: cannot rewrap"},
					{"null removes", `{"name": "renamed", "kmsKey": null}`, http.StatusConflict, "kmsKey: cannot rewrap"},
					{"omitted removes", `{"name": "renamed"}`, http.StatusConflict, "kmsKey: cannot rewrap"},
					{"keep the unusable key", `{"name": "renamed", "kmsKey": ` + p.seedKMSKey(p.keys.KeyA, 1) + `}`,
						http.StatusBadRequest, b.rule3},
				} {
					ur, err := p.c.UpdateInstanceV2WithBodyWithResponse(ctx, p.id, apitest.Region, in.Id, "application/json",
						strings.NewReader(tc.body))
					wantV2Error(t, "PUT "+tc.name, ur, err, tc.status, tc.want)
					if diff := cmp.Diff(in, p.get(t, in.Id)); diff != "" {
						t.Errorf("PUT %s: the failed update changed the instance (-before +after):\n%s", tc.name, diff)
					}
				}
				b.undo(t, env, p.id.String(), p.keys.Ring, p.keys.KeyA, 1)
				ur, err := p.c.UpdateInstanceV2WithBodyWithResponse(ctx, p.id, apitest.Region, in.Id, "application/json",
					strings.NewReader(`{"name": "renamed", "kmsKey": null}`))
				wantV2Status(t, "PUT null after the key is usable again", ur, err, http.StatusCreated)
				if got := p.get(t, in.Id); got.Name != "renamed" || got.KmsKey != nil {
					t.Errorf("after removing the key: %+v, want renamed without kmsKey", got)
				}
			})
		}
	})
}
