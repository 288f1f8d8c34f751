package k8scheck

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Service is one of Treue's services and its ports (HTTP 0: none).
type Service struct {
	Name              string
	GRPC, Admin, HTTP int
}

// Services are Treue's five services with the ports deploy/Dockerfile and the admin
// endpoints give them.
var Services = []Service{
	{"ledger", 7001, 9001, 0},
	{"survey", 7002, 9002, 8082},
	{"feedback", 7003, 9003, 0},
	{"rewards", 7004, 9004, 0},
	{"reporting", 7005, 9005, 8085},
}

// PostgresSecret is the secret CloudNativePG makes for the Cluster treue-postgres.
const (
	PostgresCluster = "treue-postgres"
	PostgresSecret  = PostgresCluster + "-app"
	// DefaultDBMaxConns is <SERVICE>_DB_MAX_CONNS's default (pkg/svc).
	DefaultDBMaxConns = 8
)

// Rules says what an overlay must hold beyond the schemas.
type Rules struct {
	// Prod: at least two replicas under an HPA, minAvailable 1, no Secret in the output
	// (they come from a secret store). Otherwise: one replica and every secret rendered.
	Prod bool
	// StreamReplicas is the STREAM_REPLICAS the services must be given.
	StreamReplicas int
}

// Check applies the deployment's rules to an overlay's objects and returns every
// breach, each naming its object.
func Check(objs []Object, r Rules) []error {
	var errs []error
	fail := func(o Object, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", o, fmt.Sprintf(format, a...)))
	}
	byKind := map[string][]Object{}
	for _, o := range objs {
		byKind[o.GVK().Kind] = append(byKind[o.GVK().Kind], o)
	}
	find := func(kind, name string) (Object, bool) {
		for _, o := range byKind[kind] {
			if o.Name() == name {
				return o, true
			}
		}
		return Object{}, false
	}

	if r.Prod && len(byKind["Secret"]) > 0 {
		for _, s := range byKind["Secret"] {
			fail(s, "prod must not carry secrets: they come from the secret store")
		}
	}
	if _, ok := find("Cluster", PostgresCluster); !ok {
		errs = append(errs, fmt.Errorf("no CloudNativePG Cluster %s: nothing makes the secret %s", PostgresCluster, PostgresSecret))
	}
	if cfg, ok := findGenerated(byKind["ConfigMap"], "treue-config"); !ok {
		errs = append(errs, fmt.Errorf("no ConfigMap treue-config"))
	} else if got := strMap(cfg.M, "data")["STREAM_REPLICAS"]; got != strconv.Itoa(r.StreamReplicas) {
		fail(cfg, "STREAM_REPLICAS is %q, want %d", got, r.StreamReplicas)
	}

	deployments := map[string]Object{}
	for _, d := range byKind["Deployment"] {
		deployments[d.Name()] = d
	}
	dbConns := 0
	for _, svc := range Services {
		d, ok := deployments[svc.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("no Deployment %s", svc.Name))
			continue
		}
		labels := strMap(d.M, "spec", "template", "metadata", "labels")
		pod := get(d.M, "spec", "template", "spec")
		containers := list(pod, "containers")
		if len(containers) != 1 {
			fail(d, "want one container, have %d", len(containers))
			continue
		}
		c := containers[0]
		ports := map[string]int{}
		for _, p := range list(c, "ports") {
			n, _ := get(p, "containerPort").(float64)
			ports[str(p, "name")] = int(n)
		}
		want := map[string]int{"grpc": svc.GRPC, "admin": svc.Admin}
		if svc.HTTP != 0 {
			want["http"] = svc.HTTP
		}
		for name, port := range want {
			if ports[name] != port {
				fail(d, "container port %s is %d, want %d", name, ports[name], port)
			}
		}

		// The ports the process listens on are those the pod declares.
		env := containerEnv(c, byKind)
		prefix := strings.ToUpper(svc.Name)
		for name, port := range want {
			key := prefix + "_" + strings.ToUpper(name) + "_ADDR"
			_, p, err := net.SplitHostPort(env[key])
			if err != nil || p != strconv.Itoa(port) {
				fail(d, "%s is %q, want 0.0.0.0:%d", key, env[key], port)
			} else if h, _, _ := net.SplitHostPort(env[key]); h == "127.0.0.1" || h == "localhost" {
				fail(d, "%s listens on loopback only: unreachable in a pod", key)
			}
		}
		if env["STREAM_REPLICAS"] != strconv.Itoa(r.StreamReplicas) {
			fail(d, "STREAM_REPLICAS reaches the container as %q, want %d", env["STREAM_REPLICAS"], r.StreamReplicas)
		}

		// Probes on the admin port; liveness never on readiness' endpoint.
		for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
			if str(c, probe, "httpGet", "path") != path || fmt.Sprint(get(c, probe, "httpGet", "port")) != "admin" {
				fail(d, "%s must be GET %s on the admin port", probe, path)
			}
		}
		for _, kind := range []string{"requests", "limits"} {
			for _, res := range []string{"cpu", "memory"} {
				if get(c, "resources", kind, res) == nil {
					fail(d, "resources.%s.%s is not set", kind, res)
				}
			}
		}

		// GOMEMLIMIT under the memory limit, with room for what is not Go heap: at or
		// above it the kernel kills the process before the runtime collects harder.
		limit, lerr := bytesOf(fmt.Sprint(get(c, "resources", "limits", "memory")), k8sUnits)
		soft, serr := bytesOf(env["GOMEMLIMIT"], goUnits)
		switch {
		case serr != nil || lerr != nil:
			fail(d, "GOMEMLIMIT %q or the memory limit cannot be read: %v %v", env["GOMEMLIMIT"], serr, lerr)
		case soft > limit*95/100 || soft < limit/2:
			fail(d, "GOMEMLIMIT %s should be about 90%% of the memory limit %v", env["GOMEMLIMIT"], get(c, "resources", "limits", "memory"))
		}

		// Security context: non-root, read-only root, no capabilities, RuntimeDefault.
		if get(pod, "securityContext", "runAsNonRoot") != true && get(c, "securityContext", "runAsNonRoot") != true {
			fail(d, "runAsNonRoot is not true")
		}
		if get(c, "securityContext", "readOnlyRootFilesystem") != true {
			fail(d, "readOnlyRootFilesystem is not true")
		}
		if get(c, "securityContext", "allowPrivilegeEscalation") != false {
			fail(d, "allowPrivilegeEscalation is not false")
		}
		if !slices.Contains(list(c, "securityContext", "capabilities", "drop"), any("ALL")) {
			fail(d, "capabilities do not drop ALL")
		}
		if str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" && str(c, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
			fail(d, "seccompProfile is not RuntimeDefault")
		}

		// Everything the pod refers to exists, or comes from where it should.
		for _, ref := range podRefs(c) {
			switch {
			case ref.kind == "ConfigMap":
				if _, ok := find("ConfigMap", ref.name); !ok {
					fail(d, "ConfigMap %s is not in the output", ref.name)
				}
			case ref.name == PostgresSecret:
				// Made by the operator from the Cluster checked above.
			case r.Prod:
				// From the secret store; the README lists it.
			default:
				s, ok := find("Secret", ref.name)
				if !ok {
					fail(d, "Secret %s is not in the output", ref.name)
				} else if ref.key != "" && get(s.M, "data", ref.key) == nil {
					fail(d, "Secret %s has no key %s", ref.name, ref.key)
				}
			}
		}

		// The Service, the budget, the network policy and (prod) the autoscaler.
		svcObj, ok := find("Service", svc.Name)
		switch {
		case !ok:
			fail(d, "no Service")
		case !selects(strMap(svcObj.M, "spec", "selector"), labels):
			fail(svcObj, "does not select the pods of %s", svc.Name)
		default:
			a := strMap(svcObj.M, "metadata", "annotations")
			if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(svc.Admin) {
				fail(svcObj, "prometheus.io annotations must scrape port %d", svc.Admin)
			}
		}
		pdbs := 0
		for _, p := range byKind["PodDisruptionBudget"] {
			if !selects(strMap(p.M, "spec", "selector", "matchLabels"), labels) {
				continue
			}
			pdbs++
			if r.Prod && fmt.Sprint(get(p.M, "spec", "minAvailable")) != "1" {
				fail(p, "prod wants minAvailable 1")
			}
		}
		if pdbs != 1 {
			fail(d, "%d PodDisruptionBudgets select it, want 1", pdbs)
		}
		ingress := false
		for _, np := range byKind["NetworkPolicy"] {
			sel := strMap(np.M, "spec", "podSelector", "matchLabels")
			if len(sel) > 0 && selects(sel, labels) && len(list(np.M, "spec", "ingress")) > 0 {
				ingress = true
			}
		}
		if !ingress {
			fail(d, "no NetworkPolicy lets anything in")
		}
		// What the service sends out of the cluster (the survey's SMTP relay and
		// webhook) must be let out of its pods.
		for _, port := range outboundPorts(env) {
			if !egressAllows(byKind["NetworkPolicy"], labels, port) {
				fail(d, "sends to TCP port %d (%s) but no NetworkPolicy lets its pods out on it", port.n, port.what)
			}
		}
		replicas := 0
		if n, ok := get(d.M, "spec", "replicas").(float64); ok {
			replicas = int(n)
		}
		if r.Prod {
			if get(d.M, "spec", "replicas") != nil {
				fail(d, "prod leaves replicas to the HorizontalPodAutoscaler")
			}
			hpa, ok := find("HorizontalPodAutoscaler", svc.Name)
			if !ok || str(hpa.M, "spec", "scaleTargetRef", "kind") != "Deployment" || str(hpa.M, "spec", "scaleTargetRef", "name") != svc.Name {
				fail(d, "no HorizontalPodAutoscaler scales it")
			} else {
				minR, _ := get(hpa.M, "spec", "minReplicas").(float64)
				maxR, _ := get(hpa.M, "spec", "maxReplicas").(float64)
				if minR < 2 {
					fail(hpa, "minReplicas %v, want at least 2", minR)
				}
				replicas = int(maxR)
			}
		} else if replicas != 1 {
			fail(d, "replicas %d, want 1", replicas)
		}
		conns := DefaultDBMaxConns
		if v, ok := env[prefix+"_DB_MAX_CONNS"]; ok {
			conns, _ = strconv.Atoi(v)
		}
		dbConns += replicas * conns
	}
	for _, d := range byKind["Deployment"] {
		if !slices.ContainsFunc(Services, func(s Service) bool {
			return s.Name == d.Name()
		}) {
			fail(d, "not one of the five services")
		}
	}

	// Postgres must accept every connection the services may open at their most
	// replicas, with room for the operator's and an operator's own.
	if pg, ok := find("Cluster", PostgresCluster); ok {
		maxConns, err := strconv.Atoi(strMap(pg.M, "spec", "postgresql", "parameters")["max_connections"])
		if err != nil {
			maxConns = 100 // PostgreSQL's default
		}
		if dbConns+20 > maxConns {
			fail(pg, "max_connections %d is less than the services' %d connections at their most replicas plus 20", maxConns, dbConns)
		}
	}
	return errs
}

// findGenerated finds an object a Kustomize generator made: its name carries a hash of
// its content.
func findGenerated(objs []Object, name string) (Object, bool) {
	re := regexp.MustCompile("^" + regexp.QuoteMeta(name) + "(-[a-z0-9]{10})?$")
	for _, o := range objs {
		if re.MatchString(o.Name()) {
			return o, true
		}
	}
	return Object{}, false
}

type ref struct{ kind, name, key string }

func podRefs(c any) []ref {
	var out []ref
	for _, e := range list(c, "envFrom") {
		if n := str(e, "configMapRef", "name"); n != "" {
			out = append(out, ref{"ConfigMap", n, ""})
		}
		if n := str(e, "secretRef", "name"); n != "" {
			out = append(out, ref{"Secret", n, ""})
		}
	}
	for _, e := range list(c, "env") {
		if n := str(e, "valueFrom", "secretKeyRef", "name"); n != "" {
			out = append(out, ref{"Secret", n, str(e, "valueFrom", "secretKeyRef", "key")})
		}
		if n := str(e, "valueFrom", "configMapKeyRef", "name"); n != "" {
			out = append(out, ref{"ConfigMap", n, ""})
		}
	}
	return out
}

// containerEnv is the container's environment from its ConfigMaps and literal values,
// as the kubelet assembles it (later sources win).
func containerEnv(c any, byKind map[string][]Object) map[string]string {
	env := map[string]string{}
	for _, e := range list(c, "envFrom") {
		n := str(e, "configMapRef", "name")
		for _, cm := range byKind["ConfigMap"] {
			if n != "" && cm.Name() == n {
				for k, v := range strMap(cm.M, "data") {
					env[k] = v
				}
			}
		}
	}
	for _, e := range list(c, "env") {
		if v, ok := get(e, "value").(string); ok {
			env[str(e, "name")] = v
		}
	}
	return env
}

var (
	k8sUnits = map[string]int64{"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
	goUnits  = map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
)

// bytesOf reads a whole number of bytes with one of units' suffixes.
func bytesOf(s string, units map[string]int64) (int64, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	unit, ok := units[s[i:]]
	if err != nil || !ok {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return n * unit, nil
}

// selects reports whether a matchLabels selector picks pods with these labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

type outbound struct {
	n    int
	what string
}

// outboundPorts are the TCP ports a service's settings send to: the SMTP relay's
// (SURVEY_SMTP_ADDR) and the webhook's (SURVEY_WEBHOOK_URL; 443 for https, 80 for http).
func outboundPorts(env map[string]string) []outbound {
	var out []outbound
	if _, p, err := net.SplitHostPort(env["SURVEY_SMTP_ADDR"]); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, outbound{n, "SURVEY_SMTP_ADDR"})
		}
	}
	if u, err := url.Parse(env["SURVEY_WEBHOOK_URL"]); err == nil && u.Host != "" {
		n, err := strconv.Atoi(u.Port())
		if err != nil {
			n = map[string]int{"https": 443, "http": 80}[u.Scheme]
		}
		out = append(out, outbound{n, "SURVEY_WEBHOOK_URL"})
	}
	return out
}

// egressAllows reports whether a NetworkPolicy that selects pods with these labels lets
// them out on TCP port (a rule without ports allows every port).
func egressAllows(policies []Object, labels map[string]string, port outbound) bool {
	for _, np := range policies {
		if !selects(strMap(np.M, "spec", "podSelector", "matchLabels"), labels) {
			continue
		}
		for _, rule := range list(np.M, "spec", "egress") {
			ports := list(rule, "ports")
			if len(ports) == 0 {
				return true
			}
			for _, p := range ports {
				n, _ := get(p, "port").(float64)
				if proto := str(p, "protocol"); (proto == "" || proto == "TCP") && int(n) == port.n {
					return true
				}
			}
		}
	}
	return false
}
