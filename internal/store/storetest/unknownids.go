package storetest

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
)

func testUnknownIDs(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		in := mustCreateInstance(t, s)
		u := newUser(in.ID, at(0))
		mustOK(t, "CreateUser()", s.CreateUser(t.Context(), u, 10))
		a := newACL(in.ID, "10.0.0.0/8")
		mustOK(t, "CreateACL()", s.CreateACL(t.Context(), a, 10))

		// Each operation gets an ID that matches nothing: a fresh UUID, or
		// one that is not a UUID at all.
		for _, unknown := range []string{uuid.NewString(), "not-a-uuid"} {
			for _, tc := range notFoundCases(in, u, a, unknown) {
				t.Run(tc.name+"/"+unknown, func(t *testing.T) {
					wantKind(t, tc.name, tc.call(t.Context(), s), errs.NotFound)
				})
			}
		}
	})

	t.Run("MalformedNewIDs", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		s := st.Instances
		in := mustCreateInstance(t, s)
		bad := "not-a-uuid"
		cases := []struct {
			name string
			call func(ctx context.Context) error
		}{
			{"CreateInstance", func(ctx context.Context) error {
				i := newInstance("p1", "eu01", base)
				i.ID = bad
				return s.CreateInstance(ctx, i)
			}},
			{"CreateUser", func(ctx context.Context) error {
				u := newUser(in.ID, base)
				u.ID = bad
				return s.CreateUser(ctx, u, 10)
			}},
			{"CreateACL", func(ctx context.Context) error {
				return s.CreateACL(ctx, newACLWithID(bad, in.ID, "10.0.0.0/8"), 10)
			}},
			{"ReplaceACLs", func(ctx context.Context) error {
				return s.ReplaceACLs(ctx, in.ID, []*instance.ACL{newACLWithID(bad, in.ID, "10.0.0.0/8")}, 10)
			}},
			{"EnsureServiceAccount", func(ctx context.Context) error {
				_, err := st.IAM.EnsureServiceAccount(ctx, &iam.ServiceAccount{ID: bad, Email: "x@sa", ProjectID: "p1", CreatedAt: base})
				return err
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantKind(t, tc.name, tc.call(t.Context()), errs.InvalidArgument)
			})
		}
	})
}

type notFoundCase struct {
	name string
	call func(ctx context.Context, s instance.Store) error
}

// notFoundCases returns every lookup and mutation of instance.Store, each
// aimed at the ID unknown in the scope of the existing in, u and a.
func notFoundCases(in *instance.Instance, u *instance.User, a *instance.ACL, unknown string) []notFoundCase {
	inst := func(id string) *instance.Instance {
		c := *in
		c.ID = id
		return &c
	}
	user := func(instanceID, id string) *instance.User {
		c := *u
		c.InstanceID, c.ID, c.Username = instanceID, id, unique("user")
		return &c
	}
	acl := func(instanceID, id string) *instance.ACL { return newACLWithID(id, instanceID, "0.0.0.0/0") }
	get := func(_ any, err error) error { return err }
	return []notFoundCase{
		{"Instance", func(ctx context.Context, s instance.Store) error {
			return get(s.Instance(ctx, in.ProjectID, in.RegionID, unknown))
		}},
		{"InstanceByID", func(ctx context.Context, s instance.Store) error { return get(s.InstanceByID(ctx, unknown)) }},
		{"UpdateInstance", func(ctx context.Context, s instance.Store) error { return s.UpdateInstance(ctx, inst(unknown)) }},
		{"DeleteInstance", func(ctx context.Context, s instance.Store) error {
			return s.DeleteInstance(ctx, in.ProjectID, in.RegionID, unknown)
		}},
		{"CreateUser/unknown instance", func(ctx context.Context, s instance.Store) error {
			return s.CreateUser(ctx, user(unknown, uuid.NewString()), 10)
		}},
		{"User/unknown instance", func(ctx context.Context, s instance.Store) error { return get(s.User(ctx, unknown, u.ID)) }},
		{"User", func(ctx context.Context, s instance.Store) error { return get(s.User(ctx, in.ID, unknown)) }},
		{"UserByUsername", func(ctx context.Context, s instance.Store) error { return get(s.UserByUsername(ctx, unknown)) }},
		{"ListUsers", func(ctx context.Context, s instance.Store) error { return get(s.ListUsers(ctx, unknown)) }},
		{"UpdateUser/unknown instance", func(ctx context.Context, s instance.Store) error {
			return s.UpdateUser(ctx, user(unknown, u.ID))
		}},
		{"UpdateUser", func(ctx context.Context, s instance.Store) error { return s.UpdateUser(ctx, user(in.ID, unknown)) }},
		{"DeleteUser/unknown instance", func(ctx context.Context, s instance.Store) error {
			return s.DeleteUser(ctx, unknown, u.ID)
		}},
		{"DeleteUser", func(ctx context.Context, s instance.Store) error { return s.DeleteUser(ctx, in.ID, unknown) }},
		{"CreateACL/unknown instance", func(ctx context.Context, s instance.Store) error {
			return s.CreateACL(ctx, acl(unknown, uuid.NewString()), 10)
		}},
		{"ACL/unknown instance", func(ctx context.Context, s instance.Store) error { return get(s.ACL(ctx, unknown, a.ID)) }},
		{"ACL", func(ctx context.Context, s instance.Store) error { return get(s.ACL(ctx, in.ID, unknown)) }},
		{"ListACLs", func(ctx context.Context, s instance.Store) error { return get(s.ListACLs(ctx, unknown)) }},
		{"UpdateACL/unknown instance", func(ctx context.Context, s instance.Store) error {
			return s.UpdateACL(ctx, acl(unknown, a.ID))
		}},
		{"UpdateACL", func(ctx context.Context, s instance.Store) error { return s.UpdateACL(ctx, acl(in.ID, unknown)) }},
		{"ReplaceACLs", func(ctx context.Context, s instance.Store) error {
			return s.ReplaceACLs(ctx, unknown, []*instance.ACL{acl(unknown, uuid.NewString())}, 10)
		}},
		{"DeleteACL/unknown instance", func(ctx context.Context, s instance.Store) error {
			return s.DeleteACL(ctx, unknown, a.ID)
		}},
		{"DeleteACL", func(ctx context.Context, s instance.Store) error { return s.DeleteACL(ctx, in.ID, unknown) }},
	}
}
