package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	sm "github.com/stackitcloud/stackit-sdk-go/services/secretsmanager/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
)

func (p *sdkProject) createUser(t *testing.T, inst, desc string, write bool) *sm.User {
	t.Helper()
	u, err := p.api.CreateUser(t.Context(), p.id, inst).
		CreateUserPayload(sm.CreateUserPayload{Description: desc, Write: write}).Execute()
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", desc, err)
	}
	return u
}

func (p *sdkProject) getUser(t *testing.T, inst, id string) *sm.User {
	t.Helper()
	u, err := p.api.GetUser(t.Context(), p.id, inst, id).Execute()
	if err != nil {
		t.Fatalf("GetUser(%s): %v", id, err)
	}
	return u
}

func (p *sdkProject) listUsers(t *testing.T, inst string) []sm.User {
	t.Helper()
	l, err := p.api.ListUsers(t.Context(), p.id, inst).Execute()
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	return l.Users
}

func (p *sdkProject) createACL(t *testing.T, inst, cidr string) *sm.ACL {
	t.Helper()
	a, err := p.api.CreateACL(t.Context(), p.id, inst).CreateACLPayload(sm.CreateACLPayload{Cidr: cidr}).Execute()
	if err != nil {
		t.Fatalf("CreateACL(%q): %v", cidr, err)
	}
	return a
}

func (p *sdkProject) listACLs(t *testing.T, inst string) []sm.ACL {
	t.Helper()
	l, err := p.api.ListACLs(t.Context(), p.id, inst).Execute()
	if err != nil {
		t.Fatalf("ListACLs: %v", err)
	}
	return l.Acls
}

// cidrs returns the CIDRs of acls, in order.
func sdkCIDRs(acls []sm.ACL) []string {
	out := make([]string, 0, len(acls))
	for _, a := range acls {
		out = append(out, a.Cidr)
	}
	return out
}

var usersByID = cmpopts.SortSlices(func(a, b sm.User) bool { return a.Id < b.Id })

func TestSDKUsers(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newSDKProject(t, env)
		inst := p.createInstance(t, "users", nil).Id
		other := p.createInstance(t, "other", nil).Id

		created := []*sm.User{p.createUser(t, inst, "ci reader", false), p.createUser(t, inst, "deployer", true),
			p.createUser(t, inst, "", false)}
		seen := map[string]bool{}
		var stored []sm.User // what Get/List must return: the password blanked
		for i, u := range created {
			if err := uuid.Validate(u.Id); err != nil || u.Username == "" || len(u.Password) < 40 {
				t.Errorf("CreateUser #%d = %+v: want a UUID id, a username and a password of >= 40 characters", i, u)
			}
			want := []any{[]string{"ci reader", "deployer", ""}[i], []bool{false, true, false}[i]}
			if diff := cmp.Diff(want, []any{u.Description, u.Write}); diff != "" {
				t.Errorf("CreateUser #%d description/write (-want +got):\n%s", i, diff)
			}
			for _, s := range []string{u.Id, u.Username, u.Password} {
				if seen[s] {
					t.Errorf("CreateUser #%d repeats %q of an earlier user", i, s)
				}
				seen[s] = true
			}
			s := *u
			s.Password = ""
			stored = append(stored, s)
			if diff := cmp.Diff(&s, p.getUser(t, inst, u.Id), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GetUser #%d (-want +got):\n%s", i, diff)
			}
		}
		if diff := cmp.Diff(stored, p.listUsers(t, inst), usersByID, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListUsers (-want +got):\n%s", diff)
		}
		if got := p.listUsers(t, other); len(got) != 0 {
			t.Errorf("ListUsers(other instance) = %+v, want none", got)
		}

		// UpdateUser is a partial update: absent fields stay as they are.
		u := stored[0]
		steps := []struct {
			name  string
			patch sm.UpdateUserPayload
			desc  string
			write bool
		}{
			{"write only", sm.UpdateUserPayload{Write: new(true)}, "ci reader", true},
			{"description only", sm.UpdateUserPayload{Description: new("ci writer")}, "ci writer", true},
			{"both", sm.UpdateUserPayload{Description: new("back to read"), Write: new(false)}, "back to read", false},
			{"empty description", sm.UpdateUserPayload{Description: new("")}, "", false},
			{"nothing", sm.UpdateUserPayload{}, "", false},
		}
		for _, st := range steps {
			if err := p.api.UpdateUser(t.Context(), p.id, inst, u.Id).UpdateUserPayload(st.patch).Execute(); err != nil {
				t.Fatalf("UpdateUser(%s): %v", st.name, err)
			}
			u.Description, u.Write = st.desc, st.write
			if diff := cmp.Diff(&u, p.getUser(t, inst, u.Id), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after UpdateUser(%s) (-want +got):\n%s", st.name, diff)
			}
		}
		stored[0] = u

		if err := p.api.DeleteUser(t.Context(), p.id, inst, u.Id).Execute(); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		_, err := p.api.GetUser(t.Context(), p.id, inst, u.Id).Execute()
		wantAPIError(t, err, http.StatusNotFound)
		wantAPIError(t, p.api.DeleteUser(t.Context(), p.id, inst, u.Id).Execute(), http.StatusNotFound)
		if diff := cmp.Diff(stored[1:], p.listUsers(t, inst), usersByID, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListUsers after delete (-want +got):\n%s", diff)
		}
		// A user is reachable only through its own instance.
		_, err = p.api.GetUser(t.Context(), p.id, other, stored[1].Id).Execute()
		wantAPIError(t, err, http.StatusNotFound)
	})
}

func TestSDKACLs(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := newSDKProject(t, env)
		inst := p.createInstance(t, "acls", nil).Id
		other := p.createInstance(t, "other", nil).Id
		if got := p.listACLs(t, inst); len(got) != 0 {
			t.Fatalf("new instance has ACLs %+v", got)
		}

		in := []string{"10.0.0.0/24", "2001:db8::/32", "192.0.2.1/32", "::1/128"}
		var acls []sm.ACL
		for _, c := range in {
			a := p.createACL(t, inst, c)
			if err := uuid.Validate(a.Id); err != nil || a.Cidr != c {
				t.Errorf("CreateACL(%q) = %+v, want a UUID id and the CIDR", c, a)
			}
			acls = append(acls, *a)
		}
		for _, a := range acls {
			got, err := p.api.GetACL(t.Context(), p.id, inst, a.Id).Execute()
			if err != nil {
				t.Fatalf("GetACL(%s): %v", a.Id, err)
			}
			if diff := cmp.Diff(&a, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GetACL (-want +got):\n%s", diff)
			}
		}
		// The list keeps creation order.
		if diff := cmp.Diff(acls, p.listACLs(t, inst), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListACLs (-want +got):\n%s", diff)
		}
		_, err := p.api.GetACL(t.Context(), p.id, other, acls[0].Id).Execute()
		wantAPIError(t, err, http.StatusNotFound)

		// UpdateACL changes the CIDR in place: same ID, same position.
		err = p.api.UpdateACL(t.Context(), p.id, inst, acls[1].Id).UpdateACLPayload(sm.UpdateACLPayload{Cidr: "fd00::/8"}).Execute()
		if err != nil {
			t.Fatalf("UpdateACL: %v", err)
		}
		acls[1].Cidr = "fd00::/8"
		if diff := cmp.Diff(acls, p.listACLs(t, inst), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListACLs after UpdateACL (-want +got):\n%s", diff)
		}

		if err := p.api.DeleteACL(t.Context(), p.id, inst, acls[2].Id).Execute(); err != nil {
			t.Fatalf("DeleteACL: %v", err)
		}
		_, err = p.api.GetACL(t.Context(), p.id, inst, acls[2].Id).Execute()
		wantAPIError(t, err, http.StatusNotFound)
		wantAPIError(t, p.api.DeleteACL(t.Context(), p.id, inst, acls[2].Id).Execute(), http.StatusNotFound)
		acls = append(acls[:2], acls[3:]...)
		if diff := cmp.Diff(acls, p.listACLs(t, inst), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListACLs after DeleteACL (-want +got):\n%s", diff)
		}

		// UpdateACLs replaces the whole list, in the given order. The SDK
		// sends {} for a nil list and {"cidrs": []} for an empty one.
		for _, tc := range []struct {
			name  string
			cidrs []sm.UpdateACLPayload
			want  []string
		}{
			{"replace", []sm.UpdateACLPayload{{Cidr: "172.16.0.0/12"}, {Cidr: "0.0.0.0/0"}, {Cidr: "::/0"}},
				[]string{"172.16.0.0/12", "0.0.0.0/0", "::/0"}},
			{"exactly the limit", []sm.UpdateACLPayload{{Cidr: "10.1.0.0/16"}, {Cidr: "10.2.0.0/16"}, {Cidr: "10.3.0.0/16"},
				{Cidr: "10.4.0.0/16"}, {Cidr: "10.5.0.0/16"}}, []string{"10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16"}},
			{"replace again", []sm.UpdateACLPayload{{Cidr: "198.51.100.0/24"}}, []string{"198.51.100.0/24"}},
			{"empty list", []sm.UpdateACLPayload{}, []string{}},
			{"refill", []sm.UpdateACLPayload{{Cidr: "10.0.0.0/8"}}, []string{"10.0.0.0/8"}},
			{"nil list", nil, []string{}},
		} {
			old := p.listACLs(t, inst)
			err := p.api.UpdateACLs(t.Context(), p.id, inst).UpdateACLsPayload(sm.UpdateACLsPayload{Cidrs: tc.cidrs}).Execute()
			if err != nil {
				t.Fatalf("UpdateACLs(%s): %v", tc.name, err)
			}
			got := p.listACLs(t, inst)
			if diff := cmp.Diff(tc.want, sdkCIDRs(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ListACLs after UpdateACLs(%s) (-want +got):\n%s", tc.name, diff)
			}
			for _, a := range got {
				if one, err := p.api.GetACL(t.Context(), p.id, inst, a.Id).Execute(); err != nil || one.Cidr != a.Cidr {
					t.Errorf("GetACL(%s) after UpdateACLs(%s) = %+v, %v; want %s", a.Id, tc.name, one, err, a.Cidr)
				}
			}
			for _, a := range old { // the replaced ACLs are gone
				_, err := p.api.GetACL(t.Context(), p.id, inst, a.Id).Execute()
				wantAPIError(t, err, http.StatusNotFound)
			}
		}
		if got := p.listACLs(t, other); len(got) != 0 {
			t.Errorf("ACL changes leaked into another instance: %+v", got)
		}
	})
}
