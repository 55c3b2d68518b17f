package main

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
	"github.com/cofferhq/coffer/internal/transit"
)

// TestTransitSettingsSurviveRestart: a transit mount's config/keys and
// cache-config are kept in the store, so a restarted server (or another
// replica) has them; the auto-rotation counter is on /metrics.
func TestTransitSettingsSurviveRestart(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dbURL := ""
			if kind == "postgres" {
				dbURL = dbtest.Postgres(t)
			}
			api := setEnv(t, dbURL)
			if kind == "postgres" {
				k, _ := seal.NewRootKey()
				t.Setenv("COFFER_ROOT_KEY", base64.StdEncoding.EncodeToString(k))
			}
			vault := "http://" + os.Getenv("COFFER_VAULT_ADDR") + "/v1/"
			stop := startServe(t, api)
			out, err := cli(t, "vault", "root-token")
			if err != nil {
				t.Fatal(err)
			}
			root := strings.TrimSpace(out)
			must := func(method, path, body string, want int) string {
				t.Helper()
				code, b := call(t, method, vault+path, root, body)
				if code != want {
					t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, want)
				}
				return b
			}
			must("POST", "sys/mounts/tr", `{"type":"transit"}`, 204)
			must("POST", "tr/config/keys", `{"disable_upsert":true}`, 200)
			must("POST", "tr/cache-config", `{"size":32}`, 200)
			_, metrics := call(t, http.MethodGet, api+"/metrics", "", "")
			if !strings.Contains(metrics, "coffer_transit_auto_rotations_total 0") {
				t.Error("/metrics lacks coffer_transit_auto_rotations_total")
			}
			if err := stop(); err != nil {
				t.Fatalf("serve stop: %v", err)
			}

			stop = startServe(t, api)
			defer stop()
			var got struct {
				Data map[string]any `json:"data"`
			}
			json.Unmarshal([]byte(must("GET", "tr/config/keys", "", 200)), &got)
			if got.Data["disable_upsert"] != true {
				t.Errorf("config/keys after restart = %v", got.Data)
			}
			json.Unmarshal([]byte(must("GET", "tr/cache-config", "", 200)), &got)
			if got.Data["size"] != float64(32) {
				t.Errorf("cache-config after restart = %v", got.Data)
			}
			if b := must("POST", "tr/encrypt/new", `{"plaintext":"aGk="}`, 400); !strings.Contains(b, "encryption key not found") {
				t.Errorf("encrypt with upserts disabled = %s", b)
			}
		})
	}
}

// TestAutoRotateSweep: the sweep rotates due keys of every transit mount,
// and only those, and counts them.
func TestAutoRotateSweep(t *testing.T) {
	ctx := t.Context()
	db := sqlitetest.Open(t)
	root, _ := seal.NewRootKey()
	sl, err := seal.New(root)
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	now.Store(t0.UnixNano())
	tr := transit.NewService(db.Transit(), sl, transit.WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
	mounts := mount.NewService(db.Mounts(), nil)
	for _, m := range []string{"tr1", "tr2"} {
		if _, err := mounts.Enable(ctx, mount.KindSecret, m, mount.TypeTransit, "", nil, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []struct {
		mount, name string
		period      time.Duration
	}{{"tr1", "a", time.Hour}, {"tr1", "b", 0}, {"tr2", "a", 2 * time.Hour}, {"other", "a", time.Hour}} {
		if _, err := tr.Create(ctx, k.mount, k.name, transit.TypeAES256GCM96, transit.Options{AutoRotatePeriod: k.period}); err != nil {
			t.Fatal(err)
		}
	}
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "rotations"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(counter)
	log := slog.New(slog.DiscardHandler)
	for _, st := range []struct {
		at   time.Duration
		want float64
	}{{30 * time.Minute, 0}, {time.Hour, 1}, {2 * time.Hour, 3}, {2 * time.Hour, 3}} {
		now.Store(t0.Add(st.at).UnixNano())
		autoRotate(ctx, log, mounts, tr, counter)
		mfs, err := reg.Gather()
		if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
			t.Fatalf("Gather() = %v, %v", mfs, err)
		}
		if got := mfs[0].GetMetric()[0].GetCounter().GetValue(); got != st.want {
			t.Errorf("after the sweep at +%v: %v rotations counted, want %v", st.at, got, st.want)
		}
	}
	for _, k := range []struct {
		mount, name string
		latest      int
	}{{"tr1", "a", 3}, {"tr1", "b", 1}, {"tr2", "a", 2}, {"other", "a", 1}} {
		key, err := tr.Key(ctx, k.mount, k.name)
		if err != nil || key.LatestVersion != k.latest {
			t.Errorf("%s/%s latest version = %v, %v; want %d", k.mount, k.name, key, err, k.latest)
		}
	}
}
