package kv

// Internals for the tests of package kv_test.
var (
	ValidatePath   = validatePath
	ValidatePrefix = validatePrefix
	MergePatch     = mergePatch
	SubkeysOf      = subkeys
)
