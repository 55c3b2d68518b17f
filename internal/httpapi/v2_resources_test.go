package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/httpapi/smclient"
)

// TestV2UsersAndACLs drives user and ACL CRUD through the v2 paths and checks
// STACKIT's irregular status codes.
func TestV2UsersAndACLs(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newV2Project(t, env, "kms@example.com")
		ctx, reg := t.Context(), apitest.Region
		ir, err := p.c.CreateInstanceV2WithResponse(ctx, p.id, reg, smclient.CreateInstancePayloadV2{Name: "v2"})
		inst := wantV2Status(t, "CreateInstanceV2", ir, err, http.StatusCreated).JSON201.Id

		// Users: create 200, get/list 200 without password, update 200, delete 204.
		cr, err := p.c.CreateUserV2WithResponse(ctx, p.id, reg, inst, smclient.CreateUserPayload{Description: "app", Write: true})
		u := *wantV2Status(t, "CreateUserV2", cr, err, http.StatusOK).JSON200
		if u.Username == "" || len(u.Password) < 40 || u.Description != "app" || !u.Write {
			t.Fatalf("CreateUserV2 = %+v, want username, password >= 40 chars, app, write", u)
		}
		u.Password = ""
		gr, err := p.c.GetUserV2WithResponse(ctx, p.id, reg, inst, u.Id)
		if diff := cmp.Diff(&u, wantV2Status(t, "GetUserV2", gr, err, http.StatusOK).JSON200); diff != "" {
			t.Errorf("GetUserV2 (-want +got):\n%s", diff)
		}
		if !jsonHasKey(t, gr.Body, "password") {
			t.Errorf("GetUserV2 body %s lacks the password key the STACKIT SDK requires", gr.Body)
		}
		ur, err := p.c.UpdateUserV2WithResponse(ctx, p.id, reg, inst, u.Id, smclient.UpdateUserPayload{Write: new(false)})
		if wantV2Status(t, "UpdateUserV2", ur, err, http.StatusOK); len(ur.Body) != 0 {
			t.Errorf("UpdateUserV2 body %q, want none", ur.Body)
		}
		u.Write = false
		lr, err := p.c.ListUsersV2WithResponse(ctx, p.id, reg, inst)
		if diff := cmp.Diff([]smclient.User{u}, wantV2Status(t, "ListUsersV2", lr, err, http.StatusOK).JSON200.Users); diff != "" {
			t.Errorf("ListUsersV2 (-want +got):\n%s", diff)
		}
		dr, err := p.c.DeleteUserV2WithResponse(ctx, p.id, reg, inst, u.Id)
		wantV2Status(t, "DeleteUserV2", dr, err, http.StatusNoContent)
		gr, err = p.c.GetUserV2WithResponse(ctx, p.id, reg, inst, u.Id)
		wantV2Error(t, "GetUserV2 after delete", gr, err, http.StatusNotFound, "not found")

		// ACLs: create 201, get/list 200, update 200, bulk 200, delete 204.
		var acls []smclient.ACL
		for _, c := range []string{"10.0.0.0/24", "2001:db8::/48"} {
			ar, err := p.c.CreateACLV2WithResponse(ctx, p.id, reg, inst, smclient.CreateACLPayload{Cidr: c})
			a := wantV2Status(t, "CreateACLV2 "+c, ar, err, http.StatusCreated).JSON201
			if a.Cidr != c {
				t.Errorf("CreateACLV2(%s).Cidr = %s", c, a.Cidr)
			}
			acls = append(acls, *a)
		}
		gar, err := p.c.GetACLV2WithResponse(ctx, p.id, reg, inst, acls[1].Id)
		if diff := cmp.Diff(&acls[1], wantV2Status(t, "GetACLV2", gar, err, http.StatusOK).JSON200); diff != "" {
			t.Errorf("GetACLV2 (-want +got):\n%s", diff)
		}
		uar, err := p.c.UpdateACLV2WithResponse(ctx, p.id, reg, inst, acls[0].Id, smclient.UpdateACLPayload{Cidr: "10.0.0.0/16"})
		if wantV2Status(t, "UpdateACLV2", uar, err, http.StatusOK); len(uar.Body) != 0 {
			t.Errorf("UpdateACLV2 body %q, want none", uar.Body)
		}
		acls[0].Cidr = "10.0.0.0/16"
		listACLs := func(what string) []smclient.ACL {
			t.Helper()
			r, err := p.c.ListACLsV2WithResponse(ctx, p.id, reg, inst)
			return wantV2Status(t, what, r, err, http.StatusOK).JSON200.Acls
		}
		if diff := cmp.Diff(acls, listACLs("ListACLsV2")); diff != "" {
			t.Errorf("ListACLsV2 (-want +got):\n%s", diff)
		}
		dar, err := p.c.DeleteACLV2WithResponse(ctx, p.id, reg, inst, acls[1].Id)
		wantV2Status(t, "DeleteACLV2", dar, err, http.StatusNoContent)
		if diff := cmp.Diff(acls[:1], listACLs("ListACLsV2 after delete")); diff != "" {
			t.Errorf("ListACLsV2 after delete (-want +got):\n%s", diff)
		}
		bulk := []smclient.UpdateACLPayload{{Cidr: "192.0.2.0/24"}, {Cidr: "fd00::/8"}}
		br, err := p.c.UpdateACLsV2WithResponse(ctx, p.id, reg, inst, smclient.UpdateACLsPayload{Cidrs: &bulk})
		wantV2Status(t, "UpdateACLsV2", br, err, http.StatusOK)
		got := listACLs("ListACLsV2 after bulk")
		if len(got) != 2 || got[0].Cidr != "192.0.2.0/24" || got[1].Cidr != "fd00::/8" {
			t.Errorf("ListACLsV2 after bulk = %+v, want 192.0.2.0/24, fd00::/8", got)
		}
		br, err = p.c.UpdateACLsV2WithResponse(ctx, p.id, reg, inst, smclient.UpdateACLsPayload{})
		wantV2Status(t, "UpdateACLsV2 {}", br, err, http.StatusOK)
		if got := listACLs("ListACLsV2 after {}"); len(got) != 0 {
			t.Errorf("ListACLsV2 after {} = %+v, want none", got)
		}
	})
}

func jsonHasKey(t *testing.T, body []byte, key string) bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	_, ok := m[key]
	return ok
}

// TestV1AndV2ShareTheDefaultRegion checks that v1 is v2 in the default
// region: each sees the instances, keys and users the other made.
func TestV1AndV2ShareTheDefaultRegion(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newV2Project(t, env, "kms@example.com")
		ctx, reg := t.Context(), apitest.Region
		ring, keyA, keyB := uuid.MustParse(p.keys.Ring), uuid.MustParse(p.keys.KeyA), uuid.MustParse(p.keys.KeyB)

		r2, err := p.c.CreateInstanceV2WithResponse(ctx, p.id, reg, smclient.CreateInstancePayloadV2{Name: "from-v2",
			KmsKey: &smclient.KmsKey{ServiceAccountEmail: p.sa, KeyRingId: ring, KeyId: keyA, KeyVersion: 1}})
		fromV2 := wantV2Status(t, "CreateInstanceV2", r2, err, http.StatusCreated).JSON201
		r1, err := p.c.CreateInstanceWithResponse(ctx, p.id, smclient.CreateInstancePayload{Name: "from-v1",
			KmsKey: &smclient.KmsKeyPayload{ServiceAccountEmail: p.sa, KeyRingId: ring, KeyId: keyB, KeyVersion: 1}})
		fromV1 := wantV2Status(t, "CreateInstance (v1)", r1, err, http.StatusCreated).JSON201

		// v1 view of the v2 instance: the same, with the four v1 kmsKey fields only.
		g1, err := p.c.GetInstanceWithResponse(ctx, p.id, fromV2.Id)
		if diff := cmp.Diff(asV1(fromV2), wantV2Status(t, "GetInstance (v1) of v2 instance", g1, err, http.StatusOK).JSON200); diff != "" {
			t.Errorf("v1 view of the v2 instance (-want +got):\n%s", diff)
		}
		var raw struct{ KmsKey map[string]any }
		if err := json.Unmarshal(g1.Body, &raw); err != nil || len(raw.KmsKey) != 4 {
			t.Errorf("v1 kmsKey = %v (%v), want exactly the four v1 fields", raw.KmsKey, err)
		}
		// v2 view of the v1 instance: regionId/projectId filled in.
		g2 := p.get(t, fromV1.Id)
		if diff := cmp.Diff(fromV1, asV1(g2)); diff != "" {
			t.Errorf("v2 view of the v1 instance (-v1 +v2):\n%s", diff)
		}
		if k := g2.KmsKey; k == nil || k.RegionId != reg || k.ProjectId != p.id {
			t.Errorf("v2 view of the v1 kmsKey = %+v, want region %s and project %s", k, reg, p.id)
		}

		l1, err := p.c.ListInstancesWithResponse(ctx, p.id)
		l2, err2 := p.c.ListInstancesV2WithResponse(ctx, p.id, reg)
		v1IDs := v2IDSet(wantV2Status(t, "ListInstances (v1)", l1, err, http.StatusOK).JSON200.Instances, func(i smclient.Instance) uuid.UUID { return i.Id })
		v2IDs := v2IDSet(wantV2Status(t, "ListInstancesV2", l2, err2, http.StatusOK).JSON200.Instances, func(i smclient.InstanceV2) uuid.UUID { return i.Id })
		want := map[uuid.UUID]bool{fromV1.Id: true, fromV2.Id: true}
		if !cmp.Equal(want, v1IDs) || !cmp.Equal(want, v2IDs) {
			t.Errorf("v1 lists %v, v2 lists %v; want both %v", v1IDs, v2IDs, want)
		}

		// A user made through v1 is visible through v2 and the other way round.
		cu1, err := p.c.CreateUserWithResponse(ctx, p.id, fromV2.Id, smclient.CreateUserPayload{Description: "v1 user"})
		u1 := wantV2Status(t, "CreateUser (v1)", cu1, err, http.StatusOK).JSON200
		lu2, err := p.c.ListUsersV2WithResponse(ctx, p.id, reg, fromV2.Id)
		if us := wantV2Status(t, "ListUsersV2", lu2, err, http.StatusOK).JSON200.Users; len(us) != 1 || us[0].Id != u1.Id {
			t.Errorf("ListUsersV2 = %+v, want the v1 user %s", us, u1.Id)
		}
		// A v1 update is seen by v2: omitting kmsKey removes it.
		up, err := p.c.UpdateInstanceWithResponse(ctx, p.id, fromV2.Id, smclient.UpdateInstancePayload{Name: "renamed"})
		wantV2Status(t, "UpdateInstance (v1)", up, err, http.StatusCreated)
		if g := p.get(t, fromV2.Id); g.Name != "renamed" || g.KmsKey != nil {
			t.Errorf("v2 after v1 update = %+v, want renamed without kmsKey", g)
		}
		// v1 accepts "kmsKey": null as well.
		for _, body := range []string{
			`{"name": "renamed", "kmsKey": {"serviceAccountEmail": "` + p.sa + `", "keyRingId": "` + p.keys.Ring +
				`", "keyId": "` + p.keys.KeyB + `", "keyVersion": 2}}`,
			`{"name": "renamed", "kmsKey": null}`,
		} {
			up, err := p.c.UpdateInstanceWithBodyWithResponse(ctx, p.id, fromV2.Id, "application/json", strings.NewReader(body))
			wantV2Status(t, "UpdateInstance (v1) "+body, up, err, http.StatusCreated)
			g, err := p.c.GetInstanceWithResponse(ctx, p.id, fromV2.Id)
			k := wantV2Status(t, "GetInstance (v1)", g, err, http.StatusOK).JSON200.KmsKey
			if wantKey := strings.Contains(body, "keyId"); (k != nil) != wantKey || (wantKey && (k.KeyId != keyB || k.KeyVersion != 2)) {
				t.Errorf("after v1 PUT %s: kmsKey %+v", body, k)
			}
		}
		del, err := p.c.DeleteInstanceV2WithResponse(ctx, p.id, reg, fromV1.Id)
		wantV2Status(t, "DeleteInstanceV2 of v1 instance", del, err, http.StatusNoContent)
		g1, err = p.c.GetInstanceWithResponse(ctx, p.id, fromV1.Id)
		wantV2Error(t, "GetInstance (v1) after v2 delete", g1, err, http.StatusNotFound, "not found")
	})
}

// asV1 is the v1 form of a v2 instance.
func asV1(in *smclient.InstanceV2) *smclient.Instance {
	out := &smclient.Instance{Id: in.Id, Name: in.Name, ApiUrl: in.ApiUrl, SecretsEngine: in.SecretsEngine,
		State: in.State, SecretCount: in.SecretCount, CreationStartDate: in.CreationStartDate,
		CreationFinishedDate: in.CreationFinishedDate, UpdateStartDate: in.UpdateStartDate,
		UpdateFinishedDate: in.UpdateFinishedDate}
	if k := in.KmsKey; k != nil {
		out.KmsKey = &smclient.KmsKeyPayload{ServiceAccountEmail: k.ServiceAccountEmail, KeyRingId: k.KeyRingId,
			KeyId: k.KeyId, KeyVersion: k.KeyVersion}
	}
	return out
}

func v2IDSet[T any](list []T, id func(T) uuid.UUID) map[uuid.UUID]bool {
	out := map[uuid.UUID]bool{}
	for _, v := range list {
		out[id(v)] = true
	}
	return out
}
