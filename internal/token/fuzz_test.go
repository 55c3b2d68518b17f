package token_test

import (
	"bytes"
	"context"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
)

// refMatch is an independent matcher for a valid pattern: each "+" segment
// becomes [^/]* and a trailing "*" becomes .*, everything else is literal.
func refMatch(t *testing.T, pattern, path string) bool {
	body, glob := strings.CutSuffix(pattern, "*")
	segs := strings.Split(body, "/")
	for i, s := range segs {
		if s == "+" {
			segs[i] = "[^/]*"
		} else {
			segs[i] = regexp.QuoteMeta(s)
		}
	}
	expr := strings.Join(segs, "/")
	if glob {
		expr += ".*"
	}
	re, err := regexp.Compile(`^(?s:` + expr + `)$`)
	if err != nil {
		t.Fatalf("compile reference for %q: %v", pattern, err)
	}
	return re.MatchString(path)
}

func FuzzACL(f *testing.F) {
	for _, s := range [][2]string{
		{"secret/data/*", "secret/data/app"}, {"secret/+/teamb", "secret/x/teamb"}, {"+*", ""},
		{"secret/+/app*", "secret/data/apple/x"}, {"*", "anything"}, {"+", "a/b"}, {"a/*/b", "a/x/b"},
		{"secret/metadata/app", "secret/metadata/app/"}, {"a+", "a+"}, {"../x", "../x"}, {"", ""},
		{"a\x00", "a\x00"}, {"+/+/", "x//"}, {"\xff*", "\xff\xfe"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		verr := token.ValidatePattern(pattern)
		if (verr == nil) != (token.ValidatePattern(pattern) == nil) {
			t.Fatalf("ValidatePattern(%q) is not deterministic", pattern)
		}
		if verr != nil && errs.KindOf(verr) != errs.InvalidArgument {
			t.Fatalf("ValidatePattern(%q) = %v, want kind %v", pattern, verr, errs.InvalidArgument)
		}
		a := token.NewACL([]*token.Policy{{Name: "p", Rules: []token.Rule{
			{Path: pattern, Capabilities: []string{token.CapRead, token.CapList}},
		}}})
		gotRead, gotList, caps := a.Allowed(path, token.CapRead), a.Allowed(path, token.CapList), a.Capabilities(path)
		if gotRead != cmp.Equal(caps, []string{token.CapList, token.CapRead}) {
			t.Fatalf("Allowed(%q, read) = %t but Capabilities() = %v (pattern %q)", path, gotRead, caps, pattern)
		}
		if verr != nil {
			if gotRead || gotList || a.Allowed(pattern, token.CapRead) || a.Err() == nil {
				t.Fatalf("an ACL with the invalid pattern %q allowed something or reported no error", pattern)
			}
			return
		}
		if a.Err() != nil {
			t.Fatalf("Err() = %v for the valid pattern %q", a.Err(), pattern)
		}
		if !a.Allowed(pattern, token.CapRead) {
			t.Fatalf("pattern %q does not match itself", pattern)
		}
		if utf8.ValidString(path) {
			if want := refMatch(t, pattern, path); gotRead != want {
				t.Fatalf("Allowed(%q, read) = %t under pattern %q, reference says %t", path, gotRead, pattern, want)
			}
			dir, bare := path, strings.TrimSuffix(path, "/")
			if path != "" && !strings.HasSuffix(path, "/") {
				dir = path + "/"
			}
			if want := refMatch(t, pattern, dir) || refMatch(t, pattern, bare); gotList != want {
				t.Fatalf("Allowed(%q, list) = %t under pattern %q, reference says %t", path, gotList, pattern, want)
			}
		}
		denied := token.NewACL([]*token.Policy{
			{Name: "p", Rules: []token.Rule{{Path: pattern, Capabilities: []string{token.CapRead}}}},
			{Name: "q", Rules: []token.Rule{{Path: pattern, Capabilities: []string{token.CapDeny}}}},
		})
		if denied.Allowed(path, token.CapRead) || denied.Allowed(pattern, token.CapRead) {
			t.Fatalf("deny on %q lost to read on the same pattern", pattern)
		}
	})
}

func FuzzLookup(f *testing.F) {
	fx := newFixture(f, cfg)
	secret, _, err := fx.svc.Create(context.Background(), userpass())
	if err != nil {
		f.Fatalf("Create() error = %v", err)
	}
	f.Add(secret)
	f.Add(secret[:len(secret)-1] + "B")
	f.Add("hvs." + strings.Repeat("A", 43))
	f.Add("")
	f.Add(strings.ToUpper(secret))
	client := netip.MustParseAddr("192.0.2.1")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := fx.svc.Lookup(context.Background(), s, client)
		if s == secret {
			if err != nil {
				t.Fatalf("Lookup() of the real secret: error = %v", err)
			}
			return
		}
		if err == nil || tok != nil {
			t.Fatalf("Lookup(%q) = %v, %v; want only the real secret to work", s, tok, err)
		}
		if errs.KindOf(err) != errs.PermissionDenied || err.Error() != "permission denied" {
			t.Fatalf("Lookup(%q) error = %v, want exactly \"permission denied\"", s, err)
		}
		if len(s) >= 8 && bytes.Contains([]byte(err.Error()), []byte(s)) {
			t.Fatalf("Lookup() error %q shows its input", err)
		}
	})
}
