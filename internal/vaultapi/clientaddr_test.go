package vaultapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestClientAddr: the client is the socket peer; X-Forwarded-For counts only
// when the peer is a configured trusted proxy (Echo would otherwise trust
// loopback and private peers by default), so no client can claim an address
// inside an instance's ACL.
func TestClientAddr(t *testing.T) {
	cases := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     string
		want    string
	}{
		{"no proxies: header ignored", nil, "203.0.113.7:5000", "10.0.0.1", "203.0.113.7"},
		{"no proxies: loopback peer not trusted", nil, "127.0.0.1:5000", "10.0.0.1", "127.0.0.1"},
		{"trusted proxy: header used", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "192.0.2.10:5000", "10.0.0.1", "10.0.0.1"},
		{"untrusted peer with proxies configured", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "198.51.100.1:5000", "10.0.0.1", "198.51.100.1"},
		{"private peer not trusted by default", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, "10.9.9.9:5000", "10.0.0.1", "10.9.9.9"},
		{"ipv4-mapped peer", nil, "[::ffff:203.0.113.7]:5000", "", "203.0.113.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.IPExtractor = ipExtractor(tc.trusted)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.peer
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			got := clientAddr(e.NewContext(req, httptest.NewRecorder()))
			if got.String() != tc.want {
				t.Errorf("clientAddr = %s, want %s", got, tc.want)
			}
		})
	}
}
