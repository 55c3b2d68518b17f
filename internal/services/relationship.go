package services

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/cofferhq/coffer/internal/errs"
)

// Relationship is one relationship of the platform's _RELATIONSHIPS
// variable, with the seed's fields in the seed's order. Password is the
// endpoint's token: String leaves it out, JSON does not.
type Relationship struct {
	Username    string   `json:"username"`
	Scheme      string   `json:"scheme"`
	Service     string   `json:"service"`
	Fragment    string   `json:"fragment"`
	IP          string   `json:"ip"`
	InstanceIPs []string `json:"instance_ips"`
	Hostname    string   `json:"hostname"`
	Port        int      `json:"port"`
	Cluster     string   `json:"cluster"`
	Host        string   `json:"host"`
	Rel         string   `json:"rel"`
	Path        string   `json:"path"`
	Query       Query    `json:"query"`
	Password    string   `json:"password"`
	Type        string   `json:"type"`
	Public      bool     `json:"public"`
	HostMapped  bool     `json:"host_mapped"`
}

// Query is the relationship's "query".
type Query struct {
	IsMaster bool `json:"is_master"`
}

// String describes r without its password.
func (r Relationship) String() string {
	return fmt.Sprintf("relationship %s (%s://%s:%d, service %s)", r.Rel, r.Scheme, r.Host, r.Port, r.Service)
}

// GoString is String, so that %#v does not show the password either.
func (r Relationship) GoString() string { return r.String() }

// Conn is where clients reach the Vault listener, as relationships give it.
type Conn struct {
	Scheme string // "http" or "https"
	Host   string // host name or IP address, without port
	Port   int
	Path   string // "/" unless the listener is published below a path
	// IP is Host when Host is an IP address, else empty: Coffer does not
	// resolve names for relationships.
	IP string
	// Cluster names the Vault cluster (its cluster_name).
	Cluster string
}

// ConnFromURL returns the Conn of the Vault listener's public URL
// (COFFER_VAULT_PUBLIC_URL, by default "http://" + COFFER_VAULT_ADDR): its
// scheme, host, port (80 or 443 when the URL has none) and path. A URL
// that is not http(s) with a host is errs.InvalidArgument.
func ConnFromURL(raw, cluster string) (Conn, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return Conn{}, errs.E(errs.InvalidArgument, "COFFER_VAULT_PUBLIC_URL %q is not an http(s) URL with a host", raw)
	}
	c := Conn{Scheme: u.Scheme, Host: u.Hostname(), Path: u.Path, Cluster: cluster}
	if c.Path == "" {
		c.Path = "/"
	}
	switch p := u.Port(); {
	case p != "":
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return Conn{}, errs.E(errs.InvalidArgument, "COFFER_VAULT_PUBLIC_URL %q has an invalid port", raw)
		}
	case u.Scheme == "https":
		c.Port = 443
	default:
		c.Port = 80
	}
	if a, err := netip.ParseAddr(c.Host); err == nil {
		c.IP = a.String()
	}
	return c, nil
}

// Relationships returns the relationships of creds keyed by relationship
// name, the endpoint id (as `relationships: {<id>: "<service>:<id>"}`
// names them), each a one-element array as _RELATIONSHIPS holds it.
func Relationships(creds []Credential, c Conn) map[string][]Relationship {
	out := make(map[string][]Relationship, len(creds))
	for _, cr := range creds {
		ips := []string{}
		if c.IP != "" {
			ips = []string{c.IP}
		}
		out[cr.Endpoint] = []Relationship{{
			Scheme: c.Scheme, Service: cr.Service, IP: c.IP, InstanceIPs: ips, Hostname: c.Host, Port: c.Port,
			Cluster: c.Cluster, Host: c.Host, Rel: cr.Endpoint, Path: c.Path, Query: Query{IsMaster: true},
			Password: cr.Token, Type: RelationshipType,
		}}
	}
	return out
}
