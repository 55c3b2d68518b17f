package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	sm "github.com/stackitcloud/stackit-sdk-go/services/secretsmanager/v1api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
)

// benchGet issues parallel GETs of url with token over loopback.
func benchGet(b *testing.B, url, token string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

// BenchmarkGetInstance is an authenticated, validated, authorized GET of an
// instance (JWT verify, role lookup, store read) over loopback, on SQLite.
// BenchmarkBareEcho is its ceiling: the same body from a bare Echo handler.
func BenchmarkGetInstance(b *testing.B) {
	env := apitest.Start(b, apitest.SQLite)
	p := uuid.NewString()
	tok := env.Token(b, p, "bench@example.com", iam.RoleSecretsManagerAdmin)
	c := sdkAPI(b, env, tok)
	in, err := c.CreateInstance(b.Context(), p).CreateInstancePayload(sm.CreateInstancePayload{Name: "bench"}).Execute()
	if err != nil {
		b.Fatal(err)
	}
	benchGet(b, env.URL+"/v1/projects/"+p+"/instances/"+in.Id, tok)
}

func BenchmarkBareEcho(b *testing.B) {
	body := map[string]any{"apiUrl": "http://vault.test:8200", "creationFinishedDate": "2026-11-22T11:13:07Z",
		"creationStartDate": "2026-11-22T11:13:07Z", "id": uuid.NewString(), "name": "bench", "secretCount": 0,
		"secretsEngine": "kv-v2", "state": "active"}
	e := echo.New()
	e.GET("/x", func(c echo.Context) error { return c.JSON(http.StatusOK, body) })
	srv := httptest.NewServer(e)
	defer srv.Close()
	benchGet(b, srv.URL+"/x", "unused")
}
