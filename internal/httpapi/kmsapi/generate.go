// Package kmsapi holds the Go code generated from openapi/kms.yaml, the HTTP contract of
// Coffer's Key Management Service (STACKIT KMS API v1 compatible): models, the Echo strict
// server interface and the embedded spec used by the request validator. Do not edit
// kmsapi.gen.go; edit the YAML and run
//
//	go generate ./internal/httpapi/kmsapi/
package kmsapi

//go:generate go tool oapi-codegen -config cfg.yaml ../../../openapi/kms.yaml
