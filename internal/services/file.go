package services

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/cofferhq/coffer/internal/errs"
)

// File is a parsed, checked services file.
type File struct {
	// Service is the relationship's "service": the name of the file's
	// vault-kms service, or DefaultService for the bare `endpoints:` shape.
	Service string
	// Endpoints are ordered by ID.
	Endpoints []Endpoint
}

// Endpoint is one endpoint of the services file: what its token may do.
type Endpoint struct {
	ID     string
	Grants []Grant // in file order
}

// Grant is one line of an endpoint: a policy on a key of a type.
type Grant struct {
	Policy, Key, Type string
	Line              int // the line of the services file it was read from
}

// TokenPolicies returns the policies of the endpoint's token: "default"
// and the built-in policy of every grant (see PolicyName), sorted, without
// duplicates.
func (e Endpoint) TokenPolicies() []string {
	out := []string{"default"}
	for _, g := range e.Grants {
		out = append(out, PolicyName(g.Policy, g.Key))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Key is a key the services file needs, with the first grant that names it.
type Key struct {
	Name, Type string
	Endpoint   string
	Grant      Grant
}

// Keys returns the keys f names, each once, ordered by name.
func (f *File) Keys() []Key {
	seen := map[string]bool{}
	var out []Key
	for _, e := range f.Endpoints {
		for _, g := range e.Grants {
			if !seen[g.Key] {
				seen[g.Key] = true
				out = append(out, Key{Name: g.Key, Type: g.Type, Endpoint: e.ID, Grant: g})
			}
		}
	}
	slices.SortFunc(out, func(a, b Key) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Endpoint returns the endpoint id of f.
func (f *File) Endpoint(id string) (Endpoint, bool) {
	i := slices.IndexFunc(f.Endpoints, func(e Endpoint) bool { return e.ID == id })
	if i < 0 {
		return Endpoint{}, false
	}
	return f.Endpoints[i], true
}

// endpointIDRE is what an endpoint id may be: a letter, then letters,
// digits, "_" or "-", at most 64 in all. The id is the relationship's name
// and appears in token metadata and display names.
var endpointIDRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// ValidEndpointID reports whether id is a valid endpoint id.
func ValidEndpointID(id string) bool { return endpointIDRE.MatchString(id) }

// Load reads and parses the services file at path (COFFER_TRANSIT_CONFIG).
// Every error is errs.InvalidArgument naming the variable and the path.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.Wrap(errs.InvalidArgument, err, "COFFER_TRANSIT_CONFIG: cannot read the services file "+path)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "COFFER_TRANSIT_CONFIG %s: %v", path, err)
	}
	return f, nil
}

// Parse parses and checks a services file. It takes either shape:
//
//	endpoints:
//	  <id>: [{policy: <policy>, key: <key>, type: <type>}, ...]
//
// or a whole services file in the seed's shape, with exactly one service of
// type vault-kms (others are ignored), whose name becomes File.Service:
//
//	<service-name>:
//	  type: vault-kms:<version>
//	  disk: 512
//	  configuration:
//	    endpoints: {...}
//
// Every problem found is reported, each naming the endpoint, policy and
// key (and line) it is about: a missing field, an unknown field, policy or
// type, a policy that does not fit the type (sign and verify need type
// sign; encrypt, decrypt and rewrap type encrypt; admin fits both), a key
// given two types, an invalid endpoint id or key name, an endpoint without
// grants. The error is errs.InvalidArgument.
func Parse(data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errs.E(errs.InvalidArgument, "services file: %v", err)
	}
	if len(doc.Content) == 0 {
		return nil, errs.E(errs.InvalidArgument, "services file: the file is empty")
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, errs.E(errs.InvalidArgument,
			"services file: line %d: want a mapping (endpoints: ..., or <service>: {type: vault-kms:<version>, ...})", root.Line)
	}
	service, endpoints, err := locate(root)
	if err != nil {
		return nil, err
	}
	f := &File{Service: service}
	var problems []string
	f.Endpoints, problems = readEndpoints(endpoints)
	problems = append(problems, checkFile(f)...)
	if len(problems) > 0 {
		return nil, errs.E(errs.InvalidArgument, "services file: %s", strings.Join(problems, "; "))
	}
	slices.SortFunc(f.Endpoints, func(a, b Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return f, nil
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pair is one key and value of a YAML mapping.
type pair struct{ k, v *yaml.Node }

// pairs returns the entries of mapping n.
func pairs(n *yaml.Node) []pair {
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{deref(n.Content[i]), deref(n.Content[i+1])})
	}
	return out
}

// field returns the value of key name in mapping n; nil when absent.
func field(n *yaml.Node, name string) *yaml.Node {
	for _, p := range pairs(n) {
		if p.k.Value == name {
			return p.v
		}
	}
	return nil
}

// isNull reports whether n is absent or a YAML null.
func isNull(n *yaml.Node) bool { return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") }

// scalar returns n's text; "" for a null or absent value. ok is false for
// a mapping or a sequence.
func scalar(n *yaml.Node) (string, bool) {
	switch {
	case isNull(n):
		return "", true
	case n.Kind == yaml.ScalarNode:
		return n.Value, true
	}
	return "", false
}

// isVaultKMS reports whether a service type is vault-kms, with or without
// a version.
func isVaultKMS(typ string) bool { return typ == "vault-kms" || strings.HasPrefix(typ, "vault-kms:") }

// locate finds the endpoints mapping of either shape, and the service name.
func locate(root *yaml.Node) (service string, endpoints *yaml.Node, err error) {
	if ep := field(root, "endpoints"); ep != nil {
		for _, p := range pairs(root) {
			if p.k.Value != "endpoints" {
				return "", nil, errs.E(errs.InvalidArgument,
					"services file: line %d: unknown top-level field %q next to endpoints", p.k.Line, p.k.Value)
			}
		}
		return DefaultService, ep, nil
	}
	var found []pair
	seen := map[string]bool{}
	for _, p := range pairs(root) {
		if seen[p.k.Value] {
			return "", nil, errs.E(errs.InvalidArgument, "services file: line %d: service %q defined twice", p.k.Line, p.k.Value)
		}
		seen[p.k.Value] = true
		if p.v.Kind != yaml.MappingNode {
			continue
		}
		if typ, _ := scalar(field(p.v, "type")); isVaultKMS(typ) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", nil, errs.E(errs.InvalidArgument,
			"services file: no service of type vault-kms (want endpoints: at the top, or one service with type: vault-kms:<version>)")
	case 1:
	default:
		return "", nil, errs.E(errs.InvalidArgument,
			"services file: services %q (line %d) and %q (line %d) are both of type vault-kms; Coffer serves exactly one",
			found[0].k.Value, found[0].k.Line, found[1].k.Value, found[1].k.Line)
	}
	svc := found[0]
	if !validText(svc.k.Value) {
		return "", nil, errs.E(errs.InvalidArgument, "services file: line %d: invalid service name %q", svc.k.Line, svc.k.Value)
	}
	conf := field(svc.v, "configuration")
	if conf == nil || conf.Kind != yaml.MappingNode {
		return "", nil, errs.E(errs.InvalidArgument,
			"services file: service %q (line %d): want configuration.endpoints", svc.k.Value, svc.k.Line)
	}
	for _, p := range pairs(conf) {
		if p.k.Value != "endpoints" {
			return "", nil, errs.E(errs.InvalidArgument,
				"services file: service %q, line %d: unknown configuration field %q (want endpoints)", svc.k.Value, p.k.Line, p.k.Value)
		}
	}
	return svc.k.Value, field(conf, "endpoints"), nil
}

// validText reports whether s is non-empty UTF-8 without control characters.
func validText(s string) bool {
	return s != "" && utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// readEndpoints reads the endpoints mapping (null: none) and the problems
// of its shape: everything but what checkFile checks across grants.
func readEndpoints(n *yaml.Node) ([]Endpoint, []string) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, []string{fmt.Sprintf("line %d: endpoints must be a mapping of endpoint ids to lists of {policy, key, type}", n.Line)}
	}
	var out []Endpoint
	var problems []string
	seen := map[string]int{}
	for _, p := range pairs(n) {
		e := Endpoint{ID: p.k.Value}
		if first, dup := seen[e.ID]; dup {
			problems = append(problems, fmt.Sprintf("endpoint %q, policy \"\", key \"\" (line %d): defined twice (first at line %d)",
				e.ID, p.k.Line, first))
			continue
		}
		seen[e.ID] = p.k.Line
		if isNull(p.v) {
			problems = append(problems, fmt.Sprintf("endpoint %q, policy \"\", key \"\" (line %d): no policies; list at least one {policy, key, type}",
				e.ID, p.k.Line))
			continue
		}
		if p.v.Kind != yaml.SequenceNode {
			problems = append(problems, fmt.Sprintf("endpoint %q, policy \"\", key \"\" (line %d): want a list of {policy, key, type}",
				e.ID, p.v.Line))
			continue
		}
		for _, item := range p.v.Content {
			g, probs := readGrant(e.ID, deref(item))
			problems = append(problems, probs...)
			e.Grants = append(e.Grants, g)
		}
		if len(e.Grants) == 0 {
			problems = append(problems, fmt.Sprintf("endpoint %q, policy \"\", key \"\" (line %d): no policies; list at least one {policy, key, type}",
				e.ID, p.k.Line))
		}
		out = append(out, e)
	}
	return out, problems
}

// readGrant reads one {policy, key, type} of endpoint id.
func readGrant(id string, n *yaml.Node) (Grant, []string) {
	g := Grant{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return g, []string{g.where(id) + ": want a mapping {policy, key, type}"}
	}
	var problems []string
	seen := map[string]bool{}
	for _, p := range pairs(n) {
		v, ok := scalar(p.v)
		if seen[p.k.Value] {
			problems = append(problems, fmt.Sprintf("field %s given twice", p.k.Value))
		}
		seen[p.k.Value] = true
		switch p.k.Value {
		case "policy":
			g.Policy = v
		case "key":
			g.Key = v
		case "type":
			g.Type = v
		default:
			problems = append(problems, fmt.Sprintf("unknown field %q (want policy, key and type)", p.k.Value))
			continue
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("field %s must be a string", p.k.Value))
		}
	}
	for i, p := range problems { // the location is known once every field is read
		problems[i] = g.where(id) + ": " + p
	}
	return g, problems
}

// where names a grant of endpoint id in a message.
func (g Grant) where(id string) string {
	return fmt.Sprintf("endpoint %q, policy %q, key %q (line %d)", id, g.Policy, g.Key, g.Line)
}

// checkFile checks every grant's values and their consistency across the
// file.
func checkFile(f *File) []string {
	var problems []string
	firstType := map[string]struct { // the first typed grant of each key
		id string
		g  Grant
	}{}
	for _, e := range f.Endpoints {
		if !ValidEndpointID(e.ID) {
			g := Grant{Line: 0}
			if len(e.Grants) > 0 {
				g = e.Grants[0]
			}
			problems = append(problems, g.where(e.ID)+
				": invalid endpoint id (want a letter, then letters, digits, \"_\" or \"-\", at most 64)")
		}
		for _, g := range e.Grants {
			var missing []string
			for _, f := range []struct{ name, v string }{{"policy", g.Policy}, {"key", g.Key}, {"type", g.Type}} {
				if f.v == "" {
					missing = append(missing, f.name)
				}
			}
			if len(missing) > 0 {
				problems = append(problems, g.where(e.ID)+": missing "+strings.Join(missing, ", "))
			}
			fits, knownPolicy := policyTypes[g.Policy]
			if g.Policy != "" && !knownPolicy {
				problems = append(problems, g.where(e.ID)+
					fmt.Sprintf(": unknown policy %q (want admin, sign, verify, encrypt, decrypt or rewrap)", g.Policy))
			}
			_, knownType := KeyTypes[g.Type]
			if g.Type != "" && !knownType {
				problems = append(problems, g.where(e.ID)+fmt.Sprintf(": unknown type %q (want sign or encrypt)", g.Type))
			}
			if g.Key != "" && !validKey(g.Key) {
				problems = append(problems, g.where(e.ID)+
					": invalid key name (want a letter or digit, then letters, digits, \"_\", \".\" or \"-\", at most 128)")
			}
			if knownPolicy && knownType && !slices.Contains(fits, g.Type) {
				problems = append(problems, g.where(e.ID)+
					fmt.Sprintf(": policy %s needs type %s, not %s", g.Policy, fits[0], g.Type))
			}
			if !knownType || g.Key == "" {
				continue
			}
			if first, seen := firstType[g.Key]; !seen {
				firstType[g.Key] = struct {
					id string
					g  Grant
				}{e.ID, g}
			} else if first.g.Type != g.Type {
				problems = append(problems, g.where(e.ID)+fmt.Sprintf(
					": key %s has type %s here but type %s at endpoint %q, policy %q (line %d); a key has one type",
					g.Key, g.Type, first.g.Type, first.id, first.g.Policy, first.g.Line))
			}
		}
	}
	return problems
}
