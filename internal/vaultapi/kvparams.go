package vaultapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

// The request parsers below turn Vault's loosely typed JSON parameters
// into Go values, with a 400 naming the parameter on a wrong type.

func intParam(name string, v any) (int, error) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.Atoi(n.String())
		if err == nil {
			return i, nil
		}
	case string:
		i, err := strconv.Atoi(n)
		if err == nil {
			return i, nil
		}
	}
	return 0, errs.E(errs.InvalidArgument, "%s: expected an integer", name)
}

func boolParam(name string, v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p, nil
		}
	}
	return false, errs.E(errs.InvalidArgument, "%s: expected a boolean", name)
}

// durationParam accepts a Go duration ("1h30m", "0s") or whole seconds.
func durationParam(name string, v any) (time.Duration, error) {
	switch d := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(d.String(), 10, 64); err == nil && i >= 0 {
			return time.Duration(i) * time.Second, nil
		}
	case string:
		if i, err := strconv.ParseInt(d, 10, 64); err == nil && i >= 0 {
			return time.Duration(i) * time.Second, nil
		}
		if p, err := time.ParseDuration(d); err == nil && p >= 0 {
			return p, nil
		}
	}
	return 0, errs.E(errs.InvalidArgument, "%s: expected a duration such as \"1h\" or a number of seconds", name)
}

// versionsParam reads {"versions": [1, 2]}.
func versionsParam(body map[string]any) ([]int, error) {
	raw, ok := body["versions"].([]any)
	if !ok || len(raw) == 0 {
		return nil, errs.E(errs.InvalidArgument, "no version number provided")
	}
	out := make([]int, 0, len(raw))
	for _, v := range raw {
		i, err := intParam("versions", v)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

// casParam reads {"options": {"cas": N}}; nil when absent.
func casParam(body map[string]any) (*int, error) {
	opts, ok := body["options"].(map[string]any)
	if !ok {
		if body["options"] != nil {
			return nil, errs.E(errs.InvalidArgument, "options: expected an object")
		}
		return nil, nil
	}
	v, ok := opts["cas"]
	if !ok {
		return nil, nil
	}
	n, err := intParam("options.cas", v)
	return &n, err
}

// metadataUpdate reads the settable metadata fields; absent ones stay nil.
func metadataUpdate(body map[string]any, patch bool) (kv.MetadataUpdate, error) {
	var u kv.MetadataUpdate
	if v, ok := body["max_versions"]; ok {
		n, err := intParam("max_versions", v)
		if err != nil {
			return u, err
		}
		u.MaxVersions = &n
	}
	if v, ok := body["cas_required"]; ok {
		b, err := boolParam("cas_required", v)
		if err != nil {
			return u, err
		}
		u.CASRequired = &b
	}
	if v, ok := body["delete_version_after"]; ok {
		d, err := durationParam("delete_version_after", v)
		if err != nil {
			return u, err
		}
		u.DeleteVersionAfter = &d
	}
	if v, ok := body["custom_metadata"]; ok && v != nil {
		m, isMap := v.(map[string]any)
		if !isMap {
			return u, errs.E(errs.InvalidArgument, "custom_metadata: expected an object of strings")
		}
		u.CustomMetadata = map[string]*string{}
		for k, raw := range m {
			switch s := raw.(type) {
			case string:
				u.CustomMetadata[k] = &s
			case nil:
				if !patch {
					return u, errs.E(errs.InvalidArgument, "custom_metadata.%s: expected a string", k)
				}
				u.CustomMetadata[k] = nil
			default:
				return u, errs.E(errs.InvalidArgument, "custom_metadata.%s: expected a string", k)
			}
		}
	}
	return u, nil
}

// versionMeta renders a version's metadata as Vault does: deletion_time is
// "" when unset, times are RFC 3339 with nanoseconds.
func versionMeta(vm kv.VersionMeta, custom map[string]string) map[string]any {
	del := ""
	if !vm.DeletionTime.IsZero() {
		del = vm.DeletionTime.UTC().Format(time.RFC3339Nano)
	}
	var cm any
	if len(custom) > 0 {
		cm = custom
	}
	return map[string]any{"created_time": vm.CreatedTime.UTC().Format(time.RFC3339Nano), "custom_metadata": cm,
		"deletion_time": del, "destroyed": vm.Destroyed, "version": vm.Version}
}

// secretData is the data of a KV read: {"data": ..., "metadata": ...}.
func secretData(s *kv.Secret) map[string]any {
	var data any
	if s.Data != nil {
		data = s.Data
	}
	return map[string]any{"data": data, "metadata": versionMeta(s.Meta, s.CustomMetadata)}
}

func metadataData(md *kv.Metadata) map[string]any {
	versions := map[string]any{}
	for _, v := range md.Versions {
		m := versionMeta(v, nil)
		delete(m, "custom_metadata")
		delete(m, "version")
		versions[strconv.Itoa(v.Version)] = m
	}
	var cm any
	if len(md.CustomMetadata) > 0 {
		cm = md.CustomMetadata
	}
	return map[string]any{
		"cas_required": md.CASRequired, "created_time": md.CreatedTime.UTC().Format(time.RFC3339Nano),
		"current_version": md.CurrentVersion, "custom_metadata": cm,
		"delete_version_after": md.DeleteVersionAfter.String(), "max_versions": md.MaxVersions,
		"oldest_version": md.OldestVersion, "updated_time": md.UpdatedTime.UTC().Format(time.RFC3339Nano),
		"versions": versions,
	}
}
