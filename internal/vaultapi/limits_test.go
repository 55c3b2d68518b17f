package vaultapi_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cofferhq/coffer/internal/apitest"
)

// The harness's limits: a 1 MiB body, JSON nesting depth 32, 10000 values,
// and 10 failed logins (per user and per client address) before 429.
const (
	maxBody      = 1 << 20
	maxDepth     = 32
	maxValues    = 10000
	loginBudget  = 10
	msgBadLogin  = "invalid username or password"
	wantTooLarge = http.StatusRequestEntityTooLarge
)

// nested returns a KV write body whose JSON nesting depth (objects and
// arrays, the outer object counting 1) is depth.
func nested(depth int) string {
	// {"data":{"k": <depth-2 levels>}}
	inner := `"leaf"`
	for range depth - 2 {
		inner = `{"k":` + inner + `}`
	}
	return `{"data":{"k":` + inner + `}}`
}

// chunked hides a body's length, so the client sends it chunked and the
// server sees no Content-Length.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestLimits(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		inst := s.createInstance(t, "limits")
		u := s.createUser(t, inst, true)
		_, login := s.login(t, u)
		tok := login.Auth.ClientToken
		big := `{"data":{"k":"` + strings.Repeat("x", maxBody) + `"}}`
		justFits := `{"data":{"k":"` + strings.Repeat("x", maxBody-len(`{"data":{"k":""}}`)) + `"}}`
		values := func(n int) string { // {"data":{"k":[1,1,...]}}: n values in all, the two keys included
			return `{"data":{"k":[` + strings.TrimSuffix(strings.Repeat("1,", n-2), ",") + `]}}`
		}

		cases := []struct {
			name   string
			method string
			path   string
			tok    string
			body   any
			want   int
		}{
			{"body over the limit, KV write", "PUT", "/v1/" + inst + "/data/big", tok, big, wantTooLarge},
			{"body over the limit, chunked", "PUT", "/v1/" + inst + "/data/big", tok, chunked{strings.NewReader(big)}, wantTooLarge},
			{"body over the limit, login", "PUT", "/v1/auth/userpass/login/" + u.Username, "", big, wantTooLarge},
			{"body over the limit, chunked login", "PUT", "/v1/auth/userpass/login/" + u.Username, "", chunked{strings.NewReader(big)}, wantTooLarge},
			{"body over the limit, metadata", "PUT", "/v1/" + inst + "/metadata/big", tok, big, wantTooLarge},
			{"body of exactly the limit", "PUT", "/v1/" + inst + "/data/fits", tok, justFits, http.StatusOK},
			{"body of exactly the limit, chunked", "PUT", "/v1/" + inst + "/data/fits-chunked", tok, chunked{strings.NewReader(justFits)}, http.StatusOK},
			{"depth 32", "PUT", "/v1/" + inst + "/data/deep", tok, nested(maxDepth), http.StatusOK},
			{"depth 33", "PUT", "/v1/" + inst + "/data/deeper", tok, nested(maxDepth + 1), http.StatusBadRequest},
			{"depth 33 in a patch", "PATCH", "/v1/" + inst + "/data/deep", tok, nested(maxDepth + 1), http.StatusBadRequest},
			{"depth 33 in metadata", "PUT", "/v1/" + inst + "/metadata/deep", tok,
				`{"custom_metadata":` + strings.Repeat(`{"k":`, maxDepth) + `"v"` + strings.Repeat("}", maxDepth) + `}`, http.StatusBadRequest},
			{"depth 500 at login", "PUT", "/v1/auth/userpass/login/" + u.Username, "",
				`{"password":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`, http.StatusBadRequest},
			{"10000 values", "PUT", "/v1/" + inst + "/data/many", tok, values(maxValues), http.StatusOK},
			{"10001 values", "PUT", "/v1/" + inst + "/data/too-many", tok, values(maxValues + 1), http.StatusBadRequest},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				hdr := cliHeaders(tc.tok)
				if tc.method == "PATCH" {
					hdr["Content-Type"] = "application/merge-patch+json"
				}
				r := s.vaultReq(t, tc.method, tc.path, hdr, tc.body)
				if tc.want == http.StatusOK {
					envelopeOf(t, r, http.StatusOK)
					return
				}
				if got := errorsOf(t, r, tc.want); len(got) != 1 || got[0] == "" {
					t.Errorf("errors = %q, want one message", got)
				}
			})
		}
	})
}

// loginAnswer is a login's status and body.
type loginAnswer struct {
	status int
	body   string
}

func tryLogin(s *stack, username, password string) (loginAnswer, error) {
	r, err := s.vaultTry("PUT", "/v1/auth/userpass/login/"+username, cliHeaders(""), map[string]any{"password": password})
	return loginAnswer{r.status, string(r.body)}, err
}

// TestLoginLimits runs each case on its own stack: failed logins count per
// user and per client address, and every test client is 127.0.0.1.
func TestLoginLimits(t *testing.T) {
	cases := []struct {
		name string
		f    func(t *testing.T, s *stack, u user)
	}{
		{"unknown user answers like a wrong password", func(t *testing.T, s *stack, u user) {
			wrong, err := tryLogin(s, u.Username, strings.Repeat("A", len(u.Password)))
			if err != nil {
				t.Fatal(err)
			}
			unknown, err := tryLogin(s, "sm-"+strings.Repeat("a", 16), u.Password)
			if err != nil {
				t.Fatal(err)
			}
			if wrong != unknown {
				t.Errorf("wrong password = %+v, unknown user = %+v; want identical", wrong, unknown)
			}
			got := errorsOf(t, reply{status: wrong.status, body: []byte(wrong.body)}, http.StatusBadRequest)
			if !slices.Equal(got, []string{msgBadLogin}) {
				t.Errorf("errors = %q, want %q", got, msgBadLogin)
			}
		}},
		{"lockout after the budget", func(t *testing.T, s *stack, u user) {
			for i := range loginBudget {
				a, err := tryLogin(s, u.Username, "WRONG")
				if err != nil {
					t.Fatal(err)
				}
				if a.status != http.StatusBadRequest || !strings.Contains(a.body, msgBadLogin) {
					t.Fatalf("failed login %d = %+v, want 400 %q", i+1, a, msgBadLogin)
				}
			}
			locked, err := tryLogin(s, u.Username, "WRONG")
			if err != nil {
				t.Fatal(err)
			}
			if got := errorsOf(t, reply{status: locked.status, body: []byte(locked.body)}, http.StatusTooManyRequests); len(got) != 1 {
				t.Errorf("429 errors = %q, want one message", got)
			}
			for name, try := range map[string][2]string{
				"right password":              {u.Username, u.Password},
				"unknown user":                {"sm-" + strings.Repeat("b", 16), "WRONG"},
				"same user, upper case":       {strings.ToUpper(u.Username), "WRONG"},
				"unknown user, same password": {"sm-" + strings.Repeat("c", 16), u.Password},
			} {
				a, err := tryLogin(s, try[0], try[1])
				if err != nil {
					t.Fatal(err)
				}
				if a != locked {
					t.Errorf("%s after lockout = %+v, want the same answer %+v", name, a, locked)
				}
			}
		}},
		{"concurrent failures stay within the budget", func(t *testing.T, s *stack, u user) {
			const attempts = 40
			answers := make([]loginAnswer, attempts)
			errs := make([]error, attempts)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range attempts {
				wg.Go(func() {
					<-start
					answers[i], errs[i] = tryLogin(s, u.Username, "WRONG")
				})
			}
			close(start)
			wg.Wait()
			checked := 0
			for i, a := range answers {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				switch a.status {
				case http.StatusBadRequest:
					checked++
				case http.StatusTooManyRequests:
				default:
					t.Errorf("attempt %d = %+v, want 400 or 429", i, a)
				}
			}
			if checked > loginBudget {
				t.Errorf("%d of %d concurrent wrong-password logins were checked (400), want at most %d (the rest 429)",
					checked, attempts, loginBudget)
			}
		}},
		{"concurrent successful logins are not limited", func(t *testing.T, s *stack, u user) {
			// Only failures count: a fleet logging in at once from one
			// address (a NAT, a node) must not be refused.
			const attempts = 3 * loginBudget
			answers := make([]loginAnswer, attempts)
			errs := make([]error, attempts)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range attempts {
				wg.Go(func() {
					<-start
					answers[i], errs[i] = tryLogin(s, u.Username, u.Password)
				})
			}
			close(start)
			wg.Wait()
			for i, a := range answers {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				if a.status != http.StatusOK {
					t.Errorf("login %d = %d %s, want 200", i, a.status, a.body)
				}
			}
			// And failures still count from zero afterwards.
			for i := range loginBudget {
				if a, err := tryLogin(s, u.Username, "WRONG"); err != nil || a.status != http.StatusBadRequest {
					t.Fatalf("failed login %d after the successes = %+v, %v; want 400", i+1, a, err)
				}
			}
			if a, err := tryLogin(s, u.Username, "WRONG"); err != nil || a.status != http.StatusTooManyRequests {
				t.Errorf("failed login %d = %+v, %v; want 429", loginBudget+1, a, err)
			}
		}},
	}
	for _, k := range apitest.Kinds {
		for _, tc := range cases {
			t.Run(string(k)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := newStack(t, k)
				tc.f(t, s, s.createUser(t, s.createInstance(t, "logins"), false))
			})
		}
	}
}
