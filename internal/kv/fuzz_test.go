package kv_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

func TestValidatePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"a", true},
		{"a/b/c", true},
		{"a b", true},
		{".a", true},
		{"a.", true},
		{"a..b", true},
		{"...", true},
		{"ü/ñ/✓", true},
		{"100%_sure", true},
		{strings.Repeat("a", kv.MaxPathLen), true},
		{"", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"a/.", false},
		{"./a", false},
		{"a/../b", false},
		{"a/./b", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"a\u0085b", false}, // C1 control
		{"\xff", false},
		{strings.Repeat("a", kv.MaxPathLen+1), false},
	} {
		err := kv.ValidatePath(tc.path)
		if tc.ok && err != nil {
			t.Errorf("validatePath(%q) error = %v, want nil", tc.path, err)
		}
		if !tc.ok && errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("validatePath(%q) error = %v, want kind %v", tc.path, err, errs.InvalidArgument)
		}
	}
}

// FuzzPath checks that path validation never panics, fails only with
// errs.InvalidArgument, and accepts only paths that are safe to use.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"a", "a/b", "a/../b", "a//b", "/a", "a/", ".", "..", "a\x00", "ü/ñ", "\xff", "...", "a/.b/c."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		err := kv.ValidatePath(path)
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument {
				t.Fatalf("validatePath(%q) error kind = %v, want %v", path, errs.KindOf(err), errs.InvalidArgument)
			}
		} else {
			checkSafePath(t, path)
		}
		prefix, err := kv.ValidatePrefix(path)
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument {
				t.Fatalf("validatePrefix(%q) error kind = %v, want %v", path, errs.KindOf(err), errs.InvalidArgument)
			}
			return
		}
		if prefix == "" {
			if path != "" {
				t.Fatalf("validatePrefix(%q) = the root", path)
			}
			return
		}
		if !strings.HasSuffix(prefix, "/") {
			t.Fatalf("validatePrefix(%q) = %q, want a trailing /", path, prefix)
		}
		checkSafePath(t, strings.TrimSuffix(prefix, "/"))
	})
}

func checkSafePath(t *testing.T, path string) {
	t.Helper()
	switch {
	case path == "" || len(path) > kv.MaxPathLen:
		t.Fatalf("accepted path of %d bytes", len(path))
	case !utf8.ValidString(path):
		t.Fatalf("accepted invalid UTF-8 %q", path)
	case strings.IndexFunc(path, unicode.IsControl) >= 0:
		t.Fatalf("accepted control characters in %q", path)
	case strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/"):
		t.Fatalf("accepted %q with a leading or trailing /", path)
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			t.Fatalf("accepted %q with segment %q", path, seg)
		}
	}
}

func TestMergePatch(t *testing.T) {
	t.Parallel()
	// The examples of RFC 7386, appendix A (top-level objects only).
	for _, tc := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{`{"a":"b"}`, `{}`, `{"a":"b"}`},
		{`{"a":{"b":1}}`, `{"a":{"c":[null]}}`, `{"a":{"b":1,"c":[null]}}`},
	} {
		got := kv.MergePatch(decodeObject(t, tc.target), decodeObject(t, tc.patch))
		if want := decodeObject(t, tc.want); !reflect.DeepEqual(want, got) {
			t.Errorf("mergePatch(%s, %s) = %v, want %s", tc.target, tc.patch, got, tc.want)
		}
	}
}

// FuzzMergePatch checks that merging never panics, leaves its arguments
// alone, is idempotent, and follows RFC 7386 at the top level: null
// removes, objects merge, anything else replaces.
func FuzzMergePatch(f *testing.F) {
	for _, s := range [][2]string{
		{`{"a":"b"}`, `{"a":null}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`},
		{`{"a":[1,2]}`, `{"a":{"x":null,"y":[null]}}`},
		{`{"n":1.5e300,"s":"x"}`, `{"n":{"deep":{"deeper":null}}}`},
		{`{}`, `{}`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, target, patch []byte) {
		tgt, ok1 := tryDecodeObject(target)
		p, ok2 := tryDecodeObject(patch)
		if !ok1 || !ok2 {
			return
		}
		got := kv.MergePatch(tgt, p)
		if fresh, _ := tryDecodeObject(target); !reflect.DeepEqual(fresh, tgt) {
			t.Fatalf("mergePatch modified its target")
		}
		if fresh, _ := tryDecodeObject(patch); !reflect.DeepEqual(fresh, p) {
			t.Fatalf("mergePatch modified its patch")
		}
		if again := kv.MergePatch(got, p); !reflect.DeepEqual(again, got) {
			t.Fatalf("mergePatch is not idempotent: %v, then %v", got, again)
		}
		for k, v := range p {
			r, present := got[k]
			switch v.(type) {
			case nil:
				if present {
					t.Fatalf("key %q patched with null is still there", k)
				}
			case map[string]any:
				if _, isObject := r.(map[string]any); !isObject {
					t.Fatalf("key %q patched with an object is %T", k, r)
				}
			default:
				if !reflect.DeepEqual(r, v) {
					t.Fatalf("key %q = %v, want the patch's %v", k, r, v)
				}
			}
		}
		for k, v := range tgt {
			if _, patched := p[k]; !patched && !reflect.DeepEqual(got[k], v) {
				t.Fatalf("key %q not in the patch changed from %v to %v", k, v, got[k])
			}
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
		_ = kv.SubkeysOf(got, 0) // the structure of any result can be taken
	})
}

func decodeObject(t *testing.T, s string) map[string]any {
	t.Helper()
	m, ok := tryDecodeObject([]byte(s))
	if !ok {
		t.Fatalf("not a JSON object: %s", s)
	}
	return m
}

// tryDecodeObject decodes b as ReadData does: a JSON object, numbers as
// json.Number.
func tryDecodeObject(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}
