package vaultapi

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeFlat checks that whatever decodeFlat accepts, encoding/json
// (as readBody uses it) decodes to the same map.
func FuzzDecodeFlat(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"plaintext":"aGVsbG8="}`, `{"a":"1","b":true,"c":false,"d":null}`, `{"a":"1","a":"2"}`,
		"{\t\"a\"\n:\r\"b\" }", `{"a":1}`, `{"a":"\u00e9"}`, `{"a":"é"}`, `{"a":"b"} x`, `{"a":"b"}{}`, `{"a":"b",}`,
		`{"a" "b"}`, `{"a":tru}`, `{"a":truex}`, `["a"]`, `null`, `{"a":"b"`, `{"a":"b\"c"}`, `{"a":{"b":"c"}}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := decodeFlat(b)
		if !ok {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want map[string]any
		if err := dec.Decode(&want); err != nil || dec.More() {
			t.Fatalf("decodeFlat accepted %q, which encoding/json refuses (%v)", b, err)
		}
		if want == nil || !cmp.Equal(got, want) {
			t.Fatalf("decodeFlat(%q) = %v, encoding/json gives %v", b, got, want)
		}
	})
}

func TestDecodeFlatShapes(t *testing.T) {
	for in, want := range map[string]bool{
		`{"plaintext":"aGVsbG8=","context":""}`: true, `{}`: true, `{"a":null,"b":true}`: true,
		`{"a":1}`: false, `{"a":"\n"}`: false, `{"a":"é"}`: false, `{"a":"b"} x`: false, `{"a":[]}`: false,
	} {
		if _, ok := decodeFlat([]byte(in)); ok != want {
			t.Errorf("decodeFlat(%s) ok = %t, want %t", in, ok, want)
		}
	}
}
