package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stackitcloud/stackit-sdk-go/core/config"
	kms "github.com/stackitcloud/stackit-sdk-go/services/kms/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
)

func kmsSDK(t *testing.T, env *apitest.Env, tok string) kms.DefaultAPI {
	t.Helper()
	c, err := kms.NewAPIClient(config.WithEndpoint(env.URL), config.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	return c.DefaultAPI
}

// TestKMSSDK drives the KMS v1 API with the official STACKIT SDK: key ring,
// aes_256_gcm key, encrypt and decrypt, rotate, disable a version and get the
// documented error for using it.
func TestKMSSDK(t *testing.T) {
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		ctx := t.Context()
		p := uuid.NewString()
		api := kmsSDK(t, env, env.Token(t, p, "kms-admin@example.com", iam.RoleKMSAdmin, iam.RoleKMSUser))

		ring, err := api.CreateKeyRing(ctx, p, apitest.Region).
			CreateKeyRingPayload(kms.CreateKeyRingPayload{DisplayName: "app-ring"}).Execute()
		if err != nil || ring.State != kms.KEYRINGSTATE_ACTIVE || ring.DisplayName != "app-ring" {
			t.Fatalf("CreateKeyRing = %+v, %v", ring, err)
		}
		key, err := api.CreateKey(ctx, p, apitest.Region, ring.Id).CreateKeyPayload(kms.CreateKeyPayload{
			DisplayName: "app-key", Algorithm: kms.ALGORITHM_AES_256_GCM, Purpose: kms.PURPOSE_SYMMETRIC_ENCRYPT_DECRYPT,
			Protection: "software"}).Execute()
		if err != nil || key.State != kms.KEYSTATE_ACTIVE || key.KeyRingId != ring.Id || key.Algorithm != kms.ALGORITHM_AES_256_GCM {
			t.Fatalf("CreateKey = %+v, %v", key, err)
		}
		plaintext := []byte("seal me, 32 bytes of data key!!")
		enc, err := api.Encrypt(ctx, p, apitest.Region, ring.Id, key.Id, 1).
			EncryptPayload(kms.EncryptPayload{Data: base64.StdEncoding.EncodeToString(plaintext)}).Execute()
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		ct, _ := base64.StdEncoding.DecodeString(enc.Data)
		if len(ct) != 12+len(plaintext)+16 || bytes.Contains(ct, plaintext) {
			t.Fatalf("ciphertext has %d bytes, want nonce+len+tag = %d, without the plaintext", len(ct), 12+len(plaintext)+16)
		}
		dec, err := api.Decrypt(ctx, p, apitest.Region, ring.Id, key.Id, 1).
			DecryptPayload(kms.DecryptPayload{Data: enc.Data}).Execute()
		if got, _ := base64.StdEncoding.DecodeString(dec.GetData()); err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("Decrypt = %q, %v", got, err)
		}

		v2, err := api.RotateKey(ctx, p, apitest.Region, ring.Id, key.Id).Execute()
		if err != nil || v2.Number != 2 || v2.State != kms.VERSIONSTATE_ACTIVE || v2.Disabled {
			t.Fatalf("RotateKey = %+v, %v", v2, err)
		}
		versions, err := api.ListVersions(ctx, p, apitest.Region, ring.Id, key.Id).Execute()
		if err != nil || len(versions.Versions) != 2 {
			t.Fatalf("ListVersions = %+v, %v", versions, err)
		}
		// Version 1 still decrypts what it encrypted; version 2 does not.
		if _, err := api.Decrypt(ctx, p, apitest.Region, ring.Id, key.Id, 2).
			DecryptPayload(kms.DecryptPayload{Data: enc.Data}).Execute(); err == nil {
			t.Error("version 2 decrypted version 1's ciphertext")
		} else {
			wantAPIError(t, err, http.StatusBadRequest)
		}

		if err := api.DisableVersion(ctx, p, apitest.Region, ring.Id, key.Id, 1).Execute(); err != nil {
			t.Fatalf("DisableVersion: %v", err)
		}
		v1, err := api.GetVersion(ctx, p, apitest.Region, ring.Id, key.Id, 1).Execute()
		if err != nil || !v1.Disabled || v1.State != kms.VERSIONSTATE_DISABLED {
			t.Fatalf("GetVersion after disable = %+v, %v", v1, err)
		}
		_, err = api.Decrypt(ctx, p, apitest.Region, ring.Id, key.Id, 1).DecryptPayload(kms.DecryptPayload{Data: enc.Data}).Execute()
		if msg := wantAPIError(t, err, http.StatusConflict); !bytes.Contains([]byte(msg), []byte("disabled")) {
			t.Errorf("decrypt with a disabled version: message %q does not say it is disabled", msg)
		}
		if err := api.EnableVersion(ctx, p, apitest.Region, ring.Id, key.Id, 1).Execute(); err != nil {
			t.Fatalf("EnableVersion: %v", err)
		}
		if _, err := api.Decrypt(ctx, p, apitest.Region, ring.Id, key.Id, 1).DecryptPayload(kms.DecryptPayload{Data: enc.Data}).Execute(); err != nil {
			t.Fatalf("decrypt after enable: %v", err)
		}

		// Destroy: unusable at once, restorable (disabled) until erased.
		if err := api.DestroyVersion(ctx, p, apitest.Region, ring.Id, key.Id, 1).Execute(); err != nil {
			t.Fatalf("DestroyVersion: %v", err)
		}
		_, err = api.Decrypt(ctx, p, apitest.Region, ring.Id, key.Id, 1).DecryptPayload(kms.DecryptPayload{Data: enc.Data}).Execute()
		wantAPIError(t, err, http.StatusConflict)
		if err := api.RestoreVersion(ctx, p, apitest.Region, ring.Id, key.Id, 1).Execute(); err != nil {
			t.Fatalf("RestoreVersion: %v", err)
		}

		// Delete key: scheduled, restorable; a ring with keys cannot be deleted.
		if err := api.DeleteKeyRing(ctx, p, apitest.Region, ring.Id).Execute(); err == nil {
			t.Error("deleted a non-empty key ring")
		} else {
			wantAPIError(t, err, http.StatusConflict)
		}
		if err := api.DeleteKey(ctx, p, apitest.Region, ring.Id, key.Id).Execute(); err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		k, err := api.GetKey(ctx, p, apitest.Region, ring.Id, key.Id).Execute()
		if err != nil || k.State != kms.KEYSTATE_DELETED || k.DeletionDate == nil {
			t.Fatalf("GetKey after delete = %+v, %v", k, err)
		}
		_, err = api.Encrypt(ctx, p, apitest.Region, ring.Id, key.Id, 2).EncryptPayload(kms.EncryptPayload{Data: "AA=="}).Execute()
		wantAPIError(t, err, http.StatusConflict)
		if err := api.RestoreKey(ctx, p, apitest.Region, ring.Id, key.Id).Execute(); err != nil {
			t.Fatalf("RestoreKey: %v", err)
		}

		// Unknown ids are 404; a reader of another project gets 403; import is 501.
		_, err = api.GetKey(ctx, p, apitest.Region, ring.Id, uuid.NewString()).Execute()
		wantAPIError(t, err, http.StatusNotFound)
		stranger := kmsSDK(t, env, env.Token(t, uuid.NewString(), "stranger@example.com", iam.RoleOwner))
		_, err = stranger.GetKey(ctx, p, apitest.Region, ring.Id, key.Id).Execute()
		wantAPIError(t, err, http.StatusForbidden)
		_, err = api.ImportKey(ctx, p, apitest.Region, ring.Id, key.Id).
			ImportKeyPayload(kms.ImportKeyPayload{WrappingKeyId: uuid.NewString(), WrappedKey: "AA=="}).Execute()
		wantAPIError(t, err, http.StatusNotImplemented)
	})
}

// TestKMSSignVerifyAndMAC covers the other purposes through the SDK.
func TestKMSSignVerifyAndMAC(t *testing.T) {
	env := apitest.Start(t, apitest.SQLite)
	ctx := t.Context()
	p := uuid.NewString()
	api := kmsSDK(t, env, env.Token(t, p, "k@example.com", iam.RoleOwner))
	ring, err := api.CreateKeyRing(ctx, p, apitest.Region).CreateKeyRingPayload(kms.CreateKeyRingPayload{DisplayName: "r"}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		alg     kms.Algorithm
		purpose kms.Purpose
		pubKey  bool
	}{
		{kms.ALGORITHM_ECDSA_P256_SHA256, kms.PURPOSE_ASYMMETRIC_SIGN_VERIFY, true},
		{kms.ALGORITHM_HMAC_SHA256, kms.PURPOSE_MESSAGE_AUTHENTICATION_CODE, false},
	} {
		key, err := api.CreateKey(ctx, p, apitest.Region, ring.Id).CreateKeyPayload(kms.CreateKeyPayload{
			DisplayName: "k", Algorithm: tc.alg, Purpose: tc.purpose, Protection: "software"}).Execute()
		if err != nil {
			t.Fatalf("%s: CreateKey: %v", tc.alg, err)
		}
		v, _ := api.GetVersion(ctx, p, apitest.Region, ring.Id, key.Id, 1).Execute()
		if (v.PublicKey != nil) != tc.pubKey {
			t.Errorf("%s: publicKey present = %v, want %v", tc.alg, v.PublicKey != nil, tc.pubKey)
		}
		data := base64.StdEncoding.EncodeToString([]byte("message"))
		signed, err := api.Sign(ctx, p, apitest.Region, ring.Id, key.Id, 1).SignPayload(kms.SignPayload{Data: data}).Execute()
		if err != nil {
			t.Fatalf("%s: Sign: %v", tc.alg, err)
		}
		for msg, want := range map[string]bool{"message": true, "massage": false} {
			res, err := api.Verify(ctx, p, apitest.Region, ring.Id, key.Id, 1).VerifyPayload(kms.VerifyPayload{
				Data: base64.StdEncoding.EncodeToString([]byte(msg)), Signature: signed.Signature}).Execute()
			if err != nil || res.Valid != want {
				t.Errorf("%s: Verify(%q) = %+v, %v; want %v", tc.alg, msg, res, err, want)
			}
		}
		_, err = api.Encrypt(ctx, p, apitest.Region, ring.Id, key.Id, 1).EncryptPayload(kms.EncryptPayload{Data: data}).Execute()
		wantAPIError(t, err, http.StatusBadRequest)
	}
	// A purpose that does not fit the algorithm is refused at creation.
	_, err = api.CreateKey(ctx, p, apitest.Region, ring.Id).CreateKeyPayload(kms.CreateKeyPayload{
		DisplayName: "k", Algorithm: kms.ALGORITHM_AES_256_GCM, Purpose: kms.PURPOSE_ASYMMETRIC_SIGN_VERIFY, Protection: "software"}).Execute()
	if msg := wantAPIError(t, err, http.StatusBadRequest); !bytes.Contains([]byte(msg), []byte("purpose")) {
		t.Errorf("message %q does not name purpose", msg)
	}
}
