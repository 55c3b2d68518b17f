package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	sm "github.com/stackitcloud/stackit-sdk-go/services/secretsmanager/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/httpapi/smclient"
	"github.com/cofferhq/coffer/internal/iam"
)

// sdkState is everything the API shows of one instance.
type sdkState struct {
	Instance *sm.Instance
	Users    []sm.User
	ACLs     []sm.ACL
}

func (p *sdkProject) state(t *testing.T, inst string) sdkState {
	t.Helper()
	return sdkState{p.getInstance(t, inst), p.listUsers(t, inst), p.listACLs(t, inst)}
}

func sdkACLsPayload(cidrs ...string) sm.UpdateACLsPayload {
	var out sm.UpdateACLsPayload
	for _, c := range cidrs {
		out.Cidrs = append(out.Cidrs, sm.UpdateACLPayload{Cidr: c})
	}
	return out
}

// TestSDKErrors checks that failures reach the SDK as typed errors with the
// right status and a JSON message, and that a failed call changes nothing.
func TestSDKErrors(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p, q := newSDKProject(t, env), newSDKProject(t, env)
		reader := sdkAPI(t, env, env.Token(t, p.id, "reader-"+p.id[:8]+"@example.com", iam.RoleSecretsManagerReader))
		badToken := sdkAPI(t, env, "not-a-jwt")
		noRole := "kms-only-" + p.id[:8] + "@example.com" // a service account of p without a secrets-manager role
		env.Token(t, p.id, noRole, iam.RoleKMSReader)
		keyWith := func(email string) *sm.KmsKeyPayload {
			return &sm.KmsKeyPayload{KeyRingId: p.keys.Ring, KeyId: p.keys.KeyA, KeyVersion: 1, ServiceAccountEmail: email}
		}

		inst := p.createInstance(t, "target", p.key(p.keys.KeyA, 1)).Id
		user := p.createUser(t, inst, "existing", false).Id
		acl := p.createACL(t, inst, "10.0.0.0/24").Id
		p.createACL(t, inst, "10.0.1.0/24")
		full := p.createInstance(t, "full", nil).Id
		for i := range 5 {
			p.createUser(t, full, "u", i%2 == 0)
			p.createACL(t, full, "192.0.2."+string(rune('0'+i))+"/32")
		}
		unknown := uuid.NewString()
		long := strings.Repeat("x", 300)

		type call func(ctx context.Context) error
		cases := []struct {
			name    string
			call    call
			status  int
			wantMsg string // a substring of the message, case-insensitive
		}{
			// 400
			{"CreateACL invalid address", func(ctx context.Context) error {
				_, err := p.api.CreateACL(ctx, p.id, inst).CreateACLPayload(sm.CreateACLPayload{Cidr: "10.0.0.300/24"}).Execute()
				return err
			}, http.StatusBadRequest, "cidr"},
			{"CreateACL without prefix length", func(ctx context.Context) error {
				_, err := p.api.CreateACL(ctx, p.id, inst).CreateACLPayload(sm.CreateACLPayload{Cidr: "10.0.0.1"}).Execute()
				return err
			}, http.StatusBadRequest, "cidr"},
			{"UpdateACL invalid", func(ctx context.Context) error {
				return p.api.UpdateACL(ctx, p.id, inst, acl).UpdateACLPayload(sm.UpdateACLPayload{Cidr: "nonsense"}).Execute()
			}, http.StatusBadRequest, "cidr"},
			{"UpdateACLs one invalid", func(ctx context.Context) error {
				return p.api.UpdateACLs(ctx, p.id, inst).UpdateACLsPayload(sdkACLsPayload("10.9.0.0/16", "2001:db8::zz/64")).Execute()
			}, http.StatusBadRequest, "cidr"},
			{"CreateUser description of 300 chars", func(ctx context.Context) error {
				_, err := p.api.CreateUser(ctx, p.id, inst).CreateUserPayload(sm.CreateUserPayload{Description: long}).Execute()
				return err
			}, http.StatusBadRequest, "description"},
			{"UpdateUser description of 300 chars", func(ctx context.Context) error {
				return p.api.UpdateUser(ctx, p.id, inst, user).UpdateUserPayload(sm.UpdateUserPayload{Description: &long}).Execute()
			}, http.StatusBadRequest, "description"},
			{"CreateInstance invalid name", func(ctx context.Context) error {
				_, err := p.api.CreateInstance(ctx, p.id).CreateInstancePayload(sm.CreateInstancePayload{Name: "no spaces"}).Execute()
				return err
			}, http.StatusBadRequest, "name"},
			{"UpdateInstance keyVersion 0", func(ctx context.Context) error {
				return p.api.UpdateInstance(ctx, p.id, inst).
					UpdateInstancePayload(sm.UpdateInstancePayload{Name: "target", KmsKey: p.key(p.keys.KeyB, 0)}).Execute()
			}, http.StatusBadRequest, "keyVersion"},
			// 401
			{"invalid token", func(ctx context.Context) error { _, err := badToken.ListInstances(ctx, p.id).Execute(); return err }, http.StatusUnauthorized, "token"},
			// 403
			{"token of another project: ListInstances", func(ctx context.Context) error {
				_, err := q.api.ListInstances(ctx, p.id).Execute()
				return err
			}, http.StatusForbidden, "permission denied"},
			{"token of another project: GetInstance", func(ctx context.Context) error {
				_, err := q.api.GetInstance(ctx, p.id, inst).Execute()
				return err
			}, http.StatusForbidden, "permission denied"},
			{"token of another project: DeleteInstance", func(ctx context.Context) error {
				return q.api.DeleteInstance(ctx, p.id, inst).Execute()
			}, http.StatusForbidden, "permission denied"},
			{"token of another project: CreateUser", func(ctx context.Context) error {
				_, err := q.api.CreateUser(ctx, p.id, inst).CreateUserPayload(sm.CreateUserPayload{}).Execute()
				return err
			}, http.StatusForbidden, "permission denied"},
			{"reader: UpdateInstance", func(ctx context.Context) error {
				return reader.UpdateInstance(ctx, p.id, inst).UpdateInstancePayload(sm.UpdateInstancePayload{Name: "x"}).Execute()
			}, http.StatusForbidden, "permission denied"},
			{"reader: DeleteACL", func(ctx context.Context) error { return reader.DeleteACL(ctx, p.id, inst, acl).Execute() }, http.StatusForbidden, "permission denied"},
			{"kmsKey service account without role: create", func(ctx context.Context) error {
				_, err := p.api.CreateInstance(ctx, p.id).CreateInstancePayload(sm.CreateInstancePayload{Name: "k", KmsKey: keyWith(noRole)}).Execute()
				return err
			}, http.StatusForbidden, "serviceAccountEmail"},
			{"kmsKey service account without role: update", func(ctx context.Context) error {
				return p.api.UpdateInstance(ctx, p.id, inst).
					UpdateInstancePayload(sm.UpdateInstancePayload{Name: "target", KmsKey: keyWith(noRole)}).Execute()
			}, http.StatusForbidden, "serviceAccountEmail"},
			{"kmsKey service account of another project", func(ctx context.Context) error {
				_, err := p.api.CreateInstance(ctx, p.id).CreateInstancePayload(sm.CreateInstancePayload{Name: "k", KmsKey: keyWith(q.kmsSA)}).Execute()
				return err
			}, http.StatusForbidden, "serviceAccountEmail"},
			{"kmsKey unknown service account", func(ctx context.Context) error {
				_, err := p.api.CreateInstance(ctx, p.id).CreateInstancePayload(sm.CreateInstancePayload{Name: "k", KmsKey: keyWith("ghost@example.com")}).Execute()
				return err
			}, http.StatusForbidden, "serviceAccountEmail"},
			// 404
			{"GetInstance unknown", func(ctx context.Context) error { _, err := p.api.GetInstance(ctx, p.id, unknown).Execute(); return err }, http.StatusNotFound, "not found"},
			{"UpdateInstance unknown", func(ctx context.Context) error {
				return p.api.UpdateInstance(ctx, p.id, unknown).UpdateInstancePayload(sm.UpdateInstancePayload{Name: "x"}).Execute()
			}, http.StatusNotFound, "not found"},
			{"ListUsers unknown instance", func(ctx context.Context) error { _, err := p.api.ListUsers(ctx, p.id, unknown).Execute(); return err }, http.StatusNotFound, "not found"},
			{"CreateACL unknown instance", func(ctx context.Context) error {
				_, err := p.api.CreateACL(ctx, p.id, unknown).CreateACLPayload(sm.CreateACLPayload{Cidr: "10.0.0.0/8"}).Execute()
				return err
			}, http.StatusNotFound, "not found"},
			{"GetUser unknown user", func(ctx context.Context) error {
				_, err := p.api.GetUser(ctx, p.id, inst, unknown).Execute()
				return err
			}, http.StatusNotFound, "not found"},
			{"UpdateACL unknown acl", func(ctx context.Context) error {
				return p.api.UpdateACL(ctx, p.id, inst, unknown).UpdateACLPayload(sm.UpdateACLPayload{Cidr: "10.0.0.0/8"}).Execute()
			}, http.StatusNotFound, "not found"},
			// 409
			{"6th user", func(ctx context.Context) error {
				_, err := p.api.CreateUser(ctx, p.id, full).CreateUserPayload(sm.CreateUserPayload{Description: "six"}).Execute()
				return err
			}, http.StatusConflict, "limit"},
			{"6th ACL", func(ctx context.Context) error {
				_, err := p.api.CreateACL(ctx, p.id, full).CreateACLPayload(sm.CreateACLPayload{Cidr: "10.0.0.0/8"}).Execute()
				return err
			}, http.StatusConflict, "limit"},
			{"UpdateACLs with 6 cidrs", func(ctx context.Context) error {
				return p.api.UpdateACLs(ctx, p.id, inst).UpdateACLsPayload(
					sdkACLsPayload("10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16", "10.6.0.0/16")).Execute()
			}, http.StatusConflict, "limit"},
		}
		before := map[string]sdkState{inst: p.state(t, inst), full: p.state(t, full)}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				msg := wantAPIError(t, tc.call(t.Context()), tc.status)
				if !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.wantMsg)) {
					t.Errorf("message %q does not mention %q", msg, tc.wantMsg)
				}
			})
		}
		for id, want := range before {
			if diff := cmp.Diff(want, p.state(t, id), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("failed calls changed instance %s (-before +after):\n%s", id, diff)
			}
		}
		if l, err := p.api.ListInstances(t.Context(), p.id).Execute(); err != nil || len(l.Instances) != 2 {
			t.Errorf("ListInstances = %+v, %v; want the 2 instances only", l, err)
		}
		// Positive controls: the reader may read, and limits allow exactly 5.
		if _, err := reader.GetInstance(t.Context(), p.id, inst).Execute(); err != nil {
			t.Errorf("reader GetInstance: %v", err)
		}
		if n := len(before[full].Users); n != 5 || len(before[full].ACLs) != 5 {
			t.Errorf("full instance has %d users and %d ACLs, want 5 and 5", n, len(before[full].ACLs))
		}
	})
}

// TestSDKLimitsHoldUnderConcurrency races more creations than the limits
// allow: exactly the limit succeed and every other call is a 409.
func TestSDKLimitsHoldUnderConcurrency(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newSDKProject(t, env)
		inst := p.createInstance(t, "race", nil).Id
		const n, limit = 12, 5
		for _, kind := range []string{"users", "acls"} {
			errc := make(chan error, n)
			for i := range n {
				go func() {
					var err error
					if kind == "users" {
						_, err = p.api.CreateUser(t.Context(), p.id, inst).CreateUserPayload(sm.CreateUserPayload{Description: "racer"}).Execute()
					} else {
						_, err = p.api.CreateACL(t.Context(), p.id, inst).CreateACLPayload(sm.CreateACLPayload{Cidr: fmt.Sprintf("10.%d.0.0/16", i)}).Execute()
					}
					errc <- err
				}()
			}
			ok := 0
			for range n {
				err := <-errc
				if err == nil {
					ok++
					continue
				}
				wantAPIError(t, err, http.StatusConflict)
			}
			got := len(p.listUsers(t, inst))
			if kind == "acls" {
				got = len(p.listACLs(t, inst))
			}
			if ok != limit || got != limit {
				t.Errorf("%s: %d of %d concurrent creations succeeded and %d exist, want %d", kind, ok, n, got, limit)
			}
		}
	})
}

// TestSDKNULBytesAreBadRequest: a NUL character in a free-text field is
// invalid input on every store. PostgreSQL cannot store it in text columns,
// so it must be rejected before it reaches a store (400, not 500), and
// SQLite must not accept what PostgreSQL refuses.
func TestSDKNULBytesAreBadRequest(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newSDKProject(t, env)
		inst := p.createInstance(t, "nul", nil).Id
		user := p.createUser(t, inst, "before", false)
		nul := "a\x00b"
		key := p.key(p.keys.KeyA, 1)
		key.ServiceAccountEmail = "a\x00b@example.com"
		for _, tc := range []struct {
			name string
			call func(ctx context.Context) error
		}{
			{"CreateUser description", func(ctx context.Context) error {
				_, err := p.api.CreateUser(ctx, p.id, inst).CreateUserPayload(sm.CreateUserPayload{Description: nul}).Execute()
				return err
			}},
			{"UpdateUser description", func(ctx context.Context) error {
				return p.api.UpdateUser(ctx, p.id, inst, user.Id).UpdateUserPayload(sm.UpdateUserPayload{Description: &nul}).Execute()
			}},
			{"kmsKey.serviceAccountEmail", func(ctx context.Context) error {
				_, err := p.api.CreateInstance(ctx, p.id).CreateInstancePayload(sm.CreateInstancePayload{Name: "k", KmsKey: key}).Execute()
				return err
			}},
		} {
			t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.call(t.Context()), http.StatusBadRequest) })
		}
		if got := p.listUsers(t, inst); len(got) != 1 || got[0].Description != "before" {
			t.Errorf("users after rejected calls = %+v, want only the original one", got)
		}
	})
}

// TestSDKKMSKeyRules sends, through the SDK (the v1 form), a kmsKey that
// breaks each kmsKey rule in turn, on create and on update: each call is
// its own 4xx naming the field and the rule, and changes nothing.
func TestSDKKMSKeyRules(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newSDKProject(t, env)
		f := newKMSRuleFixture(t, env, p.id, p.kmsSA, p.keys)
		target := p.createInstance(t, "target", p.key(p.keys.KeyA, 1))
		n := 0
		for _, tc := range f.cases {
			if tc.v2Only() {
				continue
			}
			n++
			t.Run(tc.name, func(t *testing.T) {
				key := &sm.KmsKeyPayload{KeyRingId: tc.ring, KeyId: tc.key, KeyVersion: tc.version, ServiceAccountEmail: tc.sa}
				_, err := p.api.CreateInstance(t.Context(), p.id).
					CreateInstancePayload(sm.CreateInstancePayload{Name: "rejected", KmsKey: key}).Execute()
				if msg := wantAPIError(t, err, tc.status); !strings.Contains(msg, tc.mention) {
					t.Errorf("CreateInstance: message %q does not contain %q", msg, tc.mention)
				}
				err = p.api.UpdateInstance(t.Context(), p.id, target.Id).
					UpdateInstancePayload(sm.UpdateInstancePayload{Name: "rejected", KmsKey: key}).Execute()
				if msg := wantAPIError(t, err, tc.status); !strings.Contains(msg, tc.mention) {
					t.Errorf("UpdateInstance: message %q does not contain %q", msg, tc.mention)
				}
				if diff := cmp.Diff(target, p.getInstance(t, target.Id), sdkInstanceOpts); diff != "" {
					t.Errorf("a rejected update changed the instance (-before +after):\n%s", diff)
				}
			})
		}
		if n < 10 {
			t.Fatalf("only %d v1 cases ran", n)
		}

		// A key of another project, through v1: only an update that keeps
		// the key ring can name it (the key keeps its projectId). The new
		// service account must hold kms.user in the key's project as well.
		granted := "kms-granted-" + p.id[:8] + "@example.com"
		env.Token(t, p.id, granted, iam.RoleSecretsManagerReader)
		env.Token(t, f.elsewhere, granted, iam.RoleKMSUser)
		v2 := v2Client(t, env, p.token)
		cr, err := v2.CreateInstanceV2WithResponse(t.Context(), uuid.MustParse(p.id), apitest.Region,
			smclient.CreateInstancePayloadV2{Name: "foreign", KmsKey: &smclient.KmsKey{ProjectId: new(uuid.MustParse(f.elsewhere)),
				ServiceAccountEmail: granted, KeyRingId: uuid.MustParse(f.foreign.Ring), KeyId: uuid.MustParse(f.foreign.KeyA), KeyVersion: 1}})
		foreign := p.getInstance(t, wantV2Status(t, "CreateInstanceV2 with another project's key", cr, err, http.StatusCreated).JSON201.Id.String())
		t.Run("another project's key without kms.user there", func(t *testing.T) {
			key := *foreign.KmsKey
			key.ServiceAccountEmail = p.kmsSA // secrets-manager.reader here, nothing in elsewhere
			err := p.api.UpdateInstance(t.Context(), p.id, foreign.Id).
				UpdateInstancePayload(sm.UpdateInstancePayload{Name: "foreign", KmsKey: &key}).Execute()
			want := fmt.Sprintf("kmsKey.serviceAccountEmail: %s may not use keys of project %s", p.kmsSA, f.elsewhere)
			if msg := wantAPIError(t, err, http.StatusForbidden); !strings.Contains(msg, want) {
				t.Errorf("message %q does not contain %q", msg, want)
			}
			if diff := cmp.Diff(foreign, p.getInstance(t, foreign.Id), sdkInstanceOpts); diff != "" {
				t.Errorf("a rejected update changed the instance (-before +after):\n%s", diff)
			}
		})
		// Positive control: the granted account may rename it through v1.
		if err := p.api.UpdateInstance(t.Context(), p.id, foreign.Id).
			UpdateInstancePayload(sm.UpdateInstancePayload{Name: "foreign2", KmsKey: foreign.KmsKey}).Execute(); err != nil {
			t.Errorf("v1 rename keeping another project's key: %v", err)
		}

		l, err := p.api.ListInstances(t.Context(), p.id).Execute()
		if err != nil || len(l.Instances) != 2 {
			t.Errorf("ListInstances = %+v, %v; want only the target and the foreign instance", l, err)
		}
	})
}

// TestSDKSwitchAwayFromUnusableKey: an instance whose current key version
// became unusable cannot switch to another key or drop its key (409: the
// old key cannot unwrap the keyring), nor keep it (rule 3, 400); nothing
// changes. Once the key is usable again, the switch works.
func TestSDKSwitchAwayFromUnusableKey(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		for _, b := range kmsBreakages {
			t.Run(b.name, func(t *testing.T) {
				p := newSDKProject(t, env)
				in := p.createInstance(t, "switch", p.key(p.keys.KeyA, 1))
				b.apply(t, env, p.id, p.keys.Ring, p.keys.KeyA, 1)
				for _, tc := range []struct {
					name   string
					key    *sm.KmsKeyPayload
					status int
					want   string
				}{
					{"switch to another key", p.key(p.keys.KeyB, 2), http.StatusConflict, "kmsKey: cannot rewrap"},
					{"remove by omission", nil, http.StatusConflict, "kmsKey: cannot rewrap"},
					{"keep the unusable key", p.key(p.keys.KeyA, 1), http.StatusBadRequest, b.rule3},
				} {
					err := p.api.UpdateInstance(t.Context(), p.id, in.Id).
						UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed", KmsKey: tc.key}).Execute()
					if msg := wantAPIError(t, err, tc.status); !strings.Contains(msg, tc.want) {
						t.Errorf("%s: message %q does not contain %q", tc.name, msg, tc.want)
					}
					if diff := cmp.Diff(in, p.getInstance(t, in.Id), sdkInstanceOpts); diff != "" {
						t.Errorf("%s: the failed update changed the instance (-before +after):\n%s", tc.name, diff)
					}
				}
				b.undo(t, env, p.id, p.keys.Ring, p.keys.KeyA, 1)
				err := p.api.UpdateInstance(t.Context(), p.id, in.Id).
					UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed", KmsKey: p.key(p.keys.KeyB, 2)}).Execute()
				if err != nil {
					t.Fatalf("switch after the key is usable again: %v", err)
				}
				if got := p.getInstance(t, in.Id); got.Name != "renamed" || !cmp.Equal(got.KmsKey, p.key(p.keys.KeyB, 2), sdkInstanceOpts) {
					t.Errorf("after the switch: %+v, want renamed with key B v2", got)
				}
			})
		}
	})
}
