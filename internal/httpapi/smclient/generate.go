// Package smclient is an HTTP client generated from openapi/secretsmanager.yaml, the
// contract of Coffer's Secrets Manager control plane (v1 and regional v2). Only tests use
// it: it drives the v2 surface, which no published SDK covers. Do not edit
// smclient.gen.go; edit the YAML and run
//
//	go generate ./internal/httpapi/smclient/
package smclient

//go:generate go tool oapi-codegen -config cfg.yaml ../../../openapi/secretsmanager.yaml
