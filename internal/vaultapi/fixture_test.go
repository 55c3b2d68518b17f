package vaultapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	vault "github.com/hashicorp/vault/api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/token"
)

// stack is a running Coffer (control plane and Vault listener over one
// store) with a project whose owner drives the control plane over HTTP.
type stack struct {
	env     *apitest.Env
	project string
	owner   string // the owner's control-plane bearer token
}

// forEachKind runs f as a parallel subtest per store kind, each on its own
// stack over a fresh store.
func forEachKind(t *testing.T, f func(t *testing.T, s *stack)) {
	t.Helper()
	for _, k := range apitest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			f(t, newStack(t, k))
		})
	}
}

func newStack(tb testing.TB, k apitest.Kind) *stack {
	tb.Helper()
	env := apitest.Start(tb, k)
	p := uuid.NewString()
	return &stack{env: env, project: p, owner: env.Token(tb, p, "owner-"+p[:8]+"@example.com", iam.RoleOwner)}
}

// cp sends a control-plane request for the project (path starts after
// /v1/projects/<p>) and returns the status and body.
func (s *stack) cp(tb testing.TB, method, path string, body any) (int, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.env.URL+"/v1/projects/"+s.project+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.owner)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, b
}

// cpOK sends a control-plane request that must answer want, and decodes
// the body into out when out is not nil.
func (s *stack) cpOK(tb testing.TB, method, path string, body any, want int, out any) {
	tb.Helper()
	st, b := s.cp(tb, method, path, body)
	if st != want {
		tb.Fatalf("control plane %s %s = %d, want %d (body %s)", method, path, st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("control plane %s %s: decode %s: %v", method, path, b, err)
		}
	}
}

func (s *stack) createInstance(tb testing.TB, name string) string {
	tb.Helper()
	var in struct{ ID string }
	s.cpOK(tb, http.MethodPost, "/instances", map[string]any{"name": name}, http.StatusCreated, &in)
	if _, err := uuid.Parse(in.ID); err != nil {
		tb.Fatalf("instance id %q: %v", in.ID, err)
	}
	return in.ID
}

// user is a data-plane user as CreateUser returns it (with its password).
type user struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *stack) createUser(tb testing.TB, instanceID string, write bool) user {
	tb.Helper()
	var u user
	s.cpOK(tb, http.MethodPost, "/instances/"+instanceID+"/users",
		map[string]any{"description": "test user", "write": write}, http.StatusOK, &u)
	if u.Username == "" || u.Password == "" {
		tb.Fatalf("created user %+v has no username or password", u)
	}
	return u
}

// setACLs replaces the instance's ACLs with cidrs.
func (s *stack) setACLs(tb testing.TB, instanceID string, cidrs ...string) {
	tb.Helper()
	list := make([]map[string]string, 0, len(cidrs))
	for _, c := range cidrs {
		list = append(list, map[string]string{"cidr": c})
	}
	s.cpOK(tb, http.MethodPut, "/instances/"+instanceID+"/acls", map[string]any{"cidrs": list}, http.StatusOK, nil)
}

func (s *stack) secretCount(tb testing.TB, instanceID string) int {
	tb.Helper()
	var in struct {
		SecretCount *int `json:"secretCount"`
	}
	s.cpOK(tb, http.MethodGet, "/instances/"+instanceID, nil, http.StatusOK, &in)
	if in.SecretCount == nil {
		tb.Fatal("instance has no secretCount")
	}
	return *in.SecretCount
}

// client returns an official Vault client for the listener, with token
// (none when empty) and no retries.
func (s *stack) client(tb testing.TB, tok string) *vault.Client {
	tb.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = s.env.VaultURL
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		tb.Fatalf("vault.NewClient: %v", err)
	}
	c.SetToken(tok)
	return c
}

// login logs u in with the official client (as the userpass helper does)
// and returns a client holding the token, with the login answer.
func (s *stack) login(tb testing.TB, u user) (*vault.Client, *vault.Secret) {
	tb.Helper()
	c := s.client(tb, "")
	sec, err := c.Logical().WriteWithContext(tb.Context(), "auth/userpass/login/"+u.Username,
		map[string]any{"password": u.Password})
	if err != nil {
		tb.Fatalf("login %s: %v", u.Username, err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		tb.Fatalf("login %s: no auth block in %+v", u.Username, sec)
	}
	c.SetToken(sec.Auth.ClientToken)
	return c, sec
}

// rootToken mints a root token of the Vault listener.
func (s *stack) rootToken(tb testing.TB) string {
	tb.Helper()
	secret, _, err := s.env.VaultTokens.Create(tb.Context(), token.RootSpec())
	if err != nil {
		tb.Fatalf("create root token: %v", err)
	}
	return secret
}

// reply is a raw answer of the Vault listener.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// vaultReq sends a raw request to the Vault listener. body is sent as is
// when it is a string, []byte or io.Reader, else JSON-encoded (nil: no
// body).
func (s *stack) vaultReq(tb testing.TB, method, path string, hdr map[string]string, body any) reply {
	tb.Helper()
	r, err := s.vaultTry(method, path, hdr, body)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// vaultTry is vaultReq for goroutines other than the test's: it returns
// transport errors instead of failing the test.
func (s *stack) vaultTry(method, path string, hdr map[string]string, body any) (reply, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.env.VaultURL+path, rd)
	if err != nil {
		return reply{}, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return reply{status: res.StatusCode, header: res.Header, body: b}, nil
}

// cliHeaders are the headers the vault CLI sends with token tok.
func cliHeaders(tok string) map[string]string {
	h := map[string]string{"X-Vault-Request": "true"}
	if tok != "" {
		h["X-Vault-Token"] = tok
	}
	return h
}

// envelopeKeys are the keys of Vault's success envelope.
var envelopeKeys = []string{"auth", "data", "lease_duration", "lease_id", "renewable", "request_id", "warnings", "wrap_info"}

// envelopeOf checks that r has status want and a body that is exactly
// Vault's envelope, and returns it decoded (numbers as json.Number).
func envelopeOf(tb testing.TB, r reply, want int) map[string]any {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status = %d, want %d (body %s)", r.status, want, r.body)
	}
	m := decode(tb, r.body)
	if diff := cmp.Diff(envelopeKeys, sortedKeys(m)); diff != "" {
		tb.Fatalf("envelope keys mismatch (-want +got):\n%s\nbody %s", diff, r.body)
	}
	if id, _ := m["request_id"].(string); uuid.Validate(id) != nil {
		tb.Errorf("request_id = %v, want a UUID", m["request_id"])
	}
	if m["lease_id"] != "" || m["renewable"] != false || m["lease_duration"] != json.Number("0") || m["wrap_info"] != nil {
		tb.Errorf("envelope lease_id/renewable/lease_duration/wrap_info = %v/%v/%v/%v, want \"\"/false/0/null",
			m["lease_id"], m["renewable"], m["lease_duration"], m["wrap_info"])
	}
	return m
}

// errorsOf checks that r has status want and a body that is exactly
// {"errors":[...]}, and returns the messages.
func errorsOf(tb testing.TB, r reply, want int) []string {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status = %d, want %d (body %s)", r.status, want, r.body)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &m); err != nil || len(m) != 1 || m["errors"] == nil {
		tb.Fatalf("body = %s, want exactly {\"errors\":[...]}", r.body)
	}
	var msgs []string
	if err := json.Unmarshal(m["errors"], &msgs); err != nil || msgs == nil {
		tb.Fatalf("errors = %s, want an array of strings", m["errors"])
	}
	return msgs
}

func decode(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return m
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// responseError checks that err is (or wraps) the client's
// *vault.ResponseError with status want, and returns it.
func responseError(tb testing.TB, err error, want int) *vault.ResponseError {
	tb.Helper()
	var re *vault.ResponseError
	if !errors.As(err, &re) {
		tb.Fatalf("error = %v (%T), want *vault.ResponseError with status %d", err, err, want)
	}
	if re.StatusCode != want {
		tb.Fatalf("status = %d, want %d (%v)", re.StatusCode, want, re)
	}
	return re
}

// path walks nested maps of a decoded body: path(m, "data", "metadata").
func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
