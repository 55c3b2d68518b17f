package token

import (
	"bytes"
	"testing"
)

func TestPooledHashIsHashSecret(t *testing.T) {
	key := bytes.Repeat([]byte{7}, HashKeySize)
	s := NewService(Config{DefaultTTL: 1}, nil, key)
	for _, secret := range []string{"hvs.a", "hvs.b", "", "hvs.a"} {
		if got, want := s.hash(secret), hashSecret(key, secret); !bytes.Equal(got, want) {
			t.Fatalf("hash(%q) = %x, want %x", secret, got, want)
		}
	}
}
