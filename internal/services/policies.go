package services

import (
	"regexp"
	"strings"

	"github.com/cofferhq/coffer/internal/token"
)

// The policies of the services file (the seed's "Policies" table).
const (
	PolicyAdmin   = "admin"
	PolicySign    = "sign"
	PolicyVerify  = "verify"
	PolicyEncrypt = "encrypt"
	PolicyDecrypt = "decrypt"
	PolicyRewrap  = "rewrap"
)

// The endpoint types of the services file.
const (
	TypeSign    = "sign"
	TypeEncrypt = "encrypt"
)

// Policies lists the services file's policies in the seed's order.
var Policies = []string{PolicyAdmin, PolicySign, PolicyVerify, PolicyEncrypt, PolicyDecrypt, PolicyRewrap}

// KeyTypes maps an endpoint type to the Vault key type of its keys, as the
// seed has it: sign → ecdsa-p256, encrypt → chacha20-poly1305.
var KeyTypes = map[string]string{TypeSign: "ecdsa-p256", TypeEncrypt: "chacha20-poly1305"}

// policyTypes lists the endpoint types each policy fits: sign and verify
// need a signing key, encrypt, decrypt and rewrap an encryption key; admin
// manages either.
var policyTypes = map[string][]string{
	PolicyAdmin:   {TypeSign, TypeEncrypt},
	PolicySign:    {TypeSign},
	PolicyVerify:  {TypeSign},
	PolicyEncrypt: {TypeEncrypt},
	PolicyDecrypt: {TypeEncrypt},
	PolicyRewrap:  {TypeEncrypt},
}

// PolicyPrefix starts the name of every policy of the services file.
const PolicyPrefix = "transit-"

// PolicyName returns the name of the built-in policy that grants policy on
// key in the mount "transit": "transit-<policy>-<key>", such as
// "transit-admin-vault-sign". Policy names hold no "-", so the name parses
// back unambiguously however many "-" the key has.
func PolicyName(policy, key string) string { return PolicyPrefix + policy + "-" + key }

// keyNameRE is what a key of the services file may be called: a letter or
// digit, then letters, digits, "_", "." or "-", at most 128 in all. It
// keeps policy paths literal: no "*", "+" or "/" can reach a rule.
var keyNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// validKey reports whether key is a valid key name for the services file.
func validKey(key string) bool { return keyNameRE.MatchString(key) }

// Resolve returns the built-in policy called name when it is one of the
// services file's ("transit-<policy>-<key>" with a known policy and a valid
// key name); ok is false otherwise. It is a token.Resolver for those names.
//
// Rules follow the seed's table, on the mount "transit", and never use a
// glob that could match another key: "transit/keys/KEY/*" matches below
// KEY only, so KEY2 is not granted by KEY's policies.
//
//	admin:   transit/keys/KEY (read), transit/keys/KEY/* (read, create, update, delete)
//	sign:    transit/sign/KEY and transit/sign/KEY/* (read, update; the suffix is the hash algorithm)
//	verify:  transit/verify/KEY and transit/verify/KEY/* (read, update)
//	encrypt: transit/encrypt/KEY (read, update); decrypt and rewrap likewise
func Resolve(name string) (*token.Policy, bool) {
	rest, ok := strings.CutPrefix(name, PolicyPrefix)
	if !ok {
		return nil, false
	}
	policy, key, ok := strings.Cut(rest, "-")
	if !ok || !validKey(key) {
		return nil, false
	}
	rw := []string{token.CapRead, token.CapUpdate}
	var rules []token.Rule
	switch policy {
	case PolicyAdmin:
		rules = []token.Rule{
			{Path: Mount + "/keys/" + key, Capabilities: []string{token.CapRead}},
			{Path: Mount + "/keys/" + key + "/*",
				Capabilities: []string{token.CapRead, token.CapCreate, token.CapUpdate, token.CapDelete}},
		}
	case PolicySign, PolicyVerify:
		rules = []token.Rule{
			{Path: Mount + "/" + policy + "/" + key, Capabilities: rw},
			{Path: Mount + "/" + policy + "/" + key + "/*", Capabilities: rw},
		}
	case PolicyEncrypt, PolicyDecrypt, PolicyRewrap:
		rules = []token.Rule{{Path: Mount + "/" + policy + "/" + key, Capabilities: rw}}
	default:
		return nil, false
	}
	return &token.Policy{Name: name, Rules: rules}, true
}
