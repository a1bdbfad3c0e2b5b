package openapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

func load(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(Document(), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

func TestServe(t *testing.T) {
	r := mux.NewRouter()
	Surface{}.Register(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	res, err := http.Get(srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || string(b) != string(Document()) {
		t.Fatalf("GET %s = %d %q, %d bytes; want 200 application/json with the document", Path, res.StatusCode, res.Header.Get("Content-Type"), len(b))
	}
}

// TestDocument checks what a client generator relies on: every reference
// resolves, path parameters match the path, operation ids are unique, and
// each example fits its schema.
func TestDocument(t *testing.T) {
	doc := load(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Fatalf("openapi = %q; want 3.0.x", v)
	}
	components := doc["components"].(map[string]any)
	schemas := components["schemas"].(map[string]any)
	for _, name := range []string{"Token", "TokenList", "Error", "CurrentUser", "Project", "Member", "Repo", "Branch", "Tag", "Commit"} {
		if schemas[name] == nil {
			t.Errorf("components.schemas lacks %s", name)
		}
	}
	for name, scheme := range map[string]string{"basic": "basic", "bearer": "bearer"} {
		s, _ := components["securitySchemes"].(map[string]any)[name].(map[string]any)
		if s["type"] != "http" || s["scheme"] != scheme {
			t.Errorf("securitySchemes.%s = %v; want http %s", name, s, scheme)
		}
	}
	eachRef(doc, func(ref string) {
		if resolve(doc, ref) == nil {
			t.Errorf("$ref %s resolves to nothing", ref)
		}
	})
	seen := map[string]string{}
	pathVar := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc["paths"].(map[string]any) {
		var inPath []string
		for _, m := range pathVar.FindAllStringSubmatch(path, -1) {
			inPath = append(inPath, m[1])
		}
		for method, o := range item.(map[string]any) {
			op := o.(map[string]any)
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" || seen[id] != "" {
				t.Errorf("%s: operationId %q missing or also used by %s", where, id, seen[id])
			}
			seen[id] = where
			if len(op["responses"].(map[string]any)) == 0 {
				t.Errorf("%s: no responses", where)
			}
			var declared []string
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				p := p.(map[string]any)
				if p["in"] == "path" {
					declared = append(declared, p["name"].(string))
				}
			}
			slices.Sort(inPath)
			slices.Sort(declared)
			if !slices.Equal(inPath, declared) {
				t.Errorf("%s: path parameters %v; the path has %v", where, declared, inPath)
			}
		}
	}
	for name, s := range schemas {
		if ex, ok := s.(map[string]any)["example"]; ok {
			if err := validate(doc, s, ex, name); err != nil {
				t.Errorf("example of %s: %v", name, err)
			}
		}
	}
}

// eachRef calls f with every $ref in v.
func eachRef(v any, f func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && k == "$ref" {
				f(s)
			}
			eachRef(e, f)
		}
	case []any:
		for _, e := range v {
			eachRef(e, f)
		}
	}
}

// resolve follows a local reference "#/a/b" in doc.
func resolve(doc map[string]any, ref string) any {
	var v any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[strings.NewReplacer("~1", "/", "~0", "~").Replace(part)]
	}
	return v
}

// validate checks v against the subset of JSON Schema the document uses:
// $ref, type, nullable, enum, properties, required and items.
func validate(doc map[string]any, schema, v any, at string) error {
	s := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		return validate(doc, resolve(doc, ref), v, at)
	}
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return fmt.Errorf("%s: null", at)
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	typ, _ := s["type"].(string)
	ok := true
	switch typ {
	case "object":
		m, isMap := v.(map[string]any)
		if !isMap {
			ok = false
			break
		}
		required, _ := s["required"].([]any)
		for _, r := range required {
			if _, present := m[r.(string)]; !present {
				return fmt.Errorf("%s: lacks required %s", at, r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, e := range m {
			ps, known := props[k]
			if !known {
				return fmt.Errorf("%s: %s is not a property", at, k)
			}
			if err := validate(doc, ps, e, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		list, isList := v.([]any)
		if !isList {
			ok = false
			break
		}
		for i, e := range list {
			if err := validate(doc, s["items"], e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		_, ok = v.(string)
	case "integer":
		n, isNum := v.(float64)
		ok = isNum && n == float64(int64(n))
	case "boolean":
		_, ok = v.(bool)
	}
	if !ok {
		return fmt.Errorf("%s: %v is not of type %s", at, v, typ)
	}
	return nil
}
