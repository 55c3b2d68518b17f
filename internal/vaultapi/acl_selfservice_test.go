package vaultapi_test

import (
	"net/http"
	"testing"
)

// TestACLGatesTokenSelfService: once an instance's ACL excludes the client,
// its users' tokens stop working for everything, lookup-self and
// renew-self included, not just for the KV mount.
func TestACLGatesTokenSelfService(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		inst := s.createInstance(t, "acl-self")
		u := s.createUser(t, inst, false)
		c, _ := s.login(t, u)
		if _, err := c.Auth().Token().LookupSelfWithContext(t.Context()); err != nil {
			t.Fatalf("lookup-self inside the ACL: %v", err)
		}
		s.setACLs(t, inst, "10.0.0.0/8")
		if _, err := c.Auth().Token().LookupSelfWithContext(t.Context()); err == nil {
			t.Error("lookup-self from an address outside the ACL succeeded")
		} else {
			responseError(t, err, http.StatusForbidden)
		}
		if _, err := c.Auth().Token().RenewSelfWithContext(t.Context(), 0); err == nil {
			t.Error("renew-self from an address outside the ACL succeeded")
		}
	})
}
