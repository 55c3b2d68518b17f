package transit

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
)

// TestBatchRoundTrip checks §1.5: order kept, per-item errors, the JSON
// shapes of success and failure, and "plaintext":"" on failed decrypts.
func TestBatchRoundTrip(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeAES256GCM96, Options{})
	enc := base64.StdEncoding.EncodeToString
	res, err := k.EncryptBatch([]BatchItem{
		{Plaintext: enc([]byte("one")), Reference: "a"},
		{Plaintext: "%%%", Reference: "b"},
		{Plaintext: enc([]byte("three")), KeyVersion: 7},
	})
	mustOK(t, err)
	if res[0].Ciphertext == "" || res[0].KeyVersion != 1 || res[0].Reference != "a" {
		t.Fatalf("item 0 = %+v", res[0])
	}
	wantRes := []BatchResult{
		res[0],
		{Reference: "b", Error: "illegal base64 data at input byte 0"},
		{Error: "requested version for encryption is higher than the latest key version"},
	}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Fatalf("EncryptBatch() (-want +got):\n%s", diff)
	}
	if got := BatchStatus(res, 0); got != 400 {
		t.Errorf("BatchStatus(partial, 0) = %d, want 400", got)
	}
	if got := BatchStatus(res, 207); got != 207 {
		t.Errorf("BatchStatus(partial, 207) = %d, want 207", got)
	}

	dec, err := k.DecryptBatch([]BatchItem{{Ciphertext: res[0].Ciphertext, Reference: "a"}, {Ciphertext: "nope"}})
	mustOK(t, err)
	js, err := json.Marshal(dec)
	mustOK(t, err)
	want := `[{"plaintext":"b25l","reference":"a"},{"plaintext":"","reference":"","error":"invalid ciphertext: no prefix"}]`
	if string(js) != want {
		t.Fatalf("DecryptBatch() JSON = %s\nwant %s", js, want)
	}

	re, err := k.RewrapBatch([]BatchItem{{Ciphertext: res[0].Ciphertext}})
	mustOK(t, err)
	js, err = json.Marshal(re[0])
	mustOK(t, err)
	if !strings.HasPrefix(string(js), `{"ciphertext":"vault:v1:`) || !strings.HasSuffix(string(js), `","key_version":1,"reference":""}`) {
		t.Fatalf("RewrapBatch() JSON = %s", js)
	}
	if got := BatchStatus(re, 207); got != 200 {
		t.Errorf("BatchStatus(all ok) = %d, want 200", got)
	}
	if got := BatchStatus(dec[1:], 207); got != 400 {
		t.Errorf("BatchStatus(all failed, 207) = %d, want 400", got)
	}
}

func TestBatchContext(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeChaCha20Poly1305, Options{Derived: true, Convergent: true})
	ctx := base64.StdEncoding.EncodeToString([]byte("c"))
	_, err := k.EncryptBatch([]BatchItem{{Plaintext: "", Context: ctx}, {Plaintext: ""}})
	wantErr(t, err, errs.InvalidArgument, "context should be set either in all the request blocks or in none")

	res, err := k.EncryptBatch([]BatchItem{{Plaintext: "eA==", Context: ctx}, {Plaintext: "eA==", Context: ctx}, {Plaintext: "eA==", Context: "!"}})
	mustOK(t, err)
	if res[0].Ciphertext != res[1].Ciphertext || res[0].Error != "" {
		t.Fatalf("convergent batch items differ: %+v", res)
	}
	if res[2].Error != "illegal base64 data at input byte 0" {
		t.Fatalf("bad context item = %+v", res[2])
	}
	res, err = k.EncryptBatch([]BatchItem{{Plaintext: "eA=="}})
	mustOK(t, err)
	if res[0].Error != errMissingContext().Error() {
		t.Fatalf("missing-context item = %+v", res[0])
	}
}

// TestConcurrentUse runs read-only operations on one Key from many
// goroutines (the version cache fills under contention); run with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeAES256GCM96, Options{})
	mustOK(t, k.Rotate(t0))
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			for j := 0; j < 50; j++ {
				ct, _, err := k.Encrypt([]byte("x"), Params{KeyVersion: 1 + j%2})
				if err == nil {
					_, err = k.Decrypt(ct, Params{})
				}
				if err == nil {
					_, _, err = k.HMAC([]byte("x"), "", 0)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 8; i++ {
		mustOK(t, <-done)
	}
}
