package vaultapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/cofferhq/coffer/internal/apitest"
)

func TestHealth(t *testing.T) {
	env := apitest.Start(t, apitest.SQLite)
	srv := struct{ URL string }{env.VaultURL}
	cases := []struct {
		method, query string
		want          int
	}{
		{http.MethodGet, "", 200},
		{http.MethodHead, "", 200},
		{http.MethodGet, "?activecode=204", 204},
		{http.MethodGet, "?standbyok=true&sealedcode=200&standbycode=200", 200},
		{http.MethodGet, "?activecode=abc", 400},
		{http.MethodGet, "?uninitcode=99", 400},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, srv.URL+"/v1/sys/health"+tc.query, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.query, res.StatusCode, tc.want)
		}
		if tc.method == http.MethodGet && tc.want == 200 {
			var h struct {
				Initialized, Sealed, Standby bool
				ClusterID                    string `json:"cluster_id"`
			}
			if err := json.Unmarshal(b, &h); err != nil || !h.Initialized || h.Sealed || h.Standby || h.ClusterID != "test" {
				t.Errorf("body = %s (%v)", b, err)
			}
		}
		if tc.want == 400 {
			var e struct{ Errors []string }
			if json.Unmarshal(b, &e) != nil || len(e.Errors) != 1 {
				t.Errorf("error body = %s, want {\"errors\":[...]}", b)
			}
		}
	}
	for path, want := range map[string]int{
		"/v1/secret/data/x": http.StatusForbidden, // as Vault: no token, no answer about the path
		"/nope":             http.StatusNotFound,
	} {
		res, _ := http.Get(srv.URL + path)
		var e struct{ Errors []string }
		json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != want || e.Errors == nil {
			t.Errorf("GET %s = %d %v, want %d with Vault's error envelope", path, res.StatusCode, e, want)
		}
	}
}
