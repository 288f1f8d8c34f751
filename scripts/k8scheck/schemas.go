// Package k8scheck renders Treue's Kubernetes manifests (deploy/k8s) with Kustomize and
// validates every object against the Kubernetes JSON schemas with kubeconform, strict,
// and against the deployment's own rules (probes, security context, budgets, secrets).
//
// The schemas come from pinned Go modules, fetched through the Go module proxy like any
// dependency and checked against their go.sum hashes: the OpenAPI document of
// k8s.io/kubernetes (api/openapi-spec/swagger.json) for the built-in kinds, and the
// Cluster CRD of CloudNativePG (config/crd/bases) for postgresql.cnpg.io. They are
// converted to kubeconform's layout (standalone, strict) in a temporary directory; no
// schema is downloaded from anywhere else, and none is committed.
package k8scheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// A pinned module and the h1: hash its go.sum line would hold.
type Module struct{ Path, Version, Sum string }

var (
	// Kubernetes is the API version the manifests are validated against.
	Kubernetes = Module{"k8s.io/kubernetes", "v1.35.4", "h1:o/8dBC/pHVpYoGV4OAIytAlNPZbdYVTXJHoYvXC4qzM="}
	// CNPG is the CloudNativePG release whose Cluster CRD postgres/cluster.yaml is
	// checked against.
	CNPG = Module{"github.com/cloudnative-pg/cloudnative-pg", "v1.30.1", "h1:d1jxp0jQi7/3zrEhsv9ycD+G5ssmkNvDvTmogaGccCw="}
)

// Dir returns the module's directory in the module cache, downloading it through the Go
// toolchain (GOPROXY) when missing, and refuses a module whose hash is not the pinned
// one.
func (m Module) Dir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", m.Path+"@"+m.Version)
	// Outside any module: the download adds nothing to a go.mod.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	var info struct{ Dir, Sum, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v %v", m.Path, m.Version, err, jerr)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", m.Path, m.Version, info.Error)
	}
	if info.Sum != m.Sum {
		return "", fmt.Errorf("%s@%s has hash %s, pinned %s", m.Path, m.Version, info.Sum, m.Sum)
	}
	return info.Dir, nil
}

// GVK names a kind of object as kubeconform looks its schema up.
type GVK struct{ APIVersion, Kind string }

// File is the schema's file name in kubeconform's layout, as its template
// "{{ .ResourceKind }}{{ .KindSuffix }}.json" makes it: deployment-apps-v1.json,
// service-v1.json, cluster-postgresql-v1.json.
func (g GVK) File() string {
	group, version, ok := strings.Cut(g.APIVersion, "/")
	suffix := "-" + strings.ToLower(strings.Split(group, ".")[0])
	if ok {
		suffix += "-" + strings.ToLower(version)
	}
	return strings.ToLower(g.Kind) + suffix + ".json"
}

// SchemaLocation is the kubeconform schema location for a directory WriteSchemas filled.
func SchemaLocation(dir string) string {
	return filepath.Join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json")
}

// WriteSchemas writes a standalone strict JSON schema for each kind into dir: built-in
// kinds from the Kubernetes OpenAPI document, postgresql.cnpg.io kinds from
// CloudNativePG's CRDs. A kind found in neither is an error.
func WriteSchemas(dir string, kinds []GVK) error {
	var builtin, crds []GVK
	for _, k := range kinds {
		if strings.HasPrefix(k.APIVersion, "postgresql.cnpg.io/") {
			crds = append(crds, k)
		} else {
			builtin = append(builtin, k)
		}
	}
	if len(builtin) > 0 {
		kdir, err := Kubernetes.Dir()
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(filepath.Join(kdir, "api", "openapi-spec", "swagger.json"))
		if err != nil {
			return err
		}
		var doc struct {
			Definitions map[string]map[string]any `json:"definitions"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("swagger.json: %w", err)
		}
		for _, k := range builtin {
			s, err := fromOpenAPI(doc.Definitions, k)
			if err != nil {
				return err
			}
			if err := writeJSON(filepath.Join(dir, k.File()), s); err != nil {
				return err
			}
		}
	}
	if len(crds) > 0 {
		cdir, err := CNPG.Dir()
		if err != nil {
			return err
		}
		for _, k := range crds {
			s, err := fromCRD(filepath.Join(cdir, "config", "crd", "bases"), k)
			if err != nil {
				return err
			}
			if err := writeJSON(filepath.Join(dir, k.File()), s); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// fromOpenAPI is the schema of one built-in kind: its definition with every $ref
// inlined (kubeconform compiles one document per kind) and every object closed to
// properties it does not declare, as kubeconform's own -strict schemas are made.
func fromOpenAPI(defs map[string]map[string]any, k GVK) (map[string]any, error) {
	group, version, ok := strings.Cut(k.APIVersion, "/")
	if !ok {
		group, version = "", group
	}
	name := ""
	for n, d := range defs {
		gvks, _ := d["x-kubernetes-group-version-kind"].([]any)
		// Shared types (DeleteOptions, WatchEvent) name many kinds; a kind's own
		// definition names one.
		if len(gvks) != 1 {
			continue
		}
		g := gvks[0].(map[string]any)
		if g["group"] == group && g["version"] == version && g["kind"] == k.Kind {
			name = n
			break
		}
	}
	if name == "" {
		return nil, fmt.Errorf("no schema for %s %s in %s@%s", k.APIVersion, k.Kind, Kubernetes.Path, Kubernetes.Version)
	}
	s := expand(defs, defs[name], map[string]bool{name: true}).(map[string]any)
	pinKind(s, k)
	return s, nil
}

const (
	intOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	quantity    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
)

func expand(defs map[string]map[string]any, node any, seen map[string]bool) any {
	switch n := node.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/definitions/")
			switch {
			// The OpenAPI document types both as strings; YAML writes them as numbers
			// too (port: 8080, cpu: 1).
			case name == intOrString:
				return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
			case name == quantity:
				return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
			case seen[name]:
				// A type that contains itself (JSONSchemaProps) is left open below the
				// first level rather than inlined forever.
				return map[string]any{}
			}
			inner := map[string]bool{name: true}
			for s := range seen {
				inner[s] = true
			}
			return expand(defs, defs[name], inner)
		}
		out := make(map[string]any, len(n)+1)
		for key, v := range n {
			switch key {
			case "properties":
				props := map[string]any{}
				for p, ps := range v.(map[string]any) {
					props[p] = expand(defs, ps, seen)
				}
				out[key] = props
			case "items", "additionalProperties", "not":
				out[key] = expand(defs, v, seen)
			case "allOf", "anyOf", "oneOf":
				list := []any{}
				for _, e := range v.([]any) {
					list = append(list, expand(defs, e, seen))
				}
				out[key] = list
			case "description":
				// Only bulk in a schema nobody reads.
			default:
				out[key] = v
			}
		}
		closeObject(out)
		return out
	default:
		return node
	}
}

// closeObject forbids properties an object does not declare: strict mode.
func closeObject(s map[string]any) {
	if s["format"] == "int-or-string" {
		delete(s, "format")
		delete(s, "type")
		s["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
	}
	if _, ok := s["properties"]; !ok {
		return
	}
	if s["x-kubernetes-preserve-unknown-fields"] == true {
		return
	}
	if _, ok := s["additionalProperties"]; !ok {
		s["additionalProperties"] = false
	}
}

// pinKind makes a schema accept only its own kind and apiVersion.
func pinKind(s map[string]any, k GVK) {
	props, _ := s["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		s["properties"] = props
	}
	props["apiVersion"] = map[string]any{"type": "string", "enum": []any{k.APIVersion}}
	props["kind"] = map[string]any{"type": "string", "enum": []any{k.Kind}}
}

// fromCRD is the schema of a custom resource: the openAPIV3Schema of its served version
// in the CRD file, closed like the built-in kinds (except where the CRD preserves
// unknown fields) and with nullable turned into a null type.
func fromCRD(dir string, k GVK) (map[string]any, error) {
	group, version, _ := strings.Cut(k.APIVersion, "/")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), group+"_") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Served bool   `json:"served"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if crd.Spec.Group != group || crd.Spec.Names.Kind != k.Kind {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Name == version && v.Served && v.Schema.OpenAPIV3Schema != nil {
				s := crdNode(v.Schema.OpenAPIV3Schema).(map[string]any)
				pinKind(s, k)
				return s, nil
			}
		}
	}
	return nil, errors.New("no CRD for " + k.APIVersion + " " + k.Kind + " in " + CNPG.Path + "@" + CNPG.Version)
}

func crdNode(node any) any {
	n, ok := node.(map[string]any)
	if !ok {
		return node
	}
	out := make(map[string]any, len(n)+1)
	for key, v := range n {
		switch key {
		case "properties":
			props := map[string]any{}
			for p, ps := range v.(map[string]any) {
				props[p] = crdNode(ps)
			}
			out[key] = props
		case "items", "additionalProperties", "not":
			out[key] = crdNode(v)
		case "allOf", "anyOf", "oneOf":
			list := []any{}
			for _, e := range v.([]any) {
				list = append(list, crdNode(e))
			}
			out[key] = list
		case "description":
		default:
			out[key] = v
		}
	}
	if out["nullable"] == true {
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		}
	}
	if out["x-kubernetes-int-or-string"] == true {
		if _, ok := out["anyOf"]; !ok {
			delete(out, "type")
			out["anyOf"] = []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}
		}
	}
	closeObject(out)
	return out
}
