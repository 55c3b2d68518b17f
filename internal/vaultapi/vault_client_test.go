package vaultapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	vault "github.com/hashicorp/vault/api"
)

// The official Go client (github.com/hashicorp/vault/api) against instance
// mounts: KV v2, token self-service, and the authorization rules.

const (
	msgCASMismatch = "check-and-set parameter did not match the current version"
	msgCASRequired = "check-and-set parameter required for this call"
	msgDenied      = "permission denied"
)

// step runs f as a sequential subtest and stops the test when it fails,
// because later steps build on its state.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

func TestVaultClientKV(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		inst := s.createInstance(t, "kv")
		c, _ := s.login(t, s.createUser(t, inst, true))
		kv := c.KVv2(inst)
		ctx := t.Context()

		step(t, "put and get", func(t *testing.T) {
			start := time.Now().Add(-time.Minute)
			w, err := kv.Put(ctx, "app/db", map[string]any{"user": "alice", "nested": map[string]any{"x": "1", "y": "2"}})
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			vm := w.VersionMetadata
			if vm == nil || vm.Version != 1 || vm.Destroyed || !vm.DeletionTime.IsZero() || vm.CreatedTime.Before(start) {
				t.Fatalf("Put version metadata = %+v, want version 1, live, created now", vm)
			}
			got, err := kv.Get(ctx, "app/db")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			want := map[string]any{"user": "alice", "nested": map[string]any{"x": "1", "y": "2"}}
			if diff := cmp.Diff(want, got.Data); diff != "" {
				t.Errorf("Get data mismatch (-want +got):\n%s", diff)
			}
			if got.VersionMetadata.Version != 1 || !got.VersionMetadata.CreatedTime.Equal(vm.CreatedTime) {
				t.Errorf("Get metadata = %+v, want version 1 created %v", got.VersionMetadata, vm.CreatedTime)
			}
		})

		step(t, "versions", func(t *testing.T) {
			v2 := map[string]any{"user": "bob", "nested": map[string]any{"x": "1", "y": "2"}, "drop": "me"}
			if w, err := kv.Put(ctx, "app/db", v2); err != nil || w.VersionMetadata.Version != 2 {
				t.Fatalf("Put v2 = %+v, %v; want version 2", w, err)
			}
			old, err := kv.GetVersion(ctx, "app/db", 1)
			if err != nil || old.Data["user"] != "alice" || old.VersionMetadata.Version != 1 {
				t.Fatalf("GetVersion(1) = %+v, %v; want alice at version 1", old, err)
			}
			cur, err := kv.Get(ctx, "app/db")
			if err != nil || cur.VersionMetadata.Version != 2 {
				t.Fatalf("Get = %+v, %v; want version 2", cur, err)
			}
			if diff := cmp.Diff(v2, cur.Data); diff != "" {
				t.Errorf("Get data mismatch (-want +got):\n%s", diff)
			}
			if _, err := kv.GetVersion(ctx, "app/db", 9); !errors.Is(err, vault.ErrSecretNotFound) {
				t.Errorf("GetVersion(9) error = %v, want ErrSecretNotFound", err)
			}
		})

		step(t, "patch merges", func(t *testing.T) {
			w, err := kv.Patch(ctx, "app/db", map[string]any{"pw": "p2", "nested": map[string]any{"y": nil, "z": "3"}, "drop": nil})
			if err != nil || w.VersionMetadata.Version != 3 {
				t.Fatalf("Patch = %+v, %v; want version 3", w, err)
			}
			got, err := kv.Get(ctx, "app/db")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"user": "bob", "pw": "p2", "nested": map[string]any{"x": "1", "z": "3"}}
			if diff := cmp.Diff(want, got.Data); diff != "" {
				t.Errorf("data after Patch mismatch (-want +got):\n%s", diff)
			}
			if _, err := kv.Patch(ctx, "app/missing", map[string]any{"a": "1"}); !errors.Is(err, vault.ErrSecretNotFound) {
				t.Errorf("Patch of a missing path error = %v, want ErrSecretNotFound", err)
			}
		})

		step(t, "check-and-set", func(t *testing.T) {
			w, err := kv.Put(ctx, "app/db", map[string]any{"user": "carol"}, vault.WithCheckAndSet(3))
			if err != nil || w.VersionMetadata.Version != 4 {
				t.Fatalf("Put cas=3 = %+v, %v; want version 4", w, err)
			}
			for _, cas := range []int{3, 0, 5} {
				_, err := kv.Put(ctx, "app/db", map[string]any{"user": "mallory"}, vault.WithCheckAndSet(cas))
				re := responseError(t, err, http.StatusBadRequest)
				if diff := cmp.Diff([]string{msgCASMismatch}, re.Errors); diff != "" {
					t.Errorf("Put cas=%d errors mismatch (-want +got):\n%s", cas, diff)
				}
			}
			_, err = kv.Patch(ctx, "app/db", map[string]any{"user": "mallory"}, vault.WithCheckAndSet(1))
			if re := responseError(t, err, http.StatusBadRequest); !slices.Equal(re.Errors, []string{msgCASMismatch}) {
				t.Errorf("Patch cas=1 errors = %q, want %q", re.Errors, msgCASMismatch)
			}
			if w, err := kv.Put(ctx, "app/new", map[string]any{"n": "1"}, vault.WithCheckAndSet(0)); err != nil || w.VersionMetadata.Version != 1 {
				t.Errorf("Put cas=0 on a new path = %+v, %v; want version 1", w, err)
			}
			if got, err := kv.Get(ctx, "app/db"); err != nil || got.Data["user"] != "carol" || got.VersionMetadata.Version != 4 {
				t.Errorf("Get after rejected writes = %+v, %v; want carol at version 4", got, err)
			}
		})

		step(t, "list folders", func(t *testing.T) {
			for _, p := range []string{"app/api/key", "top"} {
				if _, err := kv.Put(ctx, p, map[string]any{"k": "v"}); err != nil {
					t.Fatal(err)
				}
			}
			cases := []struct {
				path string
				want []any // nil: 404, which the client returns as a nil secret
			}{
				{inst + "/metadata/", []any{"app/", "top"}},
				{inst + "/metadata", []any{"app/", "top"}},
				{inst + "/metadata/app", []any{"api/", "db", "new"}},
				{inst + "/metadata/app/", []any{"api/", "db", "new"}},
				{inst + "/metadata/app/api/", []any{"key"}},
				{inst + "/metadata/nope/", nil},
				{inst + "/metadata/top/", nil},
			}
			for _, tc := range cases {
				sec, err := c.Logical().ListWithContext(ctx, tc.path)
				if err != nil {
					t.Errorf("List(%s): %v", tc.path, err)
					continue
				}
				var got []any
				if sec != nil {
					got, _ = sec.Data["keys"].([]any)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("List(%s) keys mismatch (-want +got):\n%s", tc.path, diff)
				}
			}
			if n := s.secretCount(t, inst); n != 4 {
				t.Errorf("secretCount = %d, want 4 (app/db, app/new, app/api/key, top)", n)
			}
		})

		step(t, "soft delete and undelete", func(t *testing.T) {
			if err := kv.Delete(ctx, "app/db"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			// vault/api returns a deleted latest version without error: Data
			// nil and the version's deletion time set (the 404 carries the
			// full envelope).
			got, err := kv.Get(ctx, "app/db")
			if err != nil {
				t.Fatalf("Get of a deleted version: %v, want the version without data", err)
			}
			vm := got.VersionMetadata
			if got.Data != nil || vm == nil || vm.Version != 4 || vm.DeletionTime.IsZero() || vm.Destroyed {
				t.Fatalf("Get of a deleted version = data %v, metadata %+v; want nil data, version 4 deleted", got.Data, vm)
			}
			if _, err := kv.Patch(ctx, "app/db", map[string]any{"a": "1"}); !errors.Is(err, vault.ErrSecretNotFound) {
				t.Errorf("Patch of a deleted latest version error = %v, want ErrSecretNotFound (404)", err)
			}
			if old, err := kv.GetVersion(ctx, "app/db", 3); err != nil || old.Data["pw"] != "p2" {
				t.Errorf("GetVersion(3) after deleting 4 = %+v, %v; want its data", old, err)
			}
			if n := s.secretCount(t, inst); n != 4 {
				t.Errorf("secretCount after soft delete = %d, want 4", n)
			}
			if err := kv.Undelete(ctx, "app/db", []int{4}); err != nil {
				t.Fatalf("Undelete: %v", err)
			}
			got, err = kv.Get(ctx, "app/db")
			if err != nil || got.Data["user"] != "carol" || !got.VersionMetadata.DeletionTime.IsZero() {
				t.Fatalf("Get after Undelete = %+v, %v; want carol, live", got, err)
			}
			if err := kv.DeleteVersions(ctx, "app/db", []int{1}); err != nil {
				t.Fatalf("DeleteVersions: %v", err)
			}
			if old, err := kv.GetVersion(ctx, "app/db", 1); err != nil || old.Data != nil || old.VersionMetadata.DeletionTime.IsZero() {
				t.Errorf("GetVersion(1) after DeleteVersions = %+v, %v; want deleted", old, err)
			}
		})

		step(t, "destroy", func(t *testing.T) {
			if err := kv.Destroy(ctx, "app/db", []int{3}); err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			got, err := kv.GetVersion(ctx, "app/db", 3)
			if err != nil || got.Data != nil || !got.VersionMetadata.Destroyed {
				t.Fatalf("GetVersion(3) after Destroy = %+v, %v; want destroyed without data", got, err)
			}
			if err := kv.Undelete(ctx, "app/db", []int{3}); err != nil {
				t.Fatalf("Undelete of a destroyed version: %v", err)
			}
			if got, err := kv.GetVersion(ctx, "app/db", 3); err != nil || got.Data != nil {
				t.Errorf("GetVersion(3) after undeleting a destroyed version = %+v, %v; want still destroyed", got, err)
			}
			md, err := kv.GetMetadata(ctx, "app/db")
			if err != nil {
				t.Fatalf("GetMetadata: %v", err)
			}
			type vs struct {
				Version            int
				Deleted, Destroyed bool
			}
			var gotVs []vs
			for k, v := range md.Versions {
				if k != json.Number(k).String() || v.Version == 0 {
					t.Errorf("versions[%q] = %+v", k, v)
				}
				gotVs = append(gotVs, vs{v.Version, !v.DeletionTime.IsZero(), v.Destroyed})
			}
			slices.SortFunc(gotVs, func(a, b vs) int { return a.Version - b.Version })
			want := []vs{{1, true, false}, {2, false, false}, {3, false, true}, {4, false, false}}
			if diff := cmp.Diff(want, gotVs); diff != "" {
				t.Errorf("metadata versions mismatch (-want +got):\n%s", diff)
			}
			if md.CurrentVersion != 4 || md.OldestVersion != 0 || md.MaxVersions != 0 || md.CASRequired {
				t.Errorf("metadata = current %d oldest %d max %d cas %v, want 4 0 0 false",
					md.CurrentVersion, md.OldestVersion, md.MaxVersions, md.CASRequired)
			}
		})

		step(t, "metadata", func(t *testing.T) {
			err := kv.PutMetadata(ctx, "app/db", vault.KVMetadataPutInput{MaxVersions: 2, CASRequired: true,
				CustomMetadata: map[string]any{"owner": "team-a", "env": "prod"}})
			if err != nil {
				t.Fatalf("PutMetadata: %v", err)
			}
			_, err = kv.Put(ctx, "app/db", map[string]any{"user": "dave"})
			if re := responseError(t, err, http.StatusBadRequest); !slices.Equal(re.Errors, []string{msgCASRequired}) {
				t.Errorf("Put without cas on a cas_required path: errors %q, want %q", re.Errors, msgCASRequired)
			}
			w, err := kv.Put(ctx, "app/db", map[string]any{"user": "dave"}, vault.WithCheckAndSet(4))
			if err != nil || w.VersionMetadata.Version != 5 {
				t.Fatalf("Put cas=4 = %+v, %v; want version 5", w, err)
			}
			wantCM := map[string]any{"owner": "team-a", "env": "prod"}
			if diff := cmp.Diff(wantCM, w.CustomMetadata); diff != "" {
				t.Errorf("Put custom_metadata mismatch (-want +got):\n%s", diff)
			}
			got, err := kv.Get(ctx, "app/db")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantCM, got.CustomMetadata); diff != "" {
				t.Errorf("Get custom_metadata mismatch (-want +got):\n%s", diff)
			}
			md, err := kv.GetMetadata(ctx, "app/db")
			if err != nil {
				t.Fatal(err)
			}
			if md.MaxVersions != 2 || !md.CASRequired || md.CurrentVersion != 5 || md.OldestVersion != 4 || md.DeleteVersionAfter != 0 {
				t.Errorf("metadata = max %d cas %v current %d oldest %d dva %v, want 2 true 5 4 0",
					md.MaxVersions, md.CASRequired, md.CurrentVersion, md.OldestVersion, md.DeleteVersionAfter)
			}
			if diff := cmp.Diff([]string{"4", "5"}, sortedVersionKeys(md.Versions)); diff != "" {
				t.Errorf("retained versions mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantCM, md.CustomMetadata); diff != "" {
				t.Errorf("metadata custom_metadata mismatch (-want +got):\n%s", diff)
			}
			if _, err := kv.GetVersion(ctx, "app/db", 2); !errors.Is(err, vault.ErrSecretNotFound) {
				t.Errorf("GetVersion(2) after pruning: %v, want ErrSecretNotFound", err)
			}

			no := false
			err = kv.PatchMetadata(ctx, "app/db", vault.KVMetadataPatchInput{CASRequired: &no,
				CustomMetadata: map[string]any{"env": nil, "tier": "gold"}})
			if err != nil {
				t.Fatalf("PatchMetadata: %v", err)
			}
			md, err = kv.GetMetadata(ctx, "app/db")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]any{"owner": "team-a", "tier": "gold"}, md.CustomMetadata); diff != "" {
				t.Errorf("custom_metadata after PatchMetadata mismatch (-want +got):\n%s", diff)
			}
			if md.CASRequired || md.MaxVersions != 2 {
				t.Errorf("after PatchMetadata cas_required %v max_versions %d, want false 2", md.CASRequired, md.MaxVersions)
			}
			if _, err := kv.Put(ctx, "app/db", map[string]any{"user": "erin"}); err != nil {
				t.Errorf("Put without cas after cas_required=false: %v", err)
			}
		})

		step(t, "metadata-only path", func(t *testing.T) {
			if err := kv.PutMetadata(ctx, "meta-only", vault.KVMetadataPutInput{MaxVersions: 3}); err != nil {
				t.Fatalf("PutMetadata of a new path: %v", err)
			}
			md, err := kv.GetMetadata(ctx, "meta-only")
			if err != nil || md.CurrentVersion != 0 || md.MaxVersions != 3 || len(md.Versions) != 0 {
				t.Fatalf("GetMetadata(meta-only) = %+v, %v; want no versions, max 3", md, err)
			}
			if _, err := kv.Get(ctx, "meta-only"); !errors.Is(err, vault.ErrSecretNotFound) {
				t.Errorf("Get(meta-only) error = %v, want ErrSecretNotFound", err)
			}
			if n := s.secretCount(t, inst); n != 5 {
				t.Errorf("secretCount = %d, want 5", n)
			}
		})

		step(t, "delete metadata", func(t *testing.T) {
			if err := kv.DeleteMetadata(ctx, "app/db"); err != nil {
				t.Fatalf("DeleteMetadata: %v", err)
			}
			if _, err := kv.GetMetadata(ctx, "app/db"); !errors.Is(err, vault.ErrSecretNotFound) {
				t.Errorf("GetMetadata after DeleteMetadata error = %v, want ErrSecretNotFound", err)
			}
			if _, err := kv.Get(ctx, "app/db"); !errors.Is(err, vault.ErrSecretNotFound) {
				t.Errorf("Get after DeleteMetadata error = %v, want ErrSecretNotFound", err)
			}
			if _, err := kv.GetVersion(ctx, "app/db", 4); !errors.Is(err, vault.ErrSecretNotFound) {
				t.Errorf("GetVersion(4) after DeleteMetadata error = %v, want ErrSecretNotFound", err)
			}
			if err := kv.DeleteMetadata(ctx, "app/db"); err != nil {
				t.Errorf("DeleteMetadata of a missing path: %v, want no error (204)", err)
			}
			sec, err := c.Logical().ListWithContext(ctx, inst+"/metadata/app")
			if err != nil || sec == nil || !slices.Equal(sec.Data["keys"].([]any), []any{"api/", "new"}) {
				t.Errorf("List(app) after DeleteMetadata = %+v, %v; want [api/ new]", sec, err)
			}
			if n := s.secretCount(t, inst); n != 4 {
				t.Errorf("secretCount = %d, want 4", n)
			}
		})
	})
}

func sortedVersionKeys(m map[string]vault.KVVersionMetadata) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestVaultClientToken(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		inst := s.createInstance(t, "tok")
		ctx := t.Context()
		cases := []struct {
			name   string
			write  bool
			policy string
		}{
			{"write user", true, "sm-write-" + inst},
			{"read user", false, "sm-read-" + inst},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				u := s.createUser(t, inst, tc.write)
				c, login := s.login(t, u)
				a := login.Auth
				if !slices.Contains(a.Policies, tc.policy) || !slices.Contains(a.Policies, "default") ||
					a.Metadata["username"] != u.Username || !a.Renewable || a.LeaseDuration <= 0 || a.LeaseDuration > 900 {
					t.Errorf("login auth = %+v, want policies [default %s], username %s, renewable, 0 < lease <= 900",
						a, tc.policy, u.Username)
				}
				if !strings.HasPrefix(a.ClientToken, "hvs.") || a.Accessor == "" || a.Accessor == a.ClientToken {
					t.Errorf("login token %q accessor %q, want an hvs. token and a separate accessor", a.ClientToken, a.Accessor)
				}

				self, err := c.Auth().Token().LookupSelfWithContext(ctx)
				if err != nil {
					t.Fatalf("LookupSelf: %v", err)
				}
				d := self.Data
				policies, _ := d["policies"].([]any)
				meta, _ := d["meta"].(map[string]any)
				ttl, _ := d["ttl"].(json.Number).Int64()
				if !slices.Contains(policies, any(tc.policy)) || meta["username"] != u.Username ||
					ttl <= 0 || ttl > 900 || d["renewable"] != true || d["id"] != a.ClientToken ||
					d["accessor"] != a.Accessor || d["display_name"] != "userpass-"+u.Username ||
					d["path"] != "auth/userpass/login/"+u.Username {
					t.Errorf("lookup-self data = %v", d)
				}
				if exp, err := time.Parse(time.RFC3339, d["expire_time"].(string)); err != nil ||
					exp.Before(time.Now()) || exp.After(time.Now().Add(901*time.Second)) {
					t.Errorf("expire_time = %v (%v), want within 15 minutes", d["expire_time"], err)
				}

				renewed, err := c.Auth().Token().RenewSelfWithContext(ctx, 60)
				if err != nil {
					t.Fatalf("RenewSelf(60): %v", err)
				}
				if r := renewed.Auth; r == nil || r.ClientToken != a.ClientToken || r.LeaseDuration <= 0 || r.LeaseDuration > 60 {
					t.Errorf("RenewSelf(60) auth = %+v, want the same token with 0 < lease <= 60", r)
				}
				renewed, err = c.Auth().Token().RenewSelfWithContext(ctx, 0)
				if err != nil {
					t.Fatalf("RenewSelf(0): %v", err)
				}
				if r := renewed.Auth; r == nil || r.LeaseDuration <= 60 || r.LeaseDuration > 900 {
					t.Errorf("RenewSelf(0) auth = %+v, want the token's own TTL (<= 900)", r)
				}

				if err := c.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
					t.Fatalf("RevokeSelf: %v", err)
				}
				calls := map[string]func() error{
					"lookup-self": func() error { _, err := c.Auth().Token().LookupSelfWithContext(ctx); return err },
					"renew-self":  func() error { _, err := c.Auth().Token().RenewSelfWithContext(ctx, 0); return err },
					"kv get":      func() error { _, err := c.KVv2(inst).Get(ctx, "x"); return err },
					"kv list": func() error {
						_, err := c.Logical().ListWithContext(ctx, inst+"/metadata/")
						return err
					},
				}
				for name, call := range calls {
					re := responseError(t, call(), http.StatusForbidden)
					if !slices.Equal(re.Errors, []string{msgDenied}) {
						t.Errorf("%s after revoke-self: errors %q, want %q", name, re.Errors, msgDenied)
					}
				}
			})
		}
		t.Run("root token", func(t *testing.T) {
			t.Parallel()
			c := s.client(t, s.rootToken(t))
			self, err := c.Auth().Token().LookupSelfWithContext(ctx)
			if err != nil {
				t.Fatalf("LookupSelf: %v", err)
			}
			d := self.Data
			if p, _ := d["policies"].([]any); !slices.Equal(p, []any{"root"}) || d["ttl"] != json.Number("0") ||
				d["expire_time"] != nil {
				t.Errorf("root lookup-self = %v, want policies [root], ttl 0, expire_time null", d)
			}
			seal, err := c.Sys().SealStatusWithContext(ctx)
			if err != nil || seal.Sealed || !seal.Initialized {
				t.Errorf("SealStatus = %+v, %v; want initialized and unsealed", seal, err)
			}
			if _, err := c.Sys().LeaderWithContext(ctx); err != nil {
				t.Errorf("Leader: %v", err)
			}
		})
	})
}

func TestVaultClientAuthorization(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		ctx := t.Context()
		instA, instB := s.createInstance(t, "a"), s.createInstance(t, "b")
		reader, _ := s.login(t, s.createUser(t, instA, false))
		writerA, _ := s.login(t, s.createUser(t, instA, true))
		writerB, _ := s.login(t, s.createUser(t, instB, true))
		for _, w := range []struct {
			c    *vault.Client
			inst string
		}{{writerA, instA}, {writerB, instB}} {
			if _, err := w.c.KVv2(w.inst).Put(ctx, "shared", map[string]any{"k": "v"}); err != nil {
				t.Fatalf("seed %s: %v", w.inst, err)
			}
		}

		// ops are every KV call of the client against a mount.
		ops := map[string]func(c *vault.Client, mount string) error{
			"get":          func(c *vault.Client, m string) error { _, err := c.KVv2(m).Get(ctx, "shared"); return err },
			"get metadata": func(c *vault.Client, m string) error { _, err := c.KVv2(m).GetMetadata(ctx, "shared"); return err },
			"list": func(c *vault.Client, m string) error {
				_, err := c.Logical().ListWithContext(ctx, m+"/metadata/")
				return err
			},
			"subkeys": func(c *vault.Client, m string) error {
				_, err := c.Logical().ReadWithContext(ctx, m+"/subkeys/shared")
				return err
			},
			"read config": func(c *vault.Client, m string) error {
				_, err := c.Logical().ReadWithContext(ctx, m+"/config")
				return err
			},
			"ui mount": func(c *vault.Client, m string) error {
				_, err := c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+m)
				return err
			},
			"put": func(c *vault.Client, m string) error {
				_, err := c.KVv2(m).Put(ctx, "shared", map[string]any{"k": "x"})
				return err
			},
			"put new": func(c *vault.Client, m string) error {
				_, err := c.KVv2(m).Put(ctx, "fresh", map[string]any{"k": "x"})
				return err
			},
			"patch": func(c *vault.Client, m string) error {
				_, err := c.KVv2(m).Patch(ctx, "shared", map[string]any{"k": "x"})
				return err
			},
			"delete":          func(c *vault.Client, m string) error { return c.KVv2(m).Delete(ctx, "shared") },
			"delete versions": func(c *vault.Client, m string) error { return c.KVv2(m).DeleteVersions(ctx, "shared", []int{1}) },
			"undelete":        func(c *vault.Client, m string) error { return c.KVv2(m).Undelete(ctx, "shared", []int{1}) },
			"destroy":         func(c *vault.Client, m string) error { return c.KVv2(m).Destroy(ctx, "shared", []int{1}) },
			"put metadata": func(c *vault.Client, m string) error {
				return c.KVv2(m).PutMetadata(ctx, "shared", vault.KVMetadataPutInput{MaxVersions: 1})
			},
			"patch metadata": func(c *vault.Client, m string) error {
				return c.KVv2(m).PatchMetadata(ctx, "shared", vault.KVMetadataPatchInput{CustomMetadata: map[string]any{"a": "b"}})
			},
			"delete metadata": func(c *vault.Client, m string) error { return c.KVv2(m).DeleteMetadata(ctx, "shared") },
			"write config": func(c *vault.Client, m string) error {
				_, err := c.Logical().WriteWithContext(ctx, m+"/config", map[string]any{"max_versions": 1})
				return err
			},
		}
		readOps := []string{"get", "get metadata", "list", "subkeys", "read config", "ui mount"}

		t.Run("deny", func(t *testing.T) {
			random := uuid.NewString()
			for name, op := range ops {
				cases := []struct {
					who   string
					c     *vault.Client
					mount string
				}{
					{"writer of A on B", writerA, instB},
					{"writer of A on a random mount", writerA, random},
					{"writer of B on A", writerB, instA},
				}
				if !slices.Contains(readOps, name) {
					cases = append(cases, struct {
						who   string
						c     *vault.Client
						mount string
					}{"reader of A on A", reader, instA})
				}
				for _, tc := range cases {
					t.Run(name+"/"+tc.who, func(t *testing.T) {
						t.Parallel()
						err := op(tc.c, tc.mount)
						if re := responseError(t, err, http.StatusForbidden); !slices.Equal(re.Errors, []string{msgDenied}) {
							t.Errorf("errors = %q, want %q", re.Errors, msgDenied)
						}
					})
				}
			}
		})
		t.Run("reader may read", func(t *testing.T) {
			for _, name := range readOps {
				if err := ops[name](reader, instA); err != nil {
					t.Errorf("%s as reader: %v", name, err)
				}
			}
		})
		t.Run("nothing changed", func(t *testing.T) {
			for _, w := range []struct {
				c    *vault.Client
				inst string
			}{{writerA, instA}, {writerB, instB}} {
				got, err := w.c.KVv2(w.inst).Get(ctx, "shared")
				if err != nil || got.Data["k"] != "v" || got.VersionMetadata.Version != 1 {
					t.Errorf("%s shared = %+v, %v; want k=v at version 1", w.inst, got, err)
				}
				md, err := w.c.KVv2(w.inst).GetMetadata(ctx, "shared")
				if err != nil || len(md.CustomMetadata) != 0 || md.MaxVersions != 0 {
					t.Errorf("%s metadata = %+v, %v; want untouched", w.inst, md, err)
				}
				if n := s.secretCount(t, w.inst); n != 1 {
					t.Errorf("%s secretCount = %d, want 1", w.inst, n)
				}
			}
		})
		t.Run("no existence leak", func(t *testing.T) {
			// Byte for byte, another instance's mount answers like a mount
			// that does not exist.
			tok := writerA.Token()
			random := uuid.NewString()
			reqs := []struct{ method, path, body string }{
				{"GET", "/data/shared", ""},
				{"GET", "/data/nope", ""},
				{"PUT", "/data/shared", `{"data":{"a":"b"}}`},
				{"LIST", "/metadata/", ""},
				{"GET", "/metadata/shared", ""},
				{"DELETE", "/metadata/shared", ""},
				{"POST", "/destroy/shared", `{"versions":[1]}`},
			}
			for _, r := range reqs {
				b := s.vaultReq(t, r.method, "/v1/"+instB+r.path, cliHeaders(tok), r.body)
				n := s.vaultReq(t, r.method, "/v1/"+random+r.path, cliHeaders(tok), r.body)
				if b.status != http.StatusForbidden || b.status != n.status || string(b.body) != string(n.body) {
					t.Errorf("%s %s: other instance %d %s, random mount %d %s; want the same 403",
						r.method, r.path, b.status, b.body, n.status, n.body)
				}
			}
			b := s.vaultReq(t, "GET", "/v1/sys/internal/ui/mounts/"+instB+"/x", cliHeaders(tok), nil)
			n := s.vaultReq(t, "GET", "/v1/sys/internal/ui/mounts/"+random+"/x", cliHeaders(tok), nil)
			if b.status != http.StatusForbidden || b.status != n.status || string(b.body) != string(n.body) {
				t.Errorf("ui mounts: other instance %d %s, random mount %d %s; want the same 403", b.status, b.body, n.status, n.body)
			}
		})
	})
}

func TestVaultClientInstanceACL(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		ctx := t.Context()
		inst := s.createInstance(t, "acl")
		u := s.createUser(t, inst, true)
		c, _ := s.login(t, u)
		kv := c.KVv2(inst)
		if _, err := kv.Put(ctx, "s", map[string]any{"a": "1"}); err != nil {
			t.Fatal(err)
		}
		login := func() error {
			_, err := s.client(t, "").Logical().WriteWithContext(ctx, "auth/userpass/login/"+u.Username,
				map[string]any{"password": u.Password})
			return err
		}
		calls := map[string]func() error{
			"login": login,
			"get":   func() error { _, err := kv.Get(ctx, "s"); return err },
			"put":   func() error { _, err := kv.Put(ctx, "s", map[string]any{"a": "2"}); return err },
			"list":  func() error { _, err := c.Logical().ListWithContext(ctx, inst+"/metadata/"); return err },
			"delete": func() error {
				return kv.Delete(ctx, "s")
			},
			"metadata": func() error { _, err := kv.GetMetadata(ctx, "s"); return err },
		}
		cases := []struct {
			name  string
			cidrs []string
			allow bool
		}{
			{"10.0.0.0/8 locks 127.0.0.1 out", []string{"10.0.0.0/8"}, false},
			{"127.0.0.0/8 lets it in", []string{"10.0.0.0/8", "127.0.0.0/8"}, true},
			{"a single other address", []string{"192.0.2.1/32"}, false},
			{"the client's own address", []string{"127.0.0.1/32"}, true},
			{"IPv6 only", []string{"::1/128"}, false},
			{"no ACLs", nil, true},
		}
		for _, tc := range cases {
			s.setACLs(t, inst, tc.cidrs...)
			for _, name := range []string{"login", "get", "list", "metadata", "put", "delete"} {
				err := calls[name]()
				if tc.allow {
					if err != nil {
						t.Errorf("%s: %s: %v, want allowed", tc.name, name, err)
					}
					continue
				}
				var re *vault.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || !slices.Equal(re.Errors, []string{msgDenied}) {
					t.Errorf("%s: %s error = %v, want 403 %q", tc.name, name, err, msgDenied)
				}
			}
		}
		// Only the three allowed cases wrote (and soft-deleted) versions.
		if md, err := kv.GetMetadata(ctx, "s"); err != nil || md.CurrentVersion != 4 {
			t.Errorf("after the ACL cases: %+v, %v; want current version 4 (1 + three allowed puts)", md, err)
		}
	})
}

func TestVaultClientUserDeleted(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		ctx := t.Context()
		inst := s.createInstance(t, "users")
		gone, stays := s.createUser(t, inst, true), s.createUser(t, inst, false)
		cGone, _ := s.login(t, gone)
		cStays, _ := s.login(t, stays)
		if _, err := cGone.KVv2(inst).Put(ctx, "s", map[string]any{"a": "1"}); err != nil {
			t.Fatal(err)
		}
		s.cpOK(t, http.MethodDelete, "/instances/"+inst+"/users/"+gone.ID, nil, http.StatusNoContent, nil)

		for name, call := range map[string]func() error{
			"get":         func() error { _, err := cGone.KVv2(inst).Get(ctx, "s"); return err },
			"put":         func() error { _, err := cGone.KVv2(inst).Put(ctx, "s", map[string]any{"a": "2"}); return err },
			"lookup-self": func() error { _, err := cGone.Auth().Token().LookupSelfWithContext(ctx); return err },
			"renew-self":  func() error { _, err := cGone.Auth().Token().RenewSelfWithContext(ctx, 0); return err },
		} {
			if re := responseError(t, call(), http.StatusForbidden); !slices.Equal(re.Errors, []string{msgDenied}) {
				t.Errorf("%s with a deleted user's token: errors %q, want %q", name, re.Errors, msgDenied)
			}
		}
		_, err := s.client(t, "").Logical().WriteWithContext(ctx, "auth/userpass/login/"+gone.Username,
			map[string]any{"password": gone.Password})
		if re := responseError(t, err, http.StatusBadRequest); !slices.Equal(re.Errors, []string{"invalid username or password"}) {
			t.Errorf("login of a deleted user: errors %q", re.Errors)
		}
		if got, err := cStays.KVv2(inst).Get(ctx, "s"); err != nil || got.Data["a"] != "1" {
			t.Errorf("the other user's token: %+v, %v; want it to keep working", got, err)
		}
	})
}

// TestVaultClientUserDowngraded turns a write user into a read user. New
// logins get the read policy. The write token issued before keeps its
// policy until it expires, as in Vault, but like Vault's userpass (whose
// renewal fails with "policies have changed, not renewing") it must not be
// renewable into a longer-lived write token.
func TestVaultClientUserDowngraded(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		ctx := t.Context()
		inst := s.createInstance(t, "downgrade")
		u := s.createUser(t, inst, true)
		old, _ := s.login(t, u)
		if _, err := old.KVv2(inst).Put(ctx, "s", map[string]any{"a": "1"}); err != nil {
			t.Fatal(err)
		}
		s.cpOK(t, http.MethodPut, "/instances/"+inst+"/users/"+u.ID, map[string]any{"write": false}, http.StatusOK, nil)

		fresh, login := s.login(t, u)
		if !slices.Contains(login.Auth.Policies, "sm-read-"+inst) || slices.Contains(login.Auth.Policies, "sm-write-"+inst) {
			t.Errorf("login after downgrade: policies %q, want sm-read-%s only", login.Auth.Policies, inst)
		}
		_, err := fresh.KVv2(inst).Put(ctx, "s", map[string]any{"a": "2"})
		responseError(t, err, http.StatusForbidden)

		if _, err := old.Auth().Token().RenewSelfWithContext(ctx, 0); err == nil {
			t.Error("the write token issued before the downgrade was renewed; want the renewal refused (Vault: \"policies have changed, not renewing\")")
		}
	})
}

// TestVaultMountSpelling checks that only the instance ID as the control
// plane returns it names the mount: other spellings of the same UUID are
// no mount (404), even for a root token, so that no secret can be stored
// under a mount name that instance deletion would not remove.
func TestVaultMountSpelling(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		inst := s.createInstance(t, "spelling")
		root := cliHeaders(s.rootToken(t))
		envelopeOf(t, s.vaultReq(t, "PUT", "/v1/"+inst+"/data/x", root, `{"data":{"a":"1"}}`), http.StatusOK)
		for _, m := range []string{strings.ToUpper(inst), "{" + inst + "}", "urn:uuid:" + inst, strings.ReplaceAll(inst, "-", "")} {
			for _, r := range []struct{ method, path, body string }{
				{"PUT", "/data/y", `{"data":{"a":"1"}}`},
				{"GET", "/data/x", ""},
				{"LIST", "/metadata/", ""},
			} {
				got := s.vaultReq(t, r.method, "/v1/"+m+r.path, root, r.body)
				if got.status != http.StatusNotFound {
					t.Errorf("%s /v1/%s%s = %d %s, want 404", r.method, m, r.path, got.status, got.body)
				}
			}
		}
		m := envelopeOf(t, s.vaultReq(t, "LIST", "/v1/"+inst+"/metadata/", root, nil), http.StatusOK)
		if diff := cmp.Diff([]any{"x"}, path(m, "data", "keys")); diff != "" {
			t.Errorf("keys mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestVaultClientInstanceDeleted(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		ctx := t.Context()
		doomed, kept := s.createInstance(t, "doomed"), s.createInstance(t, "kept")
		cD, _ := s.login(t, s.createUser(t, doomed, true))
		cK, _ := s.login(t, s.createUser(t, kept, true))
		for _, p := range []string{"a", "b/c", "d"} {
			if _, err := cD.KVv2(doomed).Put(ctx, p, map[string]any{"v": p}); err != nil {
				t.Fatal(err)
			}
		}
		if err := cD.KVv2(doomed).PutMetadata(ctx, "meta", vault.KVMetadataPutInput{MaxVersions: 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := cK.KVv2(kept).Put(ctx, "k", map[string]any{"v": "k"}); err != nil {
			t.Fatal(err)
		}
		if n := s.secretCount(t, doomed); n != 4 {
			t.Errorf("secretCount before delete = %d, want 4", n)
		}
		if !strings.Contains(s.env.Dump(t), doomed) {
			t.Fatal("the dump does not mention the instance before it is deleted; the check below would prove nothing")
		}

		s.cpOK(t, http.MethodDelete, "/instances/"+doomed, nil, http.StatusNoContent, nil)

		if _, err := cD.KVv2(doomed).Get(ctx, "a"); err == nil {
			t.Error("the deleted instance's token still reads")
		} else if re := responseError(t, err, http.StatusForbidden); !slices.Equal(re.Errors, []string{msgDenied}) {
			t.Errorf("errors %q, want %q", re.Errors, msgDenied)
		}
		root := s.rootToken(t)
		for _, r := range []struct{ method, path string }{{"GET", "/data/a"}, {"LIST", "/metadata/"}, {"GET", "/metadata/a"}} {
			got := s.vaultReq(t, r.method, "/v1/"+doomed+r.path, cliHeaders(root), nil)
			if got.status != http.StatusNotFound {
				t.Errorf("root %s %s on the deleted mount = %d %s, want 404", r.method, r.path, got.status, got.body)
			}
		}
		if got, err := cK.KVv2(kept).Get(ctx, "k"); err != nil || got.Data["v"] != "k" {
			t.Errorf("the other instance: %+v, %v; want it untouched", got, err)
		}
		dump := s.env.Dump(t)
		for _, line := range strings.Split(dump, "\n") {
			if strings.Contains(line, doomed) {
				t.Errorf("a row still names the deleted instance: %s", line)
			}
		}
		if !strings.Contains(dump, kept) {
			t.Error("the dump lost the other instance")
		}
		if st, b := s.cp(t, http.MethodGet, "/instances/"+doomed, nil); st != http.StatusNotFound {
			t.Errorf("control plane GET of the deleted instance = %d %s, want 404", st, b)
		}
	})
}
