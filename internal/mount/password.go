package mount

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/cofferhq/coffer/internal/errs"
)

// MaxPasswordLen is the longest userpass password, in bytes.
const MaxPasswordLen = 1024

// argonParams are the cost parameters of an argon2id hash.
type argonParams struct {
	time    uint32 // passes
	memory  uint32 // KiB
	threads uint8
}

// hashParams are the parameters of new hashes: OWASP's second argon2id
// choice (19 MiB, two passes, one lane). RFC 9106's 64 MiB or 2 GiB would
// make every login, and every vault-benchmark userpass request, cost that
// much memory. Stored hashes name their parameters, so these can rise
// later without invalidating existing passwords.
var hashParams = argonParams{time: 2, memory: 19 * 1024, threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// Bounds on the parameters of a stored hash, so that a damaged row cannot
// make a login allocate without limit.
const (
	maxTime    = 16
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxThreads = 16
)

// b64 encodes salts and keys as the PHC string format does: standard
// alphabet, no padding.
var b64 = base64.RawStdEncoding

// encodeHash returns the self-describing form of an argon2id hash:
// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>".
func encodeHash(p argonParams, salt, key []byte) []byte {
	return fmt.Appendf(nil, "$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// errBadHash is the answer to a stored hash that does not parse. It does
// not show the hash.
var errBadHash = errs.E(errs.Internal, "stored password hash is malformed")

// parseHash parses a hash made by encodeHash.
func parseHash(h []byte) (p argonParams, salt, key []byte, err error) {
	parts := strings.Split(string(h), "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return argonParams{}, nil, nil, errBadHash
	}
	if p, err = parseParams(parts[3]); err != nil {
		return argonParams{}, nil, nil, err
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(key) < 16 || len(key) > 64 {
		return argonParams{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// parseParams parses "m=<KiB>,t=<passes>,p=<lanes>" within the bounds.
func parseParams(s string) (argonParams, error) {
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		field, rest, _ := strings.Cut(s, ",")
		digits, ok := strings.CutPrefix(field, name)
		v, err := strconv.ParseUint(digits, 10, 32)
		if !ok || err != nil {
			return argonParams{}, errBadHash
		}
		vals[i], s = v, rest
	}
	m, t, lanes := vals[0], vals[1], vals[2]
	if s != "" || t < 1 || t > maxTime || lanes < 1 || lanes > maxThreads || m < 8*lanes || m > maxMemory {
		return argonParams{}, errBadHash
	}
	return argonParams{memory: uint32(m), time: uint32(t), threads: uint8(lanes)}, nil
}

// hasher derives argon2id keys, at most one per CPU at a time: each costs
// hashParams.memory, and logins need no token, so a flood of them must not
// allocate without bound. More concurrent derivations would not finish
// sooner anyway (one lane each).
type hasher struct {
	slots     chan struct{}
	dummySalt []byte
}

func newHasher() *hasher {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		panic("mount: read random salt: " + err.Error()) // crypto/rand does not fail (Go 1.24+)
	}
	return &hasher{slots: make(chan struct{}, runtime.GOMAXPROCS(0)), dummySalt: salt}
}

// derive returns the argon2id key of password under p and salt, waiting
// for a slot; a done ctx ends the wait.
func (h *hasher) derive(ctx context.Context, password string, p argonParams, salt []byte, n int) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait to hash a password: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(n)), nil
}

// hash returns the self-describing hash of password under a fresh salt.
func (h *hasher) hash(ctx context.Context, password string) ([]byte, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return nil, fmt.Errorf("read random salt: %w", err)
	}
	key, err := h.derive(ctx, password, hashParams, salt, keyLen)
	if err != nil {
		return nil, err
	}
	return encodeHash(hashParams, salt, key), nil
}

// verify reports whether password matches the stored hash, comparing the
// keys in constant time. A hash that does not parse is an error.
func (h *hasher) verify(ctx context.Context, password string, stored []byte) (bool, error) {
	p, salt, want, err := parseHash(stored)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, p, salt, len(want))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyVerify does the work of verify against a hash with the current
// parameters, for a login whose user does not exist, so that its timing
// does not tell.
func (h *hasher) dummyVerify(ctx context.Context, password string) error {
	got, err := h.derive(ctx, password, hashParams, h.dummySalt, keyLen)
	if err != nil {
		return err
	}
	subtle.ConstantTimeCompare(got, make([]byte, keyLen))
	return nil
}
