package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testSealCheck(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("FirstWins", func(t *testing.T) {
		t.Parallel()
		s := open(t).SealCheck
		ctx := t.Context()
		first := []byte("wrapped check value 1")
		got, err := s.EnsureSealCheck(ctx, clone(first))
		mustOK(t, "EnsureSealCheck()", err)
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("EnsureSealCheck() mismatch (-want +got):\n%s", diff)
		}
		got, err = s.EnsureSealCheck(ctx, []byte("wrapped check value 2"))
		mustOK(t, "EnsureSealCheck(second)", err)
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("EnsureSealCheck(second) mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s := open(t).SealCheck
		const n = 10
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				v, err := s.EnsureSealCheck(t.Context(), fmt.Appendf(nil, "value %d", i))
				if err != nil {
					t.Errorf("EnsureSealCheck() error = %v", err)
					return
				}
				got[i] = string(v)
			})
		}
		wg.Wait()
		for i, v := range got {
			if v != got[0] {
				t.Errorf("EnsureSealCheck() call %d returned %q, call 0 returned %q; want one value", i, v, got[0])
			}
		}
	})

	t.Run("ReturnedBytesAreCopies", func(t *testing.T) {
		t.Parallel()
		s := open(t).SealCheck
		ctx := t.Context()
		want := []byte("wrapped check value")
		in := clone(want)
		got, err := s.EnsureSealCheck(ctx, in)
		mustOK(t, "EnsureSealCheck()", err)
		scribble(in, got)
		got, err = s.EnsureSealCheck(ctx, []byte("other"))
		mustOK(t, "EnsureSealCheck()", err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("EnsureSealCheck() after mutating slices mismatch (-want +got):\n%s", diff)
		}
	})
}
