package kv

import "maps"

// mergePatch returns target with patch applied as a JSON merge patch
// (RFC 7386): a null member removes the key, an object member merges into
// the target's member (an object, or {} when it is something else), any
// other member replaces it. Neither argument is modified; the result may
// share non-object values with them.
func mergePatch(target, patch map[string]any) map[string]any {
	out := make(map[string]any, len(target)+len(patch))
	maps.Copy(out, target)
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		if p, ok := v.(map[string]any); ok {
			t, _ := out[k].(map[string]any)
			out[k] = mergePatch(t, p)
			continue
		}
		out[k] = v
	}
	return out
}

// subkeys returns the structure of data: its keys with objects recursed
// into and every other value null. With depth > 0, objects deeper than
// depth are null too (depth 1: only the top-level keys).
func subkeys(data map[string]any, depth int) map[string]any {
	return subkeysAt(data, depth, 1)
}

func subkeysAt(m map[string]any, depth, level int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if child, ok := v.(map[string]any); ok && (depth == 0 || level < depth) {
			out[k] = subkeysAt(child, depth, level+1)
			continue
		}
		out[k] = nil
	}
	return out
}
