// Package openapi embeds Coffer's REST contracts, so the server can serve
// the exact documents its handlers are generated from and validated against.
package openapi

import _ "embed"

// SecretsManagerYAML is openapi/secretsmanager.yaml: the Secrets Manager
// control plane, v1 and regional v2.
//
//go:embed secretsmanager.yaml
var SecretsManagerYAML []byte

// KMSYAML is openapi/kms.yaml: the Key Management Service, compatible with
// STACKIT KMS API v1.
//
//go:embed kms.yaml
var KMSYAML []byte
