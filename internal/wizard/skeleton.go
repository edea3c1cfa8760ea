package wizard

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Real-world documents often fail to load as a whole for reasons authorization does not
// care about: a number where kin-openapi wants a string (YAML's `version: 1.0`,
// `description: 404`), a $ref to a schema that does not exist or lives in another file. When
// the full load fails, the document is read again reduced to its skeleton — what init uses:
// servers and basePath, security schemes and requirements, the API Gateway extensions, and per
// operation its path, method, operationId, parameters (name, in, required) and security.

// skeleton reduces a decoded document (JSON object) to what authorization needs. It returns
// the reduced document and warnings naming what was left out by its place in the document; a
// parameter $ref that names nothing is an error naming where it is used.
func skeleton(doc map[string]any, swagger2 bool) (map[string]any, []string, error) {
	var warns []string
	out := map[string]any{}
	// Local parameter $refs must resolve: a parameter authorization may need is missing.
	prefix, comps := "#/components/parameters/", map[string]any{}
	if swagger2 {
		prefix, comps = "#/parameters/", doc
	} else if c, ok := doc["components"].(map[string]any); ok {
		comps = c
	}
	defined, _ := comps["parameters"].(map[string]any)
	sk := &skel{swagger2: swagger2, warns: &warns, refOK: func(ref string) bool {
		name, ok := strings.CutPrefix(ref, prefix)
		_, found := defined[strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")]
		return ok && found
	}}
	for _, k := range []string{"openapi", "swagger", "servers", "host", "basePath", "schemes", "security", "securityDefinitions", "x-amazon-apigateway-cors"} {
		if v, ok := doc[k]; ok {
			out[k] = v
		}
	}
	info := map[string]any{"title": "", "version": ""}
	if in, ok := doc["info"].(map[string]any); ok {
		info["title"], info["version"] = scalarString(in["title"]), scalarString(in["version"])
	}
	out["info"] = info
	if swagger2 {
		if ps, ok := doc["parameters"].(map[string]any); ok {
			kept := map[string]any{}
			for name, p := range ps {
				if sp := sk.param(p, "parameters."+name); sp != nil {
					kept[name] = sp
				}
			}
			out["parameters"] = kept
		}
	} else if comps, ok := doc["components"].(map[string]any); ok {
		c := map[string]any{}
		if s, ok := comps["securitySchemes"]; ok {
			c["securitySchemes"] = s
		}
		if ps, ok := comps["parameters"].(map[string]any); ok {
			kept := map[string]any{}
			for name, p := range ps {
				if sp := sk.param(p, "components.parameters."+name); sp != nil {
					kept[name] = sp
				}
			}
			c["parameters"] = kept
		}
		out["components"] = c
	}
	paths := map[string]any{}
	if ps, ok := doc["paths"].(map[string]any); ok {
		for path, raw := range ps {
			item, ok := raw.(map[string]any)
			if !ok {
				warns = append(warns, fmt.Sprintf("paths.%s: not a path item; skipped", path))
				continue
			}
			if ref, ok := item["$ref"].(string); ok {
				if !strings.HasPrefix(ref, "#") {
					warns = append(warns, fmt.Sprintf("paths.%s: skipped: its $ref %q is in another file, which init does not read", path, ref))
					continue
				}
				paths[path] = map[string]any{"$ref": ref}
				continue
			}
			it := map[string]any{}
			if list, ok := item["parameters"].([]any); ok {
				it["parameters"] = sk.params(list, "paths."+path+".parameters")
			}
			for key, v := range item {
				switch {
				case key == "parameters" || key == "$ref":
				case key == AnyMethodExtension || !strings.HasPrefix(key, "x-") && slices.Contains(pathItemMethods, key):
					if op, ok := v.(map[string]any); ok {
						it[key] = sk.operation(op, "paths."+path+"."+key)
					}
				}
			}
			paths[path] = it
		}
	}
	out["paths"] = paths
	return out, warns, sk.err
}

// pathItemMethods are the operation keys of a path item (OpenAPI 3; Swagger 2 has all but trace).
var pathItemMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// skel reduces operations and parameters.
type skel struct {
	swagger2 bool
	warns    *[]string
	refOK    func(string) bool // a local parameter $ref names a defined parameter
	err      error             // the first $ref to nothing
}

func (sk *skel) operation(op map[string]any, ref string) map[string]any {
	out := map[string]any{"responses": map[string]any{"default": map[string]any{"description": "not read"}}}
	if id, ok := op["operationId"]; ok && id != nil {
		out["operationId"] = scalarString(id)
	}
	for _, k := range []string{"security", "x-amazon-apigateway-integration"} {
		if v, ok := op[k]; ok {
			out[k] = v
		}
	}
	if list, ok := op["parameters"].([]any); ok {
		out["parameters"] = sk.params(list, ref+".parameters")
	}
	return out
}

func (sk *skel) params(list []any, ref string) []any {
	out := []any{}
	for i, p := range list {
		if sp := sk.param(p, fmt.Sprintf("%s[%d]", ref, i)); sp != nil {
			out = append(out, sp)
		}
	}
	return out
}

// skeletonParam keeps a parameter's name, place and requiredness (its schema becomes a plain
// string: Cedar's context holds every parameter as a String). Body and form parameters, and
// $refs to other files, are left out.
func (sk *skel) param(p any, ref string) map[string]any {
	m, ok := p.(map[string]any)
	if !ok {
		*sk.warns = append(*sk.warns, ref+": not a parameter object; ignored")
		return nil
	}
	if r, ok := m["$ref"].(string); ok {
		switch {
		case !strings.HasPrefix(r, "#"):
			*sk.warns = append(*sk.warns, fmt.Sprintf("%s: $ref %q is in another file, which init does not read; ignored", ref, r))
			return nil
		case !sk.refOK(r):
			if sk.err == nil {
				sk.err = fmt.Errorf("%s: $ref %q names no parameter of the document", ref, r)
			}
			return nil
		}
		return map[string]any{"$ref": r}
	}
	in := scalarString(m["in"])
	if in == "body" || in == "formData" {
		return nil
	}
	out := map[string]any{"name": scalarString(m["name"]), "in": in, "required": m["required"] == true || in == "path"}
	if sk.swagger2 {
		out["type"] = "string"
	} else {
		out["schema"] = map[string]any{"type": "string"}
	}
	return out
}

// scalarString is a scalar as text (YAML reads `version: 1.0` as a number and `on` as a
// boolean); anything else is "".
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64, bool, json.Number:
		return fmt.Sprint(v)
	}
	return ""
}
