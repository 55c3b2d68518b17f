package instance_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
)

func TestLogin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, _ := f.svc.CreateInstance(ctx, sc, instance.Spec{Name: "a"})
	nu, err := f.svc.CreateUser(ctx, sc, in.ID, "d", true)
	if err != nil {
		t.Fatal(err)
	}
	u, gotIn, err := f.svc.Login(ctx, nu.Username, nu.Password)
	if err != nil || u.ID != nu.ID || gotIn.ID != in.ID || !u.Write {
		t.Fatalf("Login = %+v, %+v, %v", u, gotIn, err)
	}
	for name, creds := range map[string][2]string{
		"wrong password": {nu.Username, nu.Password + "x"},
		"unknown user":   {"sm-nobody", nu.Password},
		"empty":          {"", ""},
	} {
		_, _, err := f.svc.Login(ctx, creds[0], creds[1])
		if errs.KindOf(err) != errs.InvalidArgument || errs.Message(err) != "invalid username or password" {
			t.Errorf("%s: Login = %v, want the one 'invalid username or password'", name, err)
		}
	}
}

func TestAllowsAddress(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, _ := f.svc.CreateInstance(ctx, sc, instance.Spec{Name: "a"})
	ip := netip.MustParseAddr
	if ok, err := f.svc.AllowsAddress(ctx, in.ID, ip("203.0.113.9")); err != nil || !ok {
		t.Errorf("no ACLs: allowed = %v, %v; want open", ok, err)
	}
	if err := f.svc.ReplaceACLs(ctx, sc, in.ID, []string{"10.0.0.0/8", "2001:db8::/32"}); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"10.1.2.3": true, "::ffff:10.1.2.3": true, "11.0.0.1": false,
		"2001:db8::1": true, "2001:db9::1": false} {
		if ok, err := f.svc.AllowsAddress(ctx, in.ID, ip(addr)); err != nil || ok != want {
			t.Errorf("AllowsAddress(%s) = %v, %v; want %v", addr, ok, err, want)
		}
	}
}
