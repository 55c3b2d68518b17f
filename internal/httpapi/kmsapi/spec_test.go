package kmsapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	"github.com/oapi-codegen/runtime"

	"github.com/cofferhq/coffer/internal/httpapi/kmsapi"
	"github.com/cofferhq/coffer/openapi"
)

const (
	// specFile is our contract, relative to this package directory.
	specFile = "../../../openapi/kms.yaml"
	// upstreamFile is the STACKIT KMS v1 spec. It lives in the reference directory that sits
	// beside the repository root (<repo>/../shared), not inside the repository.
	upstreamFile = "../../../../shared/reference/stackit-api-specifications/services/kms/v1/kms.json"
)

func loadEmbedded(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := kmsapi.GetSwagger()
	if err != nil {
		t.Fatalf("GetSwagger: %v", err)
	}
	return doc
}

func TestEmbeddedSpecIsValid(t *testing.T) {
	doc := loadEmbedded(t)
	if err := doc.Validate(context.Background(), openapi3.EnableSchemaFormatValidation()); err != nil {
		t.Fatalf("embedded spec does not validate: %v", err)
	}
	if got, want := doc.Info.Title, "Coffer Key Management Service API"; got != want {
		t.Errorf("info.title = %q, want %q", got, want)
	}
	if got, want := doc.Info.Version, "1.0.0-coffer.1"; got != want {
		t.Errorf("info.version = %q, want %q", got, want)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	// A server URL with a host would make openapi3filter check the Host header.
	for _, s := range doc.Servers {
		if s.URL != "/" {
			t.Errorf("servers must be empty or a single %q, found %q", "/", s.URL)
		}
	}
	if len(doc.Security) != 1 || len(doc.Security[0]) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("want global security [{bearerAuth: []}], got %v", doc.Security)
	}
	ss := doc.Components.SecuritySchemes["bearerAuth"]
	if ss == nil || ss.Value.Type != "http" || ss.Value.Scheme != "bearer" || ss.Value.BearerFormat != "JWT" {
		t.Errorf("securitySchemes.bearerAuth must be http bearer JWT, got %+v", ss)
	}
	for _, op := range operations(doc) {
		if op.op.Security != nil {
			t.Errorf("%s: per-operation security overrides the global bearerAuth", op.name)
		}
	}
}

// TestEmbeddedSpecIsUpToDate fails when openapi/kms.yaml was edited without running
// go generate. It also checks that the document Coffer serves (openapi.KMSYAML) is the one
// the handlers were generated from.
func TestEmbeddedSpecIsUpToDate(t *testing.T) {
	fromFile, err := openapi3.NewLoader().LoadFromFile(specFile)
	if err != nil {
		t.Fatalf("load %s: %v", specFile, err)
	}
	served, err := openapi3.NewLoader().LoadFromData(openapi.KMSYAML)
	if err != nil {
		t.Fatalf("load openapi.KMSYAML: %v", err)
	}
	want, err := json.Marshal(loadEmbedded(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]*openapi3.T{specFile: fromFile, "openapi.KMSYAML": served} {
		got, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the spec embedded in kmsapi.gen.go: run go generate ./internal/httpapi/kmsapi/", name)
		}
	}
}

// ---------------------------------------------------------------------------------------
// Helpers.

type namedOp struct {
	name, method, path string
	item               *openapi3.PathItem
	op                 *openapi3.Operation
}

// operations lists every operation of doc, sorted by path and method.
func operations(doc *openapi3.T) []namedOp {
	var out []namedOp
	for _, path := range slices.Sorted(maps.Keys(doc.Paths.Map())) {
		item := doc.Paths.Value(path)
		for _, method := range slices.Sorted(maps.Keys(item.Operations())) {
			out = append(out, namedOp{method + " " + path, method, path, item, item.GetOperation(method)})
		}
	}
	return out
}

func successCodes(op *openapi3.Operation) []string {
	var codes []string
	for code := range op.Responses.Map() {
		if strings.HasPrefix(code, "2") {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	return codes
}

func allCodes(op *openapi3.Operation) []string {
	return slices.Sorted(maps.Keys(op.Responses.Map()))
}

// refName returns the component name a schema reference points to ("" if inline).
func refName(s *openapi3.SchemaRef) string {
	if s == nil {
		return ""
	}
	return strings.TrimPrefix(s.Ref, "#/components/schemas/")
}

// schemaType is the declared type; an untyped schema with properties is an object.
func schemaType(s *openapi3.Schema) string {
	if s.Type != nil && len(s.Type.Slice()) > 0 {
		return strings.Join(s.Type.Slice(), ",")
	}
	if len(s.Properties) > 0 {
		return openapi3.TypeObject
	}
	return ""
}

func bodyRef(content openapi3.Content) string {
	mt := content.Get("application/json")
	if mt == nil {
		return ""
	}
	return refName(mt.Schema)
}

func pathParams(pi *openapi3.PathItem, op *openapi3.Operation) map[string]*openapi3.Parameter {
	out := map[string]*openapi3.Parameter{}
	for _, ps := range []openapi3.Parameters{pi.Parameters, op.Parameters} {
		for _, p := range ps {
			if p.Value.In == openapi3.ParameterInPath {
				out[p.Value.Name] = p.Value
			}
		}
	}
	return out
}

// constraints are the validation-relevant keywords of one schema, compared with upstream.
type constraints struct {
	Type, Format, Pattern string
	Enum                  []any
	Default               any
	MaxLength             *uint64
	Min                   *float64
	ReadOnly, Nullable    bool
}

func constraintsOf(s *openapi3.Schema) constraints {
	return constraints{
		Type: schemaType(s), Format: s.Format, Pattern: s.Pattern, Enum: s.Enum, Default: s.Default,
		MaxLength: s.MaxLength, Min: s.Min, ReadOnly: s.ReadOnly, Nullable: s.Nullable,
	}
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

// ---------------------------------------------------------------------------------------
// Compatibility with the STACKIT KMS v1 spec.

// Documented, deliberate differences from upstream (see the header of openapi/kms.yaml):
// keyword -> where Coffer adds it. Everything else must be equal.
var (
	// maxLength added on request payloads (upstream: none).
	addedMaxLength = map[string]uint64{
		"CreateKeyRingPayload.description":     256,
		"CreateKeyPayload.description":         256,
		"CreateWrappingKeyPayload.description": 256,
		"EncryptPayload.data":                  87384,
		"DecryptPayload.data":                  88748,
		"SignPayload.data":                     87384,
		"VerifyPayload.data":                   87384,
		"VerifyPayload.signature":              1368,
		"protection":                           32,
	}
)

func loadUpstream(t *testing.T) *openapi3.T {
	t.Helper()
	if _, err := os.Stat(upstreamFile); errors.Is(err, os.ErrNotExist) {
		abs, _ := filepath.Abs(upstreamFile)
		t.Skipf("upstream STACKIT spec not found at %s (reference directory beside the repo root); skipping", abs)
	}
	doc, err := openapi3.NewLoader().LoadFromFile(upstreamFile)
	if err != nil {
		t.Fatalf("load upstream spec: %v", err)
	}
	return doc
}

// compareConstraints reports differences between an upstream schema and ours at `where`
// ("schema" or "schema.property"), allowing only the documented deviations.
func compareConstraints(t *testing.T, where string, up, our *openapi3.Schema) {
	t.Helper()
	u, o := constraintsOf(up), constraintsOf(our)
	if want, ok := addedMaxLength[where]; ok {
		if u.MaxLength != nil {
			t.Errorf("%s: upstream now has maxLength %d; drop the documented deviation", where, *u.MaxLength)
		}
		if o.MaxLength == nil || *o.MaxLength != want {
			t.Errorf("%s: maxLength %s, want the documented Coffer limit %d", where, fmtPtr(o.MaxLength), want)
		}
		u.MaxLength, o.MaxLength = nil, nil
	}
	if !reflect.DeepEqual(u, o) {
		t.Errorf("%s: constraints differ from upstream\n  ours:     type=%s format=%q pattern=%q enum=%v default=%v maxLength=%s minimum=%s readOnly=%v nullable=%v\n  upstream: type=%s format=%q pattern=%q enum=%v default=%v maxLength=%s minimum=%s readOnly=%v nullable=%v",
			where,
			o.Type, o.Format, o.Pattern, o.Enum, o.Default, fmtPtr(o.MaxLength), fmtPtr(o.Min), o.ReadOnly, o.Nullable,
			u.Type, u.Format, u.Pattern, u.Enum, u.Default, fmtPtr(u.MaxLength), fmtPtr(u.Min), u.ReadOnly, u.Nullable)
	}
}

func TestUpstreamCompatibility(t *testing.T) {
	up := loadUpstream(t)
	ours := loadEmbedded(t)

	t.Run("operations", func(t *testing.T) {
		upOps := operations(up)
		if len(upOps) != 25 {
			t.Errorf("upstream has %d operations, expected 25: re-check this test", len(upOps))
		}
		if got := len(operations(ours)); got != len(upOps) {
			t.Errorf("we have %d operations, upstream %d", got, len(upOps))
		}
		for _, u := range upOps {
			name := u.name
			ourItem := ours.Paths.Value(u.path)
			if ourItem == nil {
				t.Errorf("%s: path missing", name)
				continue
			}
			ourOp := ourItem.GetOperation(u.method)
			if ourOp == nil {
				t.Errorf("%s: method missing", name)
				continue
			}
			upOp := u.op
			if ourOp.OperationID != upOp.OperationID {
				t.Errorf("%s: operationId %q, want %q", name, ourOp.OperationID, upOp.OperationID)
			}
			if got, want := successCodes(ourOp), successCodes(upOp); !slices.Equal(got, want) {
				t.Errorf("%s: success codes %v, want %v", name, got, want)
			}
			// Every documented upstream status code is documented by us too, with the
			// same body model.
			for _, code := range allCodes(upOp) {
				ourResp := ourOp.Responses.Value(code)
				if ourResp == nil {
					t.Errorf("%s: response %s missing", name, code)
					continue
				}
				got := bodyRef(ourResp.Value.Content)
				want := bodyRef(upOp.Responses.Value(code).Value.Content)
				if got != want {
					t.Errorf("%s: %s body %q, want %q", name, code, got, want)
				}
				if want == "" && len(ourResp.Value.Content) != 0 {
					t.Errorf("%s: %s must not have a body", name, code)
				}
			}
			// Request body: same model, same required flag.
			if (upOp.RequestBody == nil) != (ourOp.RequestBody == nil) {
				t.Errorf("%s: request body presence differs", name)
			} else if upOp.RequestBody != nil {
				if got, want := bodyRef(ourOp.RequestBody.Value.Content), bodyRef(upOp.RequestBody.Value.Content); got != want {
					t.Errorf("%s: request body %q, want %q", name, got, want)
				}
				if ourOp.RequestBody.Value.Required != upOp.RequestBody.Value.Required {
					t.Errorf("%s: request body required=%v, want %v", name, ourOp.RequestBody.Value.Required, upOp.RequestBody.Value.Required)
				}
			}
			// Path parameters: same names and schemas, except the documented deviations.
			upPs, ourPs := pathParams(u.item, upOp), pathParams(ourItem, ourOp)
			if got, want := slices.Sorted(maps.Keys(ourPs)), slices.Sorted(maps.Keys(upPs)); !slices.Equal(got, want) {
				t.Errorf("%s: path parameters %v, want %v", name, got, want)
			}
			for pn, upP := range upPs {
				ourP := ourPs[pn]
				if ourP == nil {
					continue // reported above
				}
				if !ourP.Required {
					t.Errorf("%s: path parameter %s must be required", name, pn)
				}
				uc, oc := constraintsOf(upP.Schema.Value), constraintsOf(ourP.Schema.Value)
				switch pn {
				case "regionId":
					// Deviation: enum [eu01] -> pattern; regions are configured.
					if oc.Enum != nil || oc.Pattern != `^[a-z0-9-]{1,32}$` {
						t.Errorf("%s: regionId must have no enum and pattern ^[a-z0-9-]{1,32}$, got enum=%v pattern=%q", name, oc.Enum, oc.Pattern)
					}
					for _, v := range uc.Enum {
						if !regexp.MustCompile(oc.Pattern).MatchString(v.(string)) {
							t.Errorf("%s: upstream region %q does not match our pattern", name, v)
						}
					}
					uc.Enum, oc.Pattern = nil, ""
				case "versionNumber":
					// Deviation: minimum 1.
					if oc.Min == nil || *oc.Min != 1 {
						t.Errorf("%s: versionNumber must have minimum 1", name)
					}
					if uc.Min != nil {
						t.Errorf("%s: upstream versionNumber now has a minimum; drop the deviation", name)
					}
					oc.Min = nil
				}
				if !reflect.DeepEqual(uc, oc) {
					t.Errorf("%s: path parameter %s: %+v, want %+v", name, pn, oc, uc)
				}
			}
		}
	})

	t.Run("responses", func(t *testing.T) {
		for name, upR := range up.Components.Responses {
			ourR := ours.Components.Responses[name]
			if ourR == nil {
				t.Errorf("components.responses.%s missing", name)
				continue
			}
			if got, want := bodyRef(ourR.Value.Content), bodyRef(upR.Value.Content); got != want {
				t.Errorf("components.responses.%s: body %q, want %q", name, got, want)
			}
		}
	})

	t.Run("schemas", func(t *testing.T) {
		if got, want := slices.Sorted(maps.Keys(ours.Components.Schemas)), slices.Sorted(maps.Keys(up.Components.Schemas)); !slices.Equal(got, want) {
			t.Errorf("schema names %v, want %v", got, want)
		}
		for name, upRef := range up.Components.Schemas {
			t.Run(name, func(t *testing.T) {
				ourRef := ours.Components.Schemas[name]
				if ourRef == nil {
					t.Fatalf("schema missing")
				}
				upS, ourS := upRef.Value, ourRef.Value
				compareConstraints(t, name, upS, ourS)
				upProps := slices.Sorted(maps.Keys(upS.Properties))
				ourProps := slices.Sorted(maps.Keys(ourS.Properties))
				if !slices.Equal(ourProps, upProps) {
					t.Errorf("properties %v, want %v", ourProps, upProps)
				}
				for _, p := range upProps {
					upP, ourP := upS.Properties[p], ourS.Properties[p]
					if ourP == nil {
						continue
					}
					if got, want := refName(ourP), refName(upP); got != want {
						t.Errorf("property %s refers to %q, want %q", p, got, want)
					}
					if refName(upP) != "" {
						continue // the referenced schema is compared on its own
					}
					compareConstraints(t, name+"."+p, upP.Value, ourP.Value)
					if ue, oe := upP.Value.Items, ourP.Value.Items; ue != nil {
						if oe == nil || refName(oe) != refName(ue) || schemaType(oe.Value) != schemaType(ue.Value) {
							t.Errorf("property %s: array items differ", p)
						}
					}
				}
				upReq, ourReq := slices.Sorted(slices.Values(upS.Required)), slices.Sorted(slices.Values(ourS.Required))
				if !slices.Equal(ourReq, upReq) {
					t.Errorf("required %v, want %v", ourReq, upReq)
				}
			})
		}
	})
}

// TestObjectSchemasDeclareType: upstream omits `type: object`, and a schema without a type
// accepts any JSON value, e.g. a string as request body.
func TestObjectSchemasDeclareType(t *testing.T) {
	doc := loadEmbedded(t)
	var walk func(where string, s *openapi3.SchemaRef)
	walk = func(where string, s *openapi3.SchemaRef) {
		if s == nil || s.Ref != "" {
			return // components are walked on their own
		}
		v := s.Value
		if (len(v.Properties) > 0 || len(v.Required) > 0) && !v.Type.Is(openapi3.TypeObject) {
			t.Errorf("%s: object schema without `type: object`", where)
		}
		if v.Type == nil && len(v.AllOf)+len(v.OneOf)+len(v.AnyOf) == 0 {
			t.Errorf("%s: schema without a type", where)
		}
		for p, ps := range v.Properties {
			walk(where+"."+p, ps)
		}
		walk(where+"[]", v.Items)
	}
	for name, s := range doc.Components.Schemas {
		walk(name, s)
	}
}

// Every operation documents Coffer's error set, all as application/json httpError.
func TestErrorResponses(t *testing.T) {
	doc := loadEmbedded(t)
	// Where upstream documents 409 and 503.
	withConflict := map[string]bool{
		"DeleteKeyRing": true, "DeleteKey": true, "ImportKey": true, "RestoreKey": true, "RotateKey": true,
		"Decrypt": true, "DestroyVersion": true, "DisableVersion": true, "EnableVersion": true,
		"Encrypt": true, "RestoreVersion": true, "Sign": true, "Verify": true, "DeleteWrappingKey": true,
	}
	withUnavailable := map[string]bool{"Encrypt": true, "Decrypt": true, "Sign": true, "Verify": true}
	// Coffer answers 501 here for now.
	notImplemented := map[string]bool{
		"ImportKey": true, "ListWrappingKeys": true, "CreateWrappingKey": true,
		"GetWrappingKey": true, "DeleteWrappingKey": true,
	}
	responseFor := map[string]string{
		"400": "badRequest", "401": "unauthorized", "403": "forbidden", "404": "notFound",
		"409": "conflict", "500": "internalServerError", "501": "notImplemented", "503": "serviceUnavailable",
	}
	seen := map[string]bool{}
	for _, o := range operations(doc) {
		id := o.op.OperationID
		seen[id] = true
		want := []string{"400", "401", "403", "500"}
		if strings.Contains(o.path, "{keyRingId}") {
			want = append(want, "404")
		}
		if withConflict[id] {
			want = append(want, "409")
		}
		if notImplemented[id] {
			want = append(want, "501")
			if !strings.Contains(o.op.Description, "501") {
				t.Errorf("%s: description must say that Coffer answers 501", o.name)
			}
		}
		if withUnavailable[id] {
			want = append(want, "503")
		}
		sort.Strings(want)
		var got []string
		for code, r := range o.op.Responses.Map() {
			if strings.HasPrefix(code, "2") {
				continue
			}
			got = append(got, code)
			if r.Ref != "#/components/responses/"+responseFor[code] {
				t.Errorf("%s %s: response %q, want $ref to components.responses.%s", o.name, code, r.Ref, responseFor[code])
			}
			if len(r.Value.Content) != 1 || bodyRef(r.Value.Content) != "httpError" {
				t.Errorf("%s %s: body must be application/json httpError only", o.name, code)
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: error codes %v, want %v", o.name, got, want)
		}
	}
	for _, m := range []map[string]bool{withConflict, withUnavailable, notImplemented} {
		for id := range m {
			if !seen[id] {
				t.Errorf("operation %s in the expectations does not exist", id)
			}
		}
	}
	s := doc.Components.Schemas["httpError"].Value
	if schemaType(s) != openapi3.TypeObject || !slices.Equal(s.Required, []string{"message"}) ||
		schemaType(s.Properties["message"].Value) != openapi3.TypeString {
		t.Errorf("httpError must be an object with a required string message")
	}
}

// ---------------------------------------------------------------------------------------
// Request validation with kin-openapi, configured the way the server should configure it.

// canonicalUUID accepts any RFC 9562 text form UUID of any version/variant. kin-openapi's
// predefined FormatOfStringForUUIDOfRFC4122/9562 patterns check the version and variant
// nibbles and would reject ids like 11111111-2222-3333-4444-555555555555.
const canonicalUUID = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`

// stdBase64 is padded standard base64 (RFC 4648 section 4), what encoding/json and
// runtime.BindJSONValue accept for a []byte. kin-openapi's built-in "byte" format
// (openapi3.FormatOfStringByte) is much looser, see TestByteFormat.
const stdBase64 = `^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`

// validatorOptions: kin-openapi validates no "uuid" format unless told to, and only
// loosely validates "byte".
func validatorOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         false,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(canonicalUUID)),
			openapi3.WithStringFormatValidator("byte", openapi3.NewRegexpFormatValidator(stdBase64)),
		},
	}
}

func newRouter(t *testing.T) routers.Router {
	t.Helper()
	r, err := gorillamux.NewRouter(loadEmbedded(t))
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return r
}

func newRequest(method, target, body string) *http.Request {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, target, nil)
	} else {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer x")
	return req
}

func validateRequest(r routers.Router, opts *openapi3filter.Options, req *http.Request) error {
	route, params, err := r.FindRoute(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route, Options: opts,
	})
}

func validate(t *testing.T, r routers.Router, opts *openapi3filter.Options, method, target, body string) error {
	t.Helper()
	return validateRequest(r, opts, newRequest(method, target, body))
}

const (
	pid = "11111111-2222-3333-4444-555555555555"
	rid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	kid = "22222222-3333-4444-5555-666666666666"
	wid = "33333333-4444-5555-6666-777777777777"
)

// b64 is the standard base64 encoding of n bytes.
func b64(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

func TestRequestValidation(t *testing.T) {
	r := newRouter(t)
	base := "/v1/projects/" + pid + "/regions/eu01/keyrings"
	ring := base + "/" + rid
	key := ring + "/keys/" + kid
	ver := key + "/versions/1"
	const keyBody = `"displayName":"k1","protection":"software","purpose":"symmetric_encrypt_decrypt","algorithm":"aes_256_gcm"`
	tests := []struct {
		name, method, target, body string
		ok                         bool
	}{
		// key rings
		{"list key rings", "GET", base, "", true},
		{"create key ring", "POST", base, `{"displayName":"my-ring_1","description":"x"}`, true},
		{"create key ring minimal", "POST", base, `{"displayName":"r"}`, true},
		{"unknown properties allowed", "POST", base, `{"displayName":"r","labels":{"a":"b"}}`, true},
		{"displayName missing", "POST", base, `{"description":"x"}`, false},
		{"displayName empty", "POST", base, `{"displayName":""}`, false},
		{"displayName with a space", "POST", base, `{"displayName":"my ring"}`, false},
		{"displayName with a dot", "POST", base, `{"displayName":"my.ring"}`, false},
		{"displayName 64 chars", "POST", base, `{"displayName":"` + strings.Repeat("a", 64) + `"}`, true},
		{"displayName 65 chars", "POST", base, `{"displayName":"` + strings.Repeat("a", 65) + `"}`, false},
		{"description 256 chars", "POST", base, `{"displayName":"r","description":"` + strings.Repeat("d", 256) + `"}`, true},
		{"description 257 chars", "POST", base, `{"displayName":"r","description":"` + strings.Repeat("d", 257) + `"}`, false},
		{"body not an object", "POST", base, `"r"`, false},
		{"body an array", "POST", base, `[{"displayName":"r"}]`, false},
		{"body missing", "POST", base, "", false},
		{"get key ring", "GET", ring, "", true},
		{"delete key ring", "DELETE", ring, "", true},
		// path parameters
		{"projectId not a uuid", "GET", "/v1/projects/not-a-uuid/regions/eu01/keyrings", "", false},
		{"keyRingId not a uuid", "GET", base + "/123", "", false},
		{"keyId not a uuid", "GET", ring + "/keys/123", "", false},
		{"wrappingKeyId not a uuid", "GET", ring + "/wrappingkeys/123", "", false},
		{"other region passes the spec (checked in Go)", "GET", "/v1/projects/" + pid + "/regions/eu02/keyrings", "", true},
		{"regionId upper case", "GET", "/v1/projects/" + pid + "/regions/EU01/keyrings", "", false},
		{"regionId 33 chars", "GET", "/v1/projects/" + pid + "/regions/" + strings.Repeat("a", 33) + "/keyrings", "", false},
		{"versionNumber 1", "GET", key + "/versions/1", "", true},
		{"versionNumber max int64", "GET", key + "/versions/9223372036854775807", "", true},
		{"versionNumber 0", "GET", key + "/versions/0", "", false},
		{"versionNumber -1", "GET", key + "/versions/-1", "", false},
		{"versionNumber not a number", "GET", key + "/versions/latest", "", false},
		{"versionNumber 1.5", "GET", key + "/versions/1.5", "", false},
		{"versionNumber 0 on disable", "POST", key + "/versions/0/disable", "", false},
		// keys
		{"create key", "POST", ring + "/keys", `{` + keyBody + `,"description":"d","importOnly":false,"access_scope":"SNA"}`, true},
		{"create key minimal", "POST", ring + "/keys", `{` + keyBody + `}`, true},
		{"create key unknown algorithm", "POST", ring + "/keys", `{` + strings.Replace(keyBody, "aes_256_gcm", "aes_128_gcm", 1) + `}`, false},
		{"create key unknown purpose", "POST", ring + "/keys", `{` + strings.Replace(keyBody, "symmetric_encrypt_decrypt", "encrypt", 1) + `}`, false},
		{"create key enum is case sensitive", "POST", ring + "/keys", `{` + strings.Replace(keyBody, "aes_256_gcm", "AES_256_GCM", 1) + `}`, false},
		{"create key unknown access_scope", "POST", ring + "/keys", `{` + keyBody + `,"access_scope":"PRIVATE"}`, false},
		{"create key importOnly not a bool", "POST", ring + "/keys", `{` + keyBody + `,"importOnly":"yes"}`, false},
		{"create key algorithm missing", "POST", ring + "/keys", `{"displayName":"k1","protection":"software","purpose":"symmetric_encrypt_decrypt"}`, false},
		{"create key protection missing", "POST", ring + "/keys", `{"displayName":"k1","purpose":"symmetric_encrypt_decrypt","algorithm":"aes_256_gcm"}`, false},
		{"create key protection 33 chars", "POST", ring + "/keys", `{` + strings.Replace(keyBody, `"software"`, `"`+strings.Repeat("s", 33)+`"`, 1) + `}`, false},
		{"create key displayName with a space", "POST", ring + "/keys", `{` + strings.Replace(keyBody, `"k1"`, `"k 1"`, 1) + `}`, false},
		{"create key description 257 chars", "POST", ring + "/keys", `{` + keyBody + `,"description":"` + strings.Repeat("d", 257) + `"}`, false},
		{"rotate key without body", "POST", key + "/rotate", "", true},
		{"delete key", "DELETE", key, "", true},
		{"restore key", "POST", key + "/restore", "", true},
		{"import key", "POST", key + "/import", `{"wrappingKeyId":"` + wid + `","wrappedKey":"AAAA"}`, true},
		{"import key wrappingKeyId not a uuid", "POST", key + "/import", `{"wrappingKeyId":"x","wrappedKey":"AAAA"}`, false},
		{"import key wrappedKey missing", "POST", key + "/import", `{"wrappingKeyId":"` + wid + `"}`, false},
		// versions and cryptography
		{"list versions", "GET", key + "/versions", "", true},
		{"encrypt", "POST", ver + "/encrypt", `{"data":"aGVsbG8="}`, true},
		{"encrypt empty data", "POST", ver + "/encrypt", `{"data":""}`, true},
		{"encrypt data missing", "POST", ver + "/encrypt", `{}`, false},
		{"encrypt data null", "POST", ver + "/encrypt", `{"data":null}`, false},
		{"encrypt data a number", "POST", ver + "/encrypt", `{"data":42}`, false},
		{"encrypt data not base64", "POST", ver + "/encrypt", `{"data":"hello world!"}`, false},
		{"encrypt data unpadded base64", "POST", ver + "/encrypt", `{"data":"aGVsbG8"}`, false},
		{"encrypt data url-safe base64", "POST", ver + "/encrypt", `{"data":"-_-_"}`, false},
		{"encrypt 64 KiB", "POST", ver + "/encrypt", `{"data":"` + b64(65536) + `"}`, true},
		{"encrypt 64 KiB + 3 bytes", "POST", ver + "/encrypt", `{"data":"` + b64(65539) + `"}`, false},
		{"decrypt", "POST", ver + "/decrypt", `{"data":"` + b64(44) + `"}`, true},
		{"decrypt 65 KiB", "POST", ver + "/decrypt", `{"data":"` + b64(66560) + `"}`, true},
		{"decrypt 65 KiB + 3 bytes", "POST", ver + "/decrypt", `{"data":"` + b64(66563) + `"}`, false},
		{"decrypt data missing", "POST", ver + "/decrypt", `{"ciphertext":"AAAA"}`, false},
		{"decrypt data not base64", "POST", ver + "/decrypt", `{"data":"%%%%"}`, false},
		{"sign", "POST", ver + "/sign", `{"data":"aGVsbG8="}`, true},
		{"sign data missing", "POST", ver + "/sign", `{}`, false},
		{"sign 64 KiB + 3 bytes", "POST", ver + "/sign", `{"data":"` + b64(65539) + `"}`, false},
		{"verify", "POST", ver + "/verify", `{"data":"aGVsbG8=","signature":"` + b64(64) + `"}`, true},
		{"verify signature missing", "POST", ver + "/verify", `{"data":"aGVsbG8="}`, false},
		{"verify data missing", "POST", ver + "/verify", `{"signature":"AAAA"}`, false},
		{"verify signature 1 KiB", "POST", ver + "/verify", `{"data":"aGVsbG8=","signature":"` + b64(1024) + `"}`, true},
		{"verify signature 1 KiB + 3 bytes", "POST", ver + "/verify", `{"data":"aGVsbG8=","signature":"` + b64(1027) + `"}`, false},
		{"verify signature not base64", "POST", ver + "/verify", `{"data":"aGVsbG8=","signature":"sig!"}`, false},
		{"disable version", "POST", ver + "/disable", "", true},
		{"enable version", "POST", ver + "/enable", "", true},
		{"destroy version", "POST", ver + "/destroy", "", true},
		{"restore version", "POST", ver + "/restore", "", true},
		// wrapping keys
		{"list wrapping keys", "GET", ring + "/wrappingkeys", "", true},
		{"create wrapping key", "POST", ring + "/wrappingkeys", `{"displayName":"w","protection":"software","purpose":"wrap_symmetric_key","algorithm":"rsa_2048_oaep_sha256"}`, true},
		{"create wrapping key unknown algorithm", "POST", ring + "/wrappingkeys", `{"displayName":"w","protection":"software","purpose":"wrap_symmetric_key","algorithm":"aes_256_gcm"}`, false},
		{"create wrapping key unknown purpose", "POST", ring + "/wrappingkeys", `{"displayName":"w","protection":"software","purpose":"symmetric_encrypt_decrypt","algorithm":"rsa_2048_oaep_sha256"}`, false},
		{"get wrapping key", "GET", ring + "/wrappingkeys/" + wid, "", true},
		{"delete wrapping key", "DELETE", ring + "/wrappingkeys/" + wid, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(t, r, validatorOptions(), tc.method, tc.target, tc.body)
			if tc.ok && err != nil {
				t.Errorf("want valid, got %v", err)
			}
			if !tc.ok && err == nil {
				t.Errorf("want a validation error, got none")
			}
		})
	}
}

// TestEncodedLimits pins the arithmetic behind the documented maxLength values.
func TestEncodedLimits(t *testing.T) {
	for _, c := range []struct {
		bytes, chars int
	}{{65536, 87384}, {66560, 88748}, {1024, 1368}} {
		if got := base64.StdEncoding.EncodedLen(c.bytes); got != c.chars {
			t.Errorf("EncodedLen(%d) = %d, want %d", c.bytes, got, c.chars)
		}
	}
	// Base64 has a 3-byte granularity: the 87384-character limit also admits 65537 and
	// 65538 bytes. A handler that needs an exact 64 KiB limit must check len(data).
	if base64.StdEncoding.EncodedLen(65538) != 87384 || base64.StdEncoding.EncodedLen(65539) <= 87384 {
		t.Errorf("base64 granularity assumption broken")
	}
}

// TestFormatsNeedValidators documents that kin-openapi ignores format: uuid unless a
// validator for it is registered, and that its predefined UUID patterns are too strict.
func TestFormatsNeedValidators(t *testing.T) {
	r := newRouter(t)
	noFormats := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	if err := validate(t, r, noFormats, "GET", "/v1/projects/not-a-uuid/regions/eu01/keyrings", ""); err != nil {
		t.Errorf("kin-openapi now validates format uuid by default (%v): revisit validatorOptions", err)
	}
	for _, p := range []string{openapi3.FormatOfStringForUUIDOfRFC4122, openapi3.FormatOfStringForUUIDOfRFC9562} {
		if regexp.MustCompile(p).MatchString(pid) {
			t.Errorf("predefined pattern %q accepts %s; the canonical pattern may no longer be needed", p, pid)
		}
	}
}

// TestByteFormat documents what kin-openapi does with `format: byte`: it validates it by
// default, but only against openapi3.FormatOfStringByte, a character-class check that also
// accepts URL-safe characters, missing padding and any length. Strict (padded, standard)
// base64 needs the "byte" validator from validatorOptions; without it, such values pass
// the validator and fail later when the strict handler binds them into []byte (echo's
// binder then answers 400).
func TestByteFormat(t *testing.T) {
	r := newRouter(t)
	target := "/v1/projects/" + pid + "/regions/eu01/keyrings/" + rid + "/keys/" + kid + "/versions/1/encrypt"
	defaults := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	for _, c := range []struct {
		data                  string
		defaultOK, strictOK   bool
		decodesWithEncodingJS bool
	}{
		{"aGVsbG8=", true, true, true},
		{"", true, true, true},
		{"hello world!", false, false, false}, // space and '!'
		{"%%%%", false, false, false},
		{"aGVsbG8", true, false, false},      // missing padding
		{"-_-_", true, false, false},         // URL-safe alphabet
		{"a", true, false, false},            // impossible length
		{"aGVsbG8=====", true, false, false}, // excess padding
	} {
		body := `{"data":"` + c.data + `"}`
		if err := validate(t, r, defaults, "POST", target, body); (err == nil) != c.defaultOK {
			t.Errorf("default options, data %q: valid=%v, want %v (%v)", c.data, err == nil, c.defaultOK, err)
		}
		if err := validate(t, r, validatorOptions(), "POST", target, body); (err == nil) != c.strictOK {
			t.Errorf("strict byte validator, data %q: valid=%v, want %v (%v)", c.data, err == nil, c.strictOK, err)
		}
		var p kmsapi.EncryptPayload
		if err := json.Unmarshal([]byte(body), &p); (err == nil) != c.decodesWithEncodingJS {
			t.Errorf("encoding/json into []byte, data %q: ok=%v, want %v (%v)", c.data, err == nil, c.decodesWithEncodingJS, err)
		}
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		var q kmsapi.EncryptPayload
		if err := runtime.BindJSONValue(v, &q); (err == nil) != c.decodesWithEncodingJS {
			t.Errorf("runtime.BindJSONValue into []byte, data %q: ok=%v, want %v (%v)", c.data, err == nil, c.decodesWithEncodingJS, err)
		}
	}
}

// TestByteFields: format byte is []byte in the generated models, base64 on the wire.
func TestByteFields(t *testing.T) {
	var in kmsapi.EncryptPayload
	if err := json.Unmarshal([]byte(`{"data":"aGVsbG8="}`), &in); err != nil {
		t.Fatal(err)
	}
	if string(in.Data) != "hello" {
		t.Errorf("EncryptPayload.Data = %q, want hello", in.Data)
	}
	out, err := json.Marshal(kmsapi.SignedData{Data: []byte("hello"), Signature: []byte{0xff}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"data":"aGVsbG8=","signature":"/w=="}`; got != want {
		t.Errorf("SignedData JSON %s, want %s", got, want)
	}
	// Pitfall for handlers: a nil slice (e.g. decrypting an empty plaintext, which
	// cipher.AEAD.Open returns as nil) is encoded as null, which violates `required`
	// string data and may break strict clients. Use []byte{} instead.
	out, _ = json.Marshal(kmsapi.DecryptedData{})
	if string(out) != `{"data":null}` {
		t.Errorf("nil []byte encodes as %s", out)
	}
	out, _ = json.Marshal(kmsapi.DecryptedData{Data: []byte{}})
	if string(out) != `{"data":""}` {
		t.Errorf("empty []byte encodes as %s", out)
	}
}

// TestDefaultsApplied: openapi3filter fills in schema defaults of omitted properties, and
// with KeepValidatedValue (as the server runs it) the strict handler binds them.
func TestDefaultsApplied(t *testing.T) {
	r := newRouter(t)
	req := newRequest("POST", "/v1/projects/"+pid+"/regions/eu01/keyrings/"+rid+"/keys",
		`{"displayName":"k1","protection":"software","purpose":"symmetric_encrypt_decrypt","algorithm":"aes_256_gcm"}`)
	opts := validatorOptions()
	opts.KeepValidatedValue = true
	if err := validateRequest(r, opts, req); err != nil {
		t.Fatalf("validate: %v", err)
	}
	vb, ok := req.Body.(interface{ ValidatedValue() any })
	if !ok {
		t.Fatalf("request body does not expose ValidatedValue")
	}
	var p kmsapi.CreateKeyPayload
	if err := runtime.BindJSONValue(vb.ValidatedValue(), &p); err != nil {
		t.Fatalf("BindJSONValue: %v", err)
	}
	if p.AccessScope == nil || *p.AccessScope != kmsapi.AccessScopePUBLIC {
		t.Errorf("access_scope = %s, want default PUBLIC", fmtPtr(p.AccessScope))
	}
	if p.ImportOnly == nil || *p.ImportOnly {
		t.Errorf("importOnly = %s, want default false", fmtPtr(p.ImportOnly))
	}
	if p.Algorithm != kmsapi.AlgorithmAes256Gcm || p.Purpose != kmsapi.PurposeSymmetricEncryptDecrypt || p.Protection != "software" {
		t.Errorf("unexpected binding %+v", p)
	}
}

// TestBindValidatedValue: with KeepValidatedValue the strict handler binds the validated
// value with exact member names, so a "DATA" member, ignored by the validator as an unknown
// property, does not reach the handler as Data (encoding/json would match it).
func TestBindValidatedValue(t *testing.T) {
	r := newRouter(t)
	body := `{"data":"aGVsbG8=","DATA":"Ynll"}`
	req := newRequest("POST", "/v1/projects/"+pid+"/regions/eu01/keyrings/"+rid+"/keys/"+kid+"/versions/1/encrypt", body)
	opts := validatorOptions()
	opts.KeepValidatedValue = true
	if err := validateRequest(r, opts, req); err != nil {
		t.Fatalf("validate: %v", err)
	}
	vb, ok := req.Body.(interface{ ValidatedValue() any })
	if !ok {
		t.Fatalf("request body does not expose ValidatedValue")
	}
	var exact kmsapi.EncryptPayload
	if err := runtime.BindJSONValue(vb.ValidatedValue(), &exact); err != nil {
		t.Fatalf("BindJSONValue: %v", err)
	}
	if string(exact.Data) != "hello" {
		t.Errorf("validated-value binding: data %q, want hello", exact.Data)
	}
}

// TestStrictServerInterface pins the operation set of the generated strict server.
func TestStrictServerInterface(t *testing.T) {
	typ := reflect.TypeFor[kmsapi.StrictServerInterface]()
	var got []string
	for i := range typ.NumMethod() {
		got = append(got, typ.Method(i).Name)
	}
	var want []string
	for _, o := range operations(loadEmbedded(t)) {
		want = append(want, o.op.OperationID)
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("StrictServerInterface methods %v, want the operationIds %v", got, want)
	}
}

// encryptOnly implements only Encrypt; the other methods are never called here.
type encryptOnly struct{ kmsapi.StrictServerInterface }

func (encryptOnly) Encrypt(_ context.Context, req kmsapi.EncryptRequestObject) (kmsapi.EncryptResponseObject, error) {
	return kmsapi.Encrypt200JSONResponse{Data: append([]byte("ct:"), req.Body.Data...)}, nil
}

// TestStrictHandlerRejectsBadBase64: without the strict "byte" validator, a value that
// passes kin-openapi's loose check still never reaches the handler: binding it into []byte
// fails and echo answers 400.
func TestStrictHandlerRejectsBadBase64(t *testing.T) {
	e := echo.New()
	kmsapi.RegisterHandlers(e, kmsapi.NewStrictHandler(encryptOnly{}, nil))
	target := "/v1/projects/" + pid + "/regions/eu01/keyrings/" + rid + "/keys/" + kid + "/versions/1/encrypt"
	for _, c := range []struct {
		body, want string
		code       int
	}{
		{`{"data":"aGVsbG8="}`, `{"data":"Y3Q6aGVsbG8="}`, http.StatusOK},
		{`{"data":"aGVsbG8"}`, "", http.StatusBadRequest},
		{`{"data":"-_-_"}`, "", http.StatusBadRequest},
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, newRequest("POST", target, c.body))
		if rec.Code != c.code {
			t.Errorf("%s: status %d, want %d (%s)", c.body, rec.Code, c.code, rec.Body)
		}
		if c.want != "" && strings.TrimSpace(rec.Body.String()) != c.want {
			t.Errorf("%s: body %s, want %s", c.body, rec.Body, c.want)
		}
	}
}
