package mount_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
)

// usernameRE is the username rule written independently of the code: an
// ASCII letter, digit or '_' first; then letters, digits, '_', '-' and
// '.'; not ending with '.'; at most 128 characters.
var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$`)

// validUsername reports whether the rule allows name.
func validUsername(name string) bool {
	return len(name) <= mount.MaxUsernameLen && usernameRE.MatchString(name)
}

func TestNormalizeUsername(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string // want "" when refused
	}{
		{"alice", "alice"},
		{"Alice", "alice"},
		{"ALICE.SMITH", "alice.smith"},
		{"a", "a"},
		{"_", "_"},
		{"0", "0"},
		{"a-", "a-"},
		{"a..b", "a..b"},
		{"_-.-_", "_-.-_"},
		{"benchmark-user", "benchmark-user"},
		{strings.Repeat("a", mount.MaxUsernameLen), strings.Repeat("a", mount.MaxUsernameLen)},
		{"", ""},
		{"-a", ""},
		{".a", ""},
		{"a.", ""},
		{".", ""},
		{"-", ""},
		{"a b", ""},
		{"a/b", ""},
		{"a@b", ""},
		{"a\x00", ""},
		{"ü", ""},
		{"\u212a", ""}, // KELVIN SIGN: lower-cases to an ASCII "k"
		{"\u0130", ""}, // LATIN CAPITAL LETTER I WITH DOT ABOVE
		{"\xff", ""},
		{strings.Repeat("a", mount.MaxUsernameLen+1), ""},
	} {
		got, err := mount.NormalizeUsername(tc.in)
		if tc.want == "" {
			if errs.KindOf(err) != errs.InvalidArgument {
				t.Errorf("NormalizeUsername(%q) = %q, %v; want kind %v", tc.in, got, err, errs.InvalidArgument)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
		}
	}
}

func FuzzUsername(f *testing.F) {
	for _, s := range []string{"alice", "Alice.Smith", "a-", "-a", ".a", "a.", "a..b", "_", "\u212a", "a\x00b", "\xff",
		strings.Repeat("a", 128), strings.Repeat("a", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := mount.NormalizeUsername(in)
		if ok := validUsername(in); ok != (err == nil) {
			t.Fatalf("NormalizeUsername(%q) error = %v; the rule says valid = %t", in, err, ok)
		}
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument || got != "" {
				t.Fatalf("NormalizeUsername(%q) = %q, %v; want \"\" and kind %v", in, got, err, errs.InvalidArgument)
			}
			return
		}
		if got != strings.ToLower(in) || len(got) != len(in) {
			t.Fatalf("NormalizeUsername(%q) = %q, want the input lower-cased", in, got)
		}
		if again, err := mount.NormalizeUsername(got); err != nil || again != got {
			t.Fatalf("NormalizeUsername(%q) = %q, %v; not idempotent", got, again, err)
		}
		for _, r := range got {
			if r >= 'A' && r <= 'Z' || r > 0x7f {
				t.Fatalf("NormalizeUsername(%q) = %q holds %q", in, got, r)
			}
		}
	})
}
