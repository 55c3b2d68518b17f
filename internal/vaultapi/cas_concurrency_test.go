package vaultapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// casAttempt is one writer's read-then-write with options.cas.
type casAttempt struct {
	cas     int // the version read (0: none yet)
	status  int
	version int      // the version written, when accepted
	errs    []string // the errors, when rejected
	body    string
	err     error // a transport or read failure
}

// readVersion returns the secret's current version through HTTP: 0 when
// it has none yet. It is safe to call from any goroutine.
func readVersion(s *stack, tok, p string) (int, error) {
	r, err := s.vaultTry("GET", p, cliHeaders(tok), nil)
	switch {
	case err != nil:
		return 0, err
	case r.status == http.StatusNotFound:
		return 0, nil
	case r.status != http.StatusOK:
		return 0, fmt.Errorf("read %s = %d %s", p, r.status, r.body)
	}
	var m struct {
		Data struct {
			Metadata struct {
				Version int `json:"version"`
			} `json:"metadata"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &m); err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	return m.Data.Metadata.Version, nil
}

// casWrite writes with options.cas = cas and records the outcome. It is
// safe to call from any goroutine.
func casWrite(s *stack, tok, p string, cas, writer int) casAttempt {
	r, err := s.vaultTry("PUT", p, cliHeaders(tok), map[string]any{
		"options": map[string]any{"cas": cas},
		"data":    map[string]any{"writer": fmt.Sprint(writer), "cas": fmt.Sprint(cas)},
	})
	if err != nil {
		return casAttempt{cas: cas, err: err}
	}
	a := casAttempt{cas: cas, status: r.status, body: string(r.body)}
	var m struct {
		Data struct {
			Version int `json:"version"`
		} `json:"data"`
		Errors []string `json:"errors"`
	}
	_ = json.Unmarshal(r.body, &m)
	a.version, a.errs = m.Data.Version, m.Errors
	return a
}

// outcome classifies a: accepted (with the version cas+1), rejected with
// Vault's CAS message, or neither (the reason).
func (a casAttempt) outcome() (accepted, rejected bool, why string) {
	switch {
	case a.err != nil:
		return false, false, a.err.Error()
	case a.status == http.StatusOK && a.version == a.cas+1:
		return true, false, ""
	case a.status == http.StatusBadRequest && slices.Equal(a.errs, []string{msgCASMismatch}):
		return false, true, ""
	}
	return false, false, fmt.Sprintf("cas %d: %d %s, want 200 version %d or 400 %q", a.cas, a.status, a.body, a.cas+1, msgCASMismatch)
}

// race starts one attempt per writer at once; cas returns the version a
// writer sends (it may read it first).
func race(s *stack, tok, p string, writers int, cas func() (int, error)) []casAttempt {
	start := make(chan struct{})
	results := make([]casAttempt, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			v, err := cas()
			if err != nil {
				results[i] = casAttempt{err: err}
				return
			}
			results[i] = casWrite(s, tok, p, v, i)
		})
	}
	close(start)
	wg.Wait()
	return results
}

// TestCASConcurrency races 50 writers of one secret through one write
// user's token, each writing with options.cas set to the version it read.
// Rounds repeat until at least 10 writes were accepted (a rejected writer
// retries with a fresh read in the next round). In every round each
// attempt is either accepted or rejected with Vault's CAS message; the
// accepted writes got the versions 1..N, each once, and current_version
// is N.
func TestCASConcurrency(t *testing.T) {
	const (
		writers     = 50
		minAccepted = 10
		maxRounds   = 40
	)
	forEachKind(t, func(t *testing.T, s *stack) {
		inst := s.createInstance(t, "cas")
		_, login := s.login(t, s.createUser(t, inst, true))
		tok := login.Auth.ClientToken

		t.Run("read then write", func(t *testing.T) {
			t.Parallel()
			p := "/v1/" + inst + "/data/race/read-write"
			var accepted []int
			for round := 0; len(accepted) < minAccepted; round++ {
				if round == maxRounds {
					t.Fatalf("only %d writes accepted in %d rounds", len(accepted), maxRounds)
				}
				results := race(s, tok, p, writers, func() (int, error) { return readVersion(s, tok, p) })
				ok, rejected := 0, 0
				for i, a := range results {
					acc, rej, why := a.outcome()
					switch {
					case acc:
						ok++
						accepted = append(accepted, a.version)
					case rej:
						rejected++
					default:
						t.Errorf("round %d writer %d: %s", round, i, why)
					}
				}
				if ok+rejected != writers {
					t.Fatalf("round %d: accepted %d + rejected %d != %d", round, ok, rejected, writers)
				}
				if ok == 0 {
					t.Fatalf("round %d: no write accepted", round)
				}
			}
			t.Logf("%d writes accepted", len(accepted))
			checkVersions(t, s, tok, inst, "race/read-write", accepted)
		})

		t.Run("one snapshot", func(t *testing.T) {
			t.Parallel()
			// All writers send the same version: exactly one may win.
			p := "/v1/" + inst + "/data/race/snapshot"
			var accepted []int
			for round := range 3 {
				cas, err := readVersion(s, tok, p)
				if err != nil {
					t.Fatal(err)
				}
				results := race(s, tok, p, writers, func() (int, error) { return cas, nil })
				won, rejected := 0, 0
				for i, a := range results {
					acc, rej, why := a.outcome()
					switch {
					case acc:
						won++
						accepted = append(accepted, a.version)
					case rej:
						rejected++
					default:
						t.Errorf("round %d writer %d: %s", round, i, why)
					}
				}
				if won != 1 || won+rejected != writers {
					t.Fatalf("round %d: %d writers with cas=%d won and %d were rejected, want 1 and %d", round, won, cas, rejected, writers-1)
				}
			}
			checkVersions(t, s, tok, inst, "race/snapshot", accepted)
		})
	})
}

// checkVersions checks that accepted holds 1..N once each and that the
// secret's metadata agrees: current_version N, every retained version
// readable with the writer that wrote it.
func checkVersions(t *testing.T, s *stack, tok, inst, secret string, accepted []int) {
	t.Helper()
	got := slices.Sorted(slices.Values(accepted))
	want := make([]int, len(accepted))
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(got, want) {
		t.Errorf("accepted versions = %v, want 1..%d each once", got, len(want))
	}
	r := s.vaultReq(t, "GET", "/v1/"+inst+"/metadata/"+secret, cliHeaders(tok), nil)
	m := envelopeOf(t, r, http.StatusOK)
	if cur := path(m, "data", "current_version"); cur != json.Number(fmt.Sprint(len(accepted))) {
		t.Errorf("current_version = %v, want %d", cur, len(accepted))
	}
	versions, _ := path(m, "data", "versions").(map[string]any)
	if len(versions) != min(len(accepted), 10) {
		t.Errorf("%d versions retained, want %d (max_versions 10)", len(versions), min(len(accepted), 10))
	}
	for v := range versions {
		r := s.vaultReq(t, "GET", "/v1/"+inst+"/data/"+secret+"?version="+v, cliHeaders(tok), nil)
		d := envelopeOf(t, r, http.StatusOK)
		if path(d, "data", "metadata", "version") != json.Number(v) || path(d, "data", "data", "cas") == nil {
			t.Errorf("version %s = %v", v, d["data"])
		}
		if c, _ := path(d, "data", "data", "cas").(string); c != fmt.Sprint(mustAtoi(t, v)-1) {
			t.Errorf("version %s was written with cas %s, want %d", v, c, mustAtoi(t, v)-1)
		}
	}
}

func mustAtoi(tb testing.TB, s string) int {
	tb.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		tb.Fatal(err)
	}
	return n
}
