package vaultapi

import (
	"strings"

	"github.com/cofferhq/coffer/internal/services"
	"github.com/cofferhq/coffer/internal/token"
)

// Built-in policy names. An instance user's token carries the read or the
// read-write policy of that instance's mount, named after the instance ID.
const (
	policyRoot     = "root"
	policyDefault  = "default"
	readPrefix     = "sm-read-"
	readWritePrefx = "sm-write-"
)

// instancePolicy returns the policy name for a user of instance id.
func instancePolicy(id string, write bool) string {
	if write {
		return readWritePrefx + id
	}
	return readPrefix + id
}

var defaultPolicy = &token.Policy{Name: policyDefault, Rules: []token.Rule{
	{Path: "auth/token/lookup-self", Capabilities: []string{token.CapRead}},
	{Path: "auth/token/renew-self", Capabilities: []string{token.CapUpdate}},
	{Path: "auth/token/revoke-self", Capabilities: []string{token.CapUpdate}},
	{Path: "sys/capabilities-self", Capabilities: []string{token.CapUpdate}},
}}

// resolvePolicy is the token.Resolver of the Vault listener. Besides the
// policies above it knows the services file's per-key transit policies
// ("transit-<policy>-<key>", see services.Resolve).
func resolvePolicy(name string) (*token.Policy, bool) {
	switch {
	case name == policyRoot:
		return &token.Policy{Name: policyRoot}, true
	case name == policyDefault:
		return defaultPolicy, true
	case strings.HasPrefix(name, readWritePrefx):
		return kvPolicy(name, strings.TrimPrefix(name, readWritePrefx), true), true
	case strings.HasPrefix(name, readPrefix):
		return kvPolicy(name, strings.TrimPrefix(name, readPrefix), false), true
	case strings.HasPrefix(name, services.PolicyPrefix):
		return services.Resolve(name)
	}
	return nil, false
}

// kvPolicy is read (or read-write) access to one KV v2 mount: data,
// metadata, subkeys and config, as STACKIT's read-only and write users have.
func kvPolicy(name, mount string, write bool) *token.Policy {
	read := []string{token.CapRead, token.CapList}
	rules := []token.Rule{
		{Path: mount + "/data/*", Capabilities: []string{token.CapRead}},
		{Path: mount + "/metadata/*", Capabilities: read},
		{Path: mount + "/metadata", Capabilities: []string{token.CapList}},
		{Path: mount + "/subkeys/*", Capabilities: []string{token.CapRead}},
		{Path: mount + "/config", Capabilities: []string{token.CapRead}},
	}
	if write {
		all := []string{token.CapCreate, token.CapRead, token.CapUpdate, token.CapDelete, token.CapList}
		rules = []token.Rule{
			{Path: mount + "/data/*", Capabilities: all},
			{Path: mount + "/metadata/*", Capabilities: all},
			{Path: mount + "/metadata", Capabilities: []string{token.CapList}},
			{Path: mount + "/delete/*", Capabilities: []string{token.CapUpdate}},
			{Path: mount + "/undelete/*", Capabilities: []string{token.CapUpdate}},
			{Path: mount + "/destroy/*", Capabilities: []string{token.CapUpdate}},
			{Path: mount + "/subkeys/*", Capabilities: []string{token.CapRead}},
			{Path: mount + "/config", Capabilities: []string{token.CapRead}},
		}
	}
	return &token.Policy{Name: name, Rules: rules}
}
