package k8scheck

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Object is one rendered object: its YAML, as kubectl would receive it, and its decoded
// form for the rules.
type Object struct {
	YAML []byte
	M    map[string]any
}

// GVK is the object's kind.
func (o Object) GVK() GVK { return GVK{str(o.M, "apiVersion"), str(o.M, "kind")} }

// Name is the object's metadata.name.
func (o Object) Name() string { return str(o.M, "metadata", "name") }

func (o Object) String() string { return o.GVK().Kind + "/" + o.Name() }

// Render builds the kustomization in dir as `kustomize build dir` does.
func Render(dir string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out []Object
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		o, err := Parse(y)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Parse decodes one object.
func Parse(y []byte) (Object, error) {
	var m map[string]any
	if err := yaml.Unmarshal(y, &m); err != nil {
		return Object{}, err
	}
	return Object{YAML: y, M: m}, nil
}

// get walks maps by key; nil where the path ends.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

func strMap(v any, path ...string) map[string]string {
	out := map[string]string{}
	m, _ := get(v, path...).(map[string]any)
	for k, x := range m {
		out[k] = fmt.Sprint(x)
	}
	return out
}
