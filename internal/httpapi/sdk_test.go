package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/stackitcloud/stackit-sdk-go/core/config"
	"github.com/stackitcloud/stackit-sdk-go/core/oapierror"
	sm "github.com/stackitcloud/stackit-sdk-go/services/secretsmanager/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
)

// forEachStoreKind runs f as a parallel subtest per store kind, each on a server
// over a fresh store of that kind.
func forEachStoreKind(t *testing.T, f func(t *testing.T, env *apitest.Env)) {
	t.Helper()
	for _, k := range apitest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			f(t, apitest.Start(t, k))
		})
	}
}

// sdkProject is a project on a test server, driven by the official STACKIT
// SDK with an owner's token.
type sdkProject struct {
	env   *apitest.Env
	id    string
	token string // the owner's bearer token
	api   sm.DefaultAPI
	// kmsSA is a service account of the project holding secrets-manager.reader,
	// which the kmsKey rules accept.
	kmsSA string
	// keys are embedded-KMS keys of the project (the seed's key ring with
	// keys A and B, which the seed names by placeholder UUIDs).
	keys apitest.KMSKeys
}

func newSDKProject(t *testing.T, env *apitest.Env) *sdkProject {
	t.Helper()
	id := uuid.NewString()
	p := &sdkProject{env: env, id: id, kmsSA: "kms-" + id[:8] + "@example.com"}
	p.token = env.Token(t, id, "owner-"+id[:8]+"@example.com", iam.RoleOwner)
	p.api = sdkAPI(t, env, p.token)
	env.Token(t, id, p.kmsSA, iam.RoleSecretsManagerReader)
	p.keys = env.CreateKMSKeys(t, id)
	return p
}

// sdkAPI returns the SDK's API for env.URL, authenticated with tok.
func sdkAPI(t testing.TB, env *apitest.Env, tok string) sm.DefaultAPI {
	t.Helper()
	c, err := sm.NewAPIClient(config.WithEndpoint(env.URL), config.WithToken(tok))
	if err != nil {
		t.Fatalf("NewAPIClient: %v", err)
	}
	return c.DefaultAPI
}

func (p *sdkProject) createInstance(t *testing.T, name string, key *sm.KmsKeyPayload) *sm.Instance {
	t.Helper()
	in, err := p.api.CreateInstance(t.Context(), p.id).
		CreateInstancePayload(sm.CreateInstancePayload{Name: name, KmsKey: key}).Execute()
	if err != nil {
		t.Fatalf("CreateInstance(%q): %v", name, err)
	}
	return in
}

func (p *sdkProject) getInstance(t *testing.T, id string) *sm.Instance {
	t.Helper()
	in, err := p.api.GetInstance(t.Context(), p.id, id).Execute()
	if err != nil {
		t.Fatalf("GetInstance(%s): %v", id, err)
	}
	return in
}

// key is a kmsKey naming version of keyID in the project's key ring.
func (p *sdkProject) key(keyID string, version int64) *sm.KmsKeyPayload {
	return &sm.KmsKeyPayload{KeyRingId: p.keys.Ring, KeyId: keyID, KeyVersion: version, ServiceAccountEmail: p.kmsSA}
}

// wantAPIError checks that err is the SDK's typed error with status want and
// a JSON body {"message": "..."} with a non-empty message, and returns it.
func wantAPIError(t *testing.T, err error, want int) string {
	t.Helper()
	var oe *oapierror.GenericOpenAPIError
	if !errors.As(err, &oe) {
		t.Fatalf("error = %v (%T), want *oapierror.GenericOpenAPIError with status %d", err, err, want)
	}
	if oe.StatusCode != want {
		t.Fatalf("status = %d, want %d (body %s)", oe.StatusCode, want, oe.Body)
	}
	var body struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(oe.Body, &body); err != nil || body.Message == nil || *body.Message == "" {
		t.Fatalf("body = %s (%v), want JSON with a non-empty message", oe.Body, err)
	}
	return *body.Message
}

// sdkParseTime parses an RFC 3339 API timestamp.
func sdkParseTime(t *testing.T, field string, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatalf("%s is missing", field)
	}
	ts, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		t.Fatalf("%s = %q: not RFC 3339: %v", field, *s, err)
	}
	return ts
}

// sdkInstanceOpts compare SDK instances, treating a nil and an empty
// AdditionalProperties alike: any extra property is a difference.
var sdkInstanceOpts = cmp.Options{cmpopts.EquateEmpty()}

func TestSDKInstanceLifecycle(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newSDKProject(t, env)
		before := time.Now().Add(-time.Second)

		plain := p.createInstance(t, "plain", nil)
		keyed := p.createInstance(t, "keyed", p.key(p.keys.KeyA, 1))

		after := time.Now().Add(time.Second)
		for _, c := range []struct {
			got     *sm.Instance
			name    string
			wantKey *sm.KmsKeyPayload
		}{{plain, "plain", nil}, {keyed, "keyed", p.key(p.keys.KeyA, 1)}} {
			want := sm.Instance{Id: c.got.Id, Name: c.name, ApiUrl: "http://vault.test:8200", SecretsEngine: "kv-v2",
				State: "active", SecretCount: 0, KmsKey: c.wantKey, CreationStartDate: c.got.CreationStartDate,
				CreationFinishedDate: c.got.CreationFinishedDate}
			if diff := cmp.Diff(want, *c.got, sdkInstanceOpts); diff != "" {
				t.Errorf("CreateInstance(%q) mismatch (-want +got):\n%s", c.name, diff)
			}
			if err := uuid.Validate(c.got.Id); err != nil {
				t.Errorf("CreateInstance(%q).Id = %q: %v", c.name, c.got.Id, err)
			}
			if ts := sdkParseTime(t, "creationStartDate", &c.got.CreationStartDate); ts.Before(before) || ts.After(after) {
				t.Errorf("creationStartDate = %v, want between %v and %v", ts, before, after)
			}
			if c.got.UpdateStartDate != nil || c.got.UpdateFinishedDate != nil {
				t.Errorf("new instance has update dates %v/%v", c.got.UpdateStartDate, c.got.UpdateFinishedDate)
			}
			if diff := cmp.Diff(c.got, p.getInstance(t, c.got.Id), sdkInstanceOpts); diff != "" {
				t.Errorf("GetInstance differs from CreateInstance (-create +get):\n%s", diff)
			}
		}
		if plain.Id == keyed.Id {
			t.Fatalf("two instances share the ID %s", plain.Id)
		}

		list, err := p.api.ListInstances(t.Context(), p.id).Execute()
		if err != nil {
			t.Fatalf("ListInstances: %v", err)
		}
		byID := cmpopts.SortSlices(func(a, b sm.Instance) bool { return a.Id < b.Id })
		if diff := cmp.Diff([]sm.Instance{*plain, *keyed}, list.Instances, sdkInstanceOpts, byID); diff != "" {
			t.Errorf("ListInstances mismatch (-want +got):\n%s", diff)
		}

		// Rename and switch to another key and version.
		err = p.api.UpdateInstance(t.Context(), p.id, keyed.Id).
			UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed", KmsKey: p.key(p.keys.KeyB, 2)}).Execute()
		if err != nil {
			t.Fatalf("UpdateInstance(rename, switch key): %v", err)
		}
		got := p.getInstance(t, keyed.Id)
		if got.Name != "renamed" || !cmp.Equal(got.KmsKey, p.key(p.keys.KeyB, 2), sdkInstanceOpts) {
			t.Errorf("after update: name %q, kmsKey %+v; want renamed with key %s v2", got.Name, got.KmsKey, p.keys.KeyB)
		}
		start := sdkParseTime(t, "updateStartDate", got.UpdateStartDate)
		finish := sdkParseTime(t, "updateFinishedDate", got.UpdateFinishedDate)
		if created := sdkParseTime(t, "creationStartDate", &got.CreationStartDate); start.Before(created) || finish.Before(start) {
			t.Errorf("dates: created %v, update started %v, finished %v; want them in order", created, start, finish)
		}
		if got.CreationStartDate != keyed.CreationStartDate {
			t.Errorf("update changed creationStartDate %q -> %q", keyed.CreationStartDate, got.CreationStartDate)
		}

		// PUT is a full replace: omitting kmsKey removes it.
		err = p.api.UpdateInstance(t.Context(), p.id, keyed.Id).
			UpdateInstancePayload(sm.UpdateInstancePayload{Name: "renamed"}).Execute()
		if err != nil {
			t.Fatalf("UpdateInstance(no kmsKey): %v", err)
		}
		if got := p.getInstance(t, keyed.Id); got.KmsKey != nil || got.Name != "renamed" || got.UpdateFinishedDate == nil {
			t.Errorf("after update without kmsKey: %+v, want name renamed, no kmsKey, update dates set", got)
		}
		if diff := cmp.Diff(plain, p.getInstance(t, plain.Id), sdkInstanceOpts); diff != "" {
			t.Errorf("updating one instance changed another (-before +after):\n%s", diff)
		}

		if err := p.api.DeleteInstance(t.Context(), p.id, keyed.Id).Execute(); err != nil {
			t.Fatalf("DeleteInstance: %v", err)
		}
		_, err = p.api.GetInstance(t.Context(), p.id, keyed.Id).Execute()
		wantAPIError(t, err, http.StatusNotFound)
		wantAPIError(t, p.api.DeleteInstance(t.Context(), p.id, keyed.Id).Execute(), http.StatusNotFound)
		list, err = p.api.ListInstances(t.Context(), p.id).Execute()
		if err != nil {
			t.Fatalf("ListInstances: %v", err)
		}
		if diff := cmp.Diff([]sm.Instance{*plain}, list.Instances, sdkInstanceOpts); diff != "" {
			t.Errorf("ListInstances after delete (-want +got):\n%s", diff)
		}
	})
}

// TestSDKProjectsAreIsolated checks that a project sees neither the
// instances of another project nor, through its own path, their contents.
func TestSDKProjectsAreIsolated(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		a, b := newSDKProject(t, env), newSDKProject(t, env)
		inA := a.createInstance(t, "in-a", nil)
		if _, err := a.api.CreateUser(t.Context(), a.id, inA.Id).
			CreateUserPayload(sm.CreateUserPayload{Description: "u"}).Execute(); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		list, err := b.api.ListInstances(t.Context(), b.id).Execute()
		if err != nil || len(list.Instances) != 0 {
			t.Fatalf("ListInstances(b) = %+v, %v; want empty", list, err)
		}
		// b's token on b's path, naming a's instance: not found, not leaked.
		calls := map[string]func(ctx context.Context) error{
			"GetInstance": func(ctx context.Context) error { _, err := b.api.GetInstance(ctx, b.id, inA.Id).Execute(); return err },
			"ListUsers":   func(ctx context.Context) error { _, err := b.api.ListUsers(ctx, b.id, inA.Id).Execute(); return err },
			"UpdateInstance": func(ctx context.Context) error {
				return b.api.UpdateInstance(ctx, b.id, inA.Id).UpdateInstancePayload(sm.UpdateInstancePayload{Name: "x"}).Execute()
			},
			"DeleteInstance": func(ctx context.Context) error { return b.api.DeleteInstance(ctx, b.id, inA.Id).Execute() },
		}
		for name, call := range calls {
			t.Run(name, func(t *testing.T) { wantAPIError(t, call(t.Context()), http.StatusNotFound) })
		}
		if diff := cmp.Diff(inA, a.getInstance(t, inA.Id), sdkInstanceOpts); diff != "" {
			t.Errorf("another project's calls changed the instance (-before +after):\n%s", diff)
		}
	})
}
