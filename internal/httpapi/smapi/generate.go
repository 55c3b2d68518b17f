// Package smapi holds the Go code generated from openapi/secretsmanager.yaml, the HTTP
// contract of Coffer's Secrets Manager control plane (STACKIT-compatible v1 plus Coffer's
// regional v2): models, the Echo strict server interface and the embedded spec used by the
// request validator. Do not edit smapi.gen.go; edit the YAML and run
//
//	go generate ./internal/httpapi/smapi/
package smapi

//go:generate go tool oapi-codegen -config cfg.yaml ../../../openapi/secretsmanager.yaml
