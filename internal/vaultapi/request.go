package vaultapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
)

// Limits bounds what a request body may hold. Vault documents a 32 MiB
// body limit and JSON complexity limits; Coffer's defaults are smaller
// because secrets are small.
type Limits struct {
	// MaxBodyBytes caps a request body (413 above it).
	MaxBodyBytes int64 `env:"COFFER_VAULT_MAX_BODY_BYTES" envDefault:"1048576"`
	// MaxJSONDepth caps nesting of JSON objects and arrays (400 above it).
	MaxJSONDepth int `env:"COFFER_VAULT_MAX_JSON_DEPTH" envDefault:"32"`
	// MaxJSONEntries caps the number of values in one body (400 above it).
	MaxJSONEntries int `env:"COFFER_VAULT_MAX_JSON_ENTRIES" envDefault:"10000"`
}

// rewriteMethod maps Vault's verbs onto the ones routes are registered
// with: PUT is POST, and GET ?list=<true> is LIST, with ?list= read by
// strconv.ParseBool as Vault reads it (a non-boolean is 400). It runs before routing
// (Echo's Pre), because the router picks the handler by method.
func rewriteMethod(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch {
		case r.Method == http.MethodPut:
			r.Method = http.MethodPost
		case r.Method == http.MethodGet && r.URL.Query().Has("list"):
			list, err := strconv.ParseBool(r.URL.Query().Get("list"))
			if err != nil {
				return errs.E(errs.InvalidArgument, "list: expected a boolean")
			}
			if list {
				r.Method = "LIST"
			}
		}
		return next(c)
	}
}

// readBody decodes the request's JSON object, within the limits. An empty
// body is an empty object. Keys the handler does not know become warnings.
func readBody(c echo.Context, lim Limits, known ...string) (map[string]any, error) {
	buf := bodyBufs.Get().(*bytes.Buffer)
	defer putBodyBuf(buf)
	_, err := buf.ReadFrom(io.LimitReader(c.Request().Body, lim.MaxBodyBytes+1))
	b := buf.Bytes() // decoding copies what it keeps: nothing refers to b after return
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge { // Echo's BodyLimit, chunked bodies
		return nil, he
	}
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "failed to read request body")
	}
	if int64(len(b)) > lim.MaxBodyBytes {
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	// checkComplexity tokenizes the whole body, which costs as much as
	// decoding it. A body with no more bytes than values allowed and no
	// more '{' and '[' than levels allowed cannot exceed either limit, so
	// it is decoded at once, and tokenized only when it does not decode, to
	// give the same answer as always.
	small := len(b) <= lim.MaxJSONEntries && bytes.Count(b, []byte("{"))+bytes.Count(b, []byte("[")) <= lim.MaxJSONDepth
	if !small {
		if err := checkComplexity(b, lim); err != nil {
			return nil, err
		}
	}
	m, flat := decodeFlat(b)
	if flat {
		return m, checkKnown(c, m, known)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || dec.More() {
		if small {
			if err := checkComplexity(b, lim); err != nil {
				return nil, err
			}
		}
		return nil, errs.E(errs.InvalidArgument, "failed to parse JSON input: the body must be one JSON object")
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, checkKnown(c, m, known)
}

// bodyBufs recycles request body buffers: most bodies are small, and a
// buffer per request is garbage the collector must chase.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer bodyBufs keeps.
const maxPooledBody = 64 << 10

// putBodyBuf wipes buf (bodies hold plaintext) and returns it to the pool,
// unless a large body grew it.
func putBodyBuf(buf *bytes.Buffer) {
	clear(buf.Bytes())
	buf.Reset()
	if buf.Cap() <= maxPooledBody {
		bodyBufs.Put(buf)
	}
}

// checkKnown warns about the keys of m that are not in known (nil: accept
// everything).
func checkKnown(c echo.Context, m map[string]any, known []string) error {
	if known == nil {
		return nil
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		warn(c, fmt.Sprintf("Endpoint ignored these unrecognized parameters: [%s]", k))
	}
	return nil
}

// decodeFlat decodes b when it is one JSON object whose keys and values
// are plain strings (printable ASCII, no escapes) or whose values are
// true, false or null: the shape of nearly every transit request, decoded
// here several times faster than by encoding/json. It gives what
// encoding/json would give; ok is false for anything else, which the
// caller leaves to encoding/json.
func decodeFlat(b []byte) (m map[string]any, ok bool) {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return nil, false
	}
	m = map[string]any{}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return m, skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return nil, false
		}
		if i = skipSpace(b, j); i == len(b) || b[i] != ':' {
			return nil, false
		}
		if i = skipSpace(b, i+1); i == len(b) {
			return nil, false
		}
		var v any
		switch {
		case b[i] == '"':
			if v, i, ok = plainString(b, i); !ok {
				return nil, false
			}
		case bytes.HasPrefix(b[i:], []byte("true")):
			v, i = true, i+4
		case bytes.HasPrefix(b[i:], []byte("false")):
			v, i = false, i+5
		case bytes.HasPrefix(b[i:], []byte("null")):
			v, i = nil, i+4
		default:
			return nil, false
		}
		m[key] = v
		if i = skipSpace(b, i); i == len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return m, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

// plainString reads the JSON string at b[i] when it has no escapes and
// only printable ASCII, and returns it and the index after it.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return string(b[i+1 : j]), j + 1, true
		case c < 0x20 || c == '\\' || c >= 0x7f:
			return "", 0, false
		}
	}
	return "", 0, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// checkComplexity refuses bodies nested deeper or holding more values than
// the limits allow, before they are decoded into maps.
func checkComplexity(b []byte, lim Limits) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, entries := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errs.E(errs.InvalidArgument, "failed to parse JSON input")
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			if depth > lim.MaxJSONDepth {
				return errs.E(errs.InvalidArgument, "JSON input exceeds the maximum nesting depth of %d", lim.MaxJSONDepth)
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		default:
			entries++
			if entries > lim.MaxJSONEntries {
				return errs.E(errs.InvalidArgument, "JSON input exceeds the maximum of %d values", lim.MaxJSONEntries)
			}
		}
	}
}
