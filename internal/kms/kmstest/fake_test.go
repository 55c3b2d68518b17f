package kmstest

import (
	"testing"

	"github.com/cofferhq/coffer/internal/kms"
)

// TestFakeConforms keeps the fake honest: it passes the same suite.
func TestFakeConforms(t *testing.T) {
	Run(t, func(t *testing.T) Fixture {
		ref := func(n int64) kms.KeyRef { return kms.KeyRef{KeyRingID: "r", KeyID: "k", KeyVersion: n} }
		f := NewFake(ref(1), ref(2), ref(3))
		f.Disable(ref(3))
		return Fixture{Keeper: f, Active: ref(1), Other: ref(2), Disabled: ref(3), Missing: ref(9)}
	})
}
