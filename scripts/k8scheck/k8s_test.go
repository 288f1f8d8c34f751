package k8scheck

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/yannh/kubeconform/pkg/resource"
	"github.com/yannh/kubeconform/pkg/validator"
	"sigs.k8s.io/yaml"
)

// root is deploy/k8s from this package's directory.
var root = filepath.Join("..", "..", "deploy", "k8s")

var overlays = map[string]Rules{
	"dev":  {Prod: false, StreamReplicas: 1},
	"prod": {Prod: true, StreamReplicas: 3},
}

// The kinds the negative cases use, besides those the overlays render.
var extraKinds = []GVK{{"apps/v1", "Deployment"}, {"v1", "Service"}, {"postgresql.cnpg.io/v1", "Cluster"}}

var (
	once      sync.Once
	rendered  map[string][]Object
	schemaDir string
	setupErr  error
)

// setup renders both overlays and writes the schemas of every kind they hold, once.
func setup(t *testing.T) (map[string][]Object, validator.Validator) {
	t.Helper()
	once.Do(func() {
		rendered = map[string][]Object{}
		kinds := slices.Clone(extraKinds)
		for name := range overlays {
			objs, err := Render(filepath.Join(root, "overlays", name))
			if err != nil {
				setupErr = err
				return
			}
			rendered[name] = objs
			for _, o := range objs {
				if !slices.Contains(kinds, o.GVK()) {
					kinds = append(kinds, o.GVK())
				}
			}
		}
		schemaDir, setupErr = os.MkdirTemp("", "k8s-schemas-")
		if setupErr == nil {
			setupErr = WriteSchemas(schemaDir, kinds)
		}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	v, err := validator.New([]string{SchemaLocation(schemaDir)}, validator.Opts{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return rendered, v
}

func TestMain(m *testing.M) {
	code := m.Run()
	if schemaDir != "" {
		os.RemoveAll(schemaDir)
	}
	os.Exit(code)
}

func validate(v validator.Validator, o Object) validator.Result {
	return v.ValidateResource(resource.Resource{Path: o.String(), Bytes: o.YAML})
}

// Every object of each overlay is valid against its kind's schema, strictly: no field
// the API does not know, no missing schema.
func TestOverlaysMatchSchemas(t *testing.T) {
	objs, v := setup(t)
	for name := range overlays {
		t.Run(name, func(t *testing.T) {
			if len(objs[name]) == 0 {
				t.Fatal("the overlay rendered nothing")
			}
			for _, o := range objs[name] {
				res := validate(v, o)
				if res.Status != validator.Valid {
					t.Errorf("%s: %v", o, res.Err)
				}
			}
		})
	}
}

// Each overlay holds the deployment's rules.
func TestOverlaysKeepRules(t *testing.T) {
	objs, _ := setup(t)
	for name, rules := range overlays {
		t.Run(name, func(t *testing.T) {
			for _, err := range Check(objs[name], rules) {
				t.Error(err)
			}
		})
	}
}

// The validator refuses broken objects, and takes a correct one of the same kind: the
// schemas are not vacuous.
func TestValidatorRefusesBrokenObjects(t *testing.T) {
	_, v := setup(t)
	deployment := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - name: x
          image: x
          resources: {limits: {cpu: 1, memory: 64Mi}}
          ports: [{name: grpc, containerPort: 7001}]
`
	cluster := `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: x}
spec:
  instances: 3
  storage: {size: 1Gi}
  bootstrap: {initdb: {database: treue, owner: treue}}
`
	for _, tc := range []struct {
		name, yaml string
		valid      bool
	}{
		{"deployment", deployment, true},
		{"misspelled field", strings.Replace(deployment, "image: x", "image: x\n          imagePullPolicyy: Always", 1), false},
		{"string for a number", strings.Replace(deployment, "containerPort: 7001", `containerPort: "seven"`, 1), false},
		{"missing required field", strings.Replace(deployment, "        - name: x\n", "        -\n", 1), false},
		{"wrong kind for the apiVersion", strings.Replace(deployment, "apps/v1", "v1", 1), false},
		{"cluster", cluster, true},
		{"cluster with a string for instances", strings.Replace(cluster, "instances: 3", "instances: three", 1), false},
		{"cluster with an unknown field", strings.Replace(cluster, "instances: 3", "instances: 3\n  replicas: 3", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			res := validate(v, o)
			if tc.valid && res.Status != validator.Valid {
				t.Fatalf("refused: %v %v", res.Err, res.ValidationErrors)
			}
			if !tc.valid {
				if res.Status == validator.Valid {
					t.Fatal("accepted")
				}
				t.Logf("refused: %v", res.Err)
			}
		})
	}
}

// The rules catch a Deployment that breaks them.
func TestRulesRefuseUnsafeDeployment(t *testing.T) {
	objs, _ := setup(t)
	for _, tc := range []struct {
		name  string
		edit  func(c map[string]any)
		wants string
	}{
		{"no readiness probe", func(c map[string]any) { delete(c, "readinessProbe") }, "readinessProbe"},
		{"writable root", func(c map[string]any) { get(c, "securityContext").(map[string]any)["readOnlyRootFilesystem"] = false }, "readOnlyRootFilesystem"},
		{"no limits", func(c map[string]any) { delete(get(c, "resources").(map[string]any), "limits") }, "resources.limits"},
		{"admin on loopback", func(c map[string]any) {
			c["env"] = append(list(c, "env"), map[string]any{"name": "LEDGER_ADMIN_ADDR", "value": "127.0.0.1:9001"})
		}, "loopback"},
		{"GOMEMLIMIT at the limit", func(c map[string]any) {
			c["env"] = append(list(c, "env"), map[string]any{"name": "GOMEMLIMIT", "value": "256MiB"})
		}, "GOMEMLIMIT"},
		{"SMTP port not let out", func(c map[string]any) {
			c["env"] = append(list(c, "env"), map[string]any{"name": "SURVEY_SMTP_ADDR", "value": "smtp.example.com:2525"})
		}, "TCP port 2525 (SURVEY_SMTP_ADDR)"},
		{"webhook port not let out", func(c map[string]any) {
			c["env"] = append(list(c, "env"), map[string]any{"name": "SURVEY_WEBHOOK_URL", "value": "https://sms.example.com/treue"})
		}, "TCP port 443 (SURVEY_WEBHOOK_URL)"},
		{"missing secret", func(c map[string]any) {
			c["envFrom"] = append(list(c, "envFrom"), map[string]any{"secretRef": map[string]any{"name": "nowhere"}})
		}, "Secret nowhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var broken []Object
			for _, o := range objs["dev"] {
				c, err := Parse(o.YAML) // a deep copy
				if err != nil {
					t.Fatal(err)
				}
				if o.String() == "Deployment/ledger" {
					container := list(c.M, "spec", "template", "spec", "containers")[0].(map[string]any)
					tc.edit(container)
				}
				broken = append(broken, c)
			}
			errs := Check(broken, overlays["dev"])
			for _, err := range errs {
				if strings.Contains(err.Error(), "Deployment/ledger") && strings.Contains(err.Error(), tc.wants) {
					return
				}
			}
			t.Fatalf("no breach naming %q among %v", tc.wants, errs)
		})
	}
}

// The NATS values make the three-node JetStream cluster the prod overlay's R3 streams
// need, with file storage on volumes and the place for the auth config.
func TestNATSValues(t *testing.T) {
	objs, _ := setup(t)
	raw, err := os.ReadFile(filepath.Join(root, "nats", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.UnmarshalStrict(raw, &values); err != nil {
		t.Fatal(err)
	}
	cfg := get(values, "config")
	if get(cfg, "cluster", "enabled") != true {
		t.Error("config.cluster.enabled is not true")
	}
	replicas, _ := get(cfg, "cluster", "replicas").(float64)
	if replicas != 3 {
		t.Errorf("config.cluster.replicas is %v, want 3", replicas)
	}
	for _, path := range [][]string{{"jetstream", "enabled"}, {"jetstream", "fileStore", "enabled"}, {"jetstream", "fileStore", "pvc", "enabled"}} {
		if get(cfg, path...) != true {
			t.Errorf("config.%s is not true", strings.Join(path, "."))
		}
	}
	if get(cfg, "jetstream", "memoryStore", "enabled") == true {
		t.Error("streams must be on file storage")
	}
	include := ""
	for k, v := range strMap(cfg, "merge") {
		if strings.HasSuffix(k, "$include") {
			include = v
		}
	}
	if include == "" {
		t.Error("config.merge has no $include for the auth config")
	}
	// nats-server joins an include to the directory of the chart's nats.conf; the file
	// must land in the secret's mount, in the server's container and the reloader's.
	file := path.Join("/etc/nats-config", include)
	for _, part := range []string{"container", "reloader"} {
		mounted := false
		for _, p := range list(values, part, "patch") {
			dir := str(p, "value", "mountPath")
			if str(p, "path") == "/volumeMounts/-" && str(p, "value", "name") == "auth" && dir != "" && path.Dir(file) == path.Clean(dir) {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("%s: no volume mount named auth holds the included %s", part, file)
		}
	}
	volume := false
	for _, p := range list(values, "podTemplate", "patch") {
		if str(p, "value", "name") == "auth" && str(p, "value", "secret", "secretName") != "" {
			volume = true
		}
	}
	if !volume {
		t.Error("podTemplate: no volume auth from a secret")
	}
	// The prod services' streams fit the cluster: R3 on three servers.
	if o, ok := findGenerated(objs["prod"], "treue-config"); !ok {
		t.Error("prod has no ConfigMap treue-config")
	} else if got := strMap(o.M, "data")["STREAM_REPLICAS"]; got != "3" || float64(3) > replicas {
		t.Errorf("prod STREAM_REPLICAS %s does not fit %v NATS servers", got, replicas)
	}
	// One chart version, the same in every install command.
	versions := map[string]bool{}
	re := regexp.MustCompile(`nats/nats --version (\S+)`)
	for _, f := range []string{"values.yaml", "values-dev.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, "nats", f))
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(b)
		if m == nil {
			t.Errorf("%s: no pinned chart version in its install command", f)
			continue
		}
		versions[string(m[1])] = true
	}
	if len(versions) > 1 {
		t.Errorf("the values files pin different chart versions: %v", versions)
	}
}
