package seal

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/cofferhq/coffer/internal/errs"
)

// DefaultKeyFile is the root key file's name inside the data directory.
const DefaultKeyFile = "root.key"

// LoadRootKey returns the root key from, in order: key (base64, the value of
// COFFER_ROOT_KEY), file (COFFER_ROOT_KEY_FILE, holding the base64 key), or
// dataDir/root.key. Only in the last case is a missing key generated: the
// file is written with mode 0600 and a warning is logged, because a key kept
// beside the data it protects guards only against database-only leaks.
func LoadRootKey(key, file, dataDir string, log *slog.Logger) ([]byte, error) {
	switch {
	case key != "":
		return decodeKey("COFFER_ROOT_KEY", key)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, errs.Wrap(errs.InvalidArgument, err, "COFFER_ROOT_KEY_FILE: cannot read "+file)
		}
		return decodeKey("COFFER_ROOT_KEY_FILE", string(b))
	}
	path := filepath.Join(dataDir, DefaultKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return decodeKey(path, string(b))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read root key file: %w", err)
	}
	k, err := NewRootKey()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process created it first
		return LoadRootKey("", "", dataDir, log)
	}
	if err != nil {
		return nil, fmt.Errorf("create root key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("write root key file: %w", err)
	}
	log.Warn("generated a new root key; keep it safe and back it up, or set COFFER_ROOT_KEY_FILE to a key kept elsewhere",
		"file", path)
	return k, nil
}

func decodeKey(source, s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != KeySize {
		return nil, errs.E(errs.InvalidArgument, "%s: the root key must be %d bytes, base64-encoded", source, KeySize)
	}
	return k, nil
}
