package transit

import (
	"encoding/base64"

	"github.com/cofferhq/coffer/internal/errs"
)

// BatchItem is one element of a batch_input array of encrypt, decrypt or
// rewrap (vault-api.md §1.5). Plaintext, Context and AssociatedData are
// base64 as on the wire; a bad one fails only its own item.
type BatchItem struct {
	Plaintext      string `json:"plaintext,omitempty"`
	Ciphertext     string `json:"ciphertext,omitempty"`
	Context        string `json:"context,omitempty"`
	AssociatedData string `json:"associated_data,omitempty"`
	KeyVersion     int    `json:"key_version,omitempty"`
	Reference      string `json:"reference,omitempty"`
}

// BatchResult is one element of batch_results, shaped as Vault renders it
// (§1.5): encrypt and rewrap items {ciphertext, key_version, reference},
// decrypt items {plaintext, reference}, and failed items {error,
// reference}, where a failed decrypt item still has "plaintext":"".
type BatchResult struct {
	Ciphertext string  `json:"ciphertext,omitempty"`
	KeyVersion int     `json:"key_version,omitempty"`
	Plaintext  *string `json:"plaintext,omitempty"` // base64; set by decrypt only
	Reference  string  `json:"reference"`
	Error      string  `json:"error,omitempty"`
}

// EncryptBatch encrypts every item, in order. Item failures are reported
// in their results; the error is for the request as a whole: a context on
// some items but not all (Vault's 400 "context should be set either in all
// the request blocks or in none"), or an errs.Internal failure.
func (k *Key) EncryptBatch(items []BatchItem) ([]BatchResult, error) {
	return k.batch(items, false, func(it BatchItem, p Params) (BatchResult, error) {
		pt, err := decodeField(it.Plaintext)
		if err != nil {
			return BatchResult{}, err
		}
		ct, ver, err := k.Encrypt(pt, p)
		return BatchResult{Ciphertext: ct, KeyVersion: ver}, err
	})
}

// DecryptBatch decrypts every item, in order, as EncryptBatch encrypts.
func (k *Key) DecryptBatch(items []BatchItem) ([]BatchResult, error) {
	return k.batch(items, true, func(it BatchItem, p Params) (BatchResult, error) {
		pt, err := k.Decrypt(it.Ciphertext, p)
		s := base64.StdEncoding.EncodeToString(pt)
		clear(pt)
		return BatchResult{Plaintext: &s}, err
	})
}

// RewrapBatch rewraps every item, in order, as EncryptBatch encrypts.
func (k *Key) RewrapBatch(items []BatchItem) ([]BatchResult, error) {
	return k.batch(items, false, func(it BatchItem, p Params) (BatchResult, error) {
		ct, ver, err := k.Rewrap(it.Ciphertext, p)
		return BatchResult{Ciphertext: ct, KeyVersion: ver}, err
	})
}

// batch runs op on every item. A failed item has only the error's client
// message, and "plaintext":"" when decrypting.
func (k *Key) batch(items []BatchItem, decrypting bool, op func(BatchItem, Params) (BatchResult, error)) ([]BatchResult, error) {
	if err := checkBatchContext(items); err != nil {
		return nil, err
	}
	out := make([]BatchResult, len(items))
	for i, it := range items {
		r, err := runItem(it, op)
		if err != nil {
			if errs.KindOf(err) == errs.Internal {
				return nil, err
			}
			r = BatchResult{Error: errs.Message(err)}
			if decrypting {
				r.Plaintext = new(string)
			}
		}
		r.Reference = it.Reference
		out[i] = r
	}
	return out, nil
}

func runItem(it BatchItem, op func(BatchItem, Params) (BatchResult, error)) (BatchResult, error) {
	ctx, err := decodeField(it.Context)
	if err != nil {
		return BatchResult{}, err
	}
	aad, err := decodeField(it.AssociatedData)
	if err != nil {
		return BatchResult{}, err
	}
	return op(it, Params{Context: ctx, AssociatedData: aad, KeyVersion: it.KeyVersion})
}

// decodeField decodes a base64 request field as Vault does (standard
// alphabet, padded); its error reads "illegal base64 data at input byte N"
// as Vault's does (§1.6).
func decodeField(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "%s", err.Error())
	}
	return b, nil
}

func checkBatchContext(items []BatchItem) error {
	n := 0
	for _, it := range items {
		if it.Context != "" {
			n++
		}
	}
	if n != 0 && n != len(items) {
		return errs.E(errs.InvalidArgument, "context should be set either in all the request blocks or in none")
	}
	return nil
}

// BatchStatus returns the HTTP status of a batch response (§1.5): 200 if
// every item succeeded; 400 if every item failed; and partialFailureCode
// (Vault's partial_failure_response_code) if some failed and it is
// non-zero, else 400.
func BatchStatus(results []BatchResult, partialFailureCode int) int {
	failed := 0
	for _, r := range results {
		if r.Error != "" {
			failed++
		}
	}
	switch {
	case failed == 0:
		return 200
	case failed < len(results) && partialFailureCode != 0:
		return partialFailureCode
	}
	return 400
}
