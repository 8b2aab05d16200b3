package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/event"
)

// loadFixture decodes testdata/name, pretty-printed, into an Event.
func loadFixture(t testing.TB, name string) *Event {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	ev := new(Event)
	require.NoError(t, ev.Decode(data), name)
	return ev
}

// extract compiles field name[arg] and extracts it from ev as strings
// (numbers in decimal). It returns nil when the field yields nothing.
func extract(t testing.TB, ev event.Event, name, arg string, hasArg bool) []string {
	t.Helper()
	src := NewSource()
	x, err := src.Extractor(name, arg, hasArg)
	require.NoError(t, err, "compile %s[%s]", name, arg)
	f, ok := event.Lookup(src.Fields(), name)
	require.True(t, ok)
	var out []string
	for _, v := range x.Extract(ev, nil) {
		if f.Type.Numeric() {
			out = append(out, strconv.FormatUint(v.Num, 10))
		} else {
			out = append(out, v.Str)
		}
	}
	return out
}

// fieldCase is one field reference and the values it yields on a fixture.
type fieldCase struct {
	field string // name, with [arg] when it has an argument
	want  []string
}

func (c fieldCase) split() (name, arg string, hasArg bool) {
	name, arg, hasArg = strings.Cut(c.field, "[")
	if hasArg {
		arg = strings.TrimSuffix(arg, "]")
	}
	return name, arg, hasArg
}

// v builds a want list.
func v(s ...string) []string { return s }

// compactOf returns the compact JSON of the JSON text s.
func compactOf(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}

// timeFields returns the cases of the time fields for an event of time ts
// (RFC 3339) numbered num.
func timeFields(ts string, num uint64) []fieldCase {
	tm, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		panic(err)
	}
	tm = tm.UTC()
	ns := tm.UnixNano()
	return []fieldCase{
		{"jevt.rawtime", v(strconv.FormatInt(ns, 10))},
		{"json.rawtime", v(strconv.FormatInt(ns, 10))},
		{"jevt.time", v(tm.Format("15:04:05.000000000"))},
		{"jevt.time.iso8601", v(tm.Format("2006-01-02T15:04:05.000000000-0700"))},
		{"evt.time", v(tm.Format("15:04:05.000000000"))},
		{"evt.time.s", v(tm.Format("15:04:05"))},
		{"evt.time.iso8601", v(tm.Format("2006-01-02T15:04:05.000000000-0700"))},
		{"evt.datetime", v(tm.Format("2006-01-02 15:04:05.000000000"))},
		{"evt.datetime.s", v(tm.Format("2006-01-02 15:04:05"))},
		{"evt.rawtime", v(strconv.FormatInt(ns, 10))},
		{"evt.rawtime.s", v(strconv.FormatInt(tm.Unix(), 10))},
		{"evt.rawtime.ns", v(strconv.Itoa(tm.Nanosecond()))},
		{"evt.num", v(strconv.FormatUint(num, 10))},
		{"evt.source", v("k8s_audit")},
		{"evt.pluginname", v("k8saudit")},
	}
}

// fieldTests lists, per fixture, field references and their values. Every
// field of the registry appears at least once (TestEveryFieldTested).
var fieldTests = map[string][]fieldCase{
	"pod_create.json": {
		{"ka.auditid", v("4d5c6a0e-2b1f-4f7e-9c3a-0d6e1b2a7f91")},
		{"ka.stage", v("ResponseComplete")},
		{"ka.auth.decision", v("allow")},
		{"ka.auth.reason", v(`RBAC: allowed by ClusterRoleBinding "platform-admins" of ClusterRole "cluster-admin" to Group "oidc:platform"`)},
		{"ka.auth.openshift.decision", nil},
		{"ka.auth.openshift.username", nil},
		{"ka.validations.admission.policy.failure", nil},
		{"ka.security.pod.violations", v(`would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true, hostPID=true), privileged (container "app" must not set securityContext.privileged=true)`)},
		{"ka.user.name", v("alice@example.com")},
		{"ka.user.groups", v("oidc:platform", "system:authenticated")},
		{"ka.impuser.name", nil},
		{"ka.verb", v("create")},
		{"ka.uri", v("/api/v1/namespaces/shop/pods?fieldManager=kubectl-client-side-apply&fieldValidation=Strict")},
		{"ka.uri.param[fieldManager]", v("kubectl-client-side-apply")},
		{"ka.uri.param[fieldValidation]", v("Strict")},
		{"ka.uri.param[command]", nil},
		{"ka.target.name", v("web-7d4b9")},
		{"ka.target.namespace", v("shop")},
		{"ka.target.resource", v("pods")},
		{"ka.target.subresource", nil},
		{"ka.target.pod.name", v("web-7d4b9")},
		{"ka.req.binding.subjects", nil},
		{"ka.req.binding.role", nil},
		{"ka.req.binding.subject.has_name[alice]", v("true")},
		{"ka.req.configmap.name", v("web-7d4b9")},
		{"ka.req.configmap.obj", nil},
		{"ka.req.pod.containers.name", v("app", "log-shipper")},
		{"ka.req.pod.containers.name[1]", v("log-shipper")},
		{"ka.req.pod.containers.name[2]", nil},
		{"ka.req.pod.containers.image", v("registry.example.com:5000/team/app:1.4.2", "docker.io/library/busybox@sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7")},
		{"ka.req.pod.containers.image[1]", v("docker.io/library/busybox@sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7")},
		// The plugin cuts at the first ':', even a registry port's.
		{"ka.req.pod.containers.image.repository", v("registry.example.com", "docker.io/library/busybox")},
		{"ka.req.pod.containers.image.repository[1]", v("docker.io/library/busybox")},
		{"ka.req.container.image", v("registry.example.com:5000/team/app:1.4.2")},
		{"ka.req.container.image.repository", v("registry.example.com")},
		{"ka.req.pod.containers.command", v(`["/bin/sh","-c"]`)},
		{"ka.req.pod.containers.args", v(`["exec /app --listen :8080 --name \"web\""]`, `["sh","-c","tail -F /var/log/app.log"]`)},
		{"ka.req.pod.containers.args[1]", v(`["sh","-c","tail -F /var/log/app.log"]`)},
		// Unset values yield nothing, per container.
		{"ka.req.pod.containers.privileged", v("true")},
		{"ka.req.pod.containers.privileged[0]", v("true")},
		{"ka.req.pod.containers.privileged[1]", nil},
		{"ka.req.container.privileged", v("true")},
		{"ka.req.pod.containers.allow_privilege_escalation", v("true", "false")},
		{"ka.req.pod.containers.read_only_fs", v("false", "true")},
		{"ka.req.pod.containers.run_as_user", v("65534")},
		{"ka.req.pod.containers.run_as_group", v("65534")},
		// The container's runAsUser, else the pod's.
		{"ka.req.pod.containers.eff_run_as_user", v("1000", "65534")},
		{"ka.req.pod.containers.eff_run_as_user[1]", v("65534")},
		{"ka.req.pod.containers.eff_run_as_group", v("3000", "65534")},
		{"ka.req.pod.containers.proc_mount", v("Default")},
		{"ka.req.pod.containers.add_capabilities", v(`["NET_ADMIN","SYS_TIME"]`)},
		{"ka.req.pod.containers.host_port", v("80", "9090")},
		{"ka.req.pod.containers.host_port[0]", v("80", "9090")},
		{"ka.req.pod.containers.host_port[1]", nil},
		{"ka.req.pod.initContainers.name", v("init-perms")},
		{"ka.req.pod.initContainers.image", v("alpine:3.20")},
		{"ka.req.pod.initContainers.image.repository", v("alpine")},
		{"ka.req.pod.initContainers.command", v(`["chown","-R","1000:3000","/data"]`)},
		{"ka.req.pod.initContainers.args", nil},
		{"ka.req.pod.initContainers.privileged", v("true")},
		{"ka.req.pod.initContainers.allow_privilege_escalation", nil},
		{"ka.req.pod.initContainers.read_only_fs", nil},
		{"ka.req.pod.initContainers.run_as_user", v("0")},
		{"ka.req.pod.initContainers.eff_run_as_user", v("0")},
		{"ka.req.pod.initContainers.run_as_group", nil},
		{"ka.req.pod.initContainers.eff_run_as_group", v("3000")},
		{"ka.req.pod.initContainers.proc_mount", nil},
		{"ka.req.pod.initContainers.add_capabilities", nil},
		{"ka.req.pod.initContainers.host_port", nil},
		{"ka.req.pod.ephemeralContainers.name", nil},
		{"ka.req.pod.ephemeralContainers.privileged", nil},
		{"ka.req.pod.host_ipc", v("false")},
		{"ka.req.pod.host_network", v("true")},
		{"ka.req.container.host_network", v("true")},
		{"ka.req.pod.host_pid", v("true")},
		{"ka.req.pod.run_as_user", v("1000")},
		{"ka.req.pod.run_as_group", v("3000")},
		{"ka.req.pod.fs_group", v("2000")},
		{"ka.req.pod.supplemental_groups", v("4000", "4001")},
		{"ka.req.pod.volumes.hostpath", v("/var/run/docker.sock", "/etc/kubernetes")},
		{"ka.req.pod.volumes.hostpath[3]", v("/etc/kubernetes")},
		{"ka.req.pod.volumes.hostpath[1]", nil},
		{"ka.req.volume.hostpath[/etc/kubernetes]", v("true")},
		{"ka.req.volume.hostpath[/var/run/docker.sock]", v("true")},
		{"ka.req.volume.hostpath[/etc*]", v("true")},
		{"ka.req.volume.hostpath[/etc]", v("false")},
		{"ka.req.volume.hostpath[/proc*]", v("false")},
		{"ka.req.pod.volumes.flexvolume_driver", v("example.com/lvm")},
		{"ka.req.pod.volumes.flexvolume_driver[0]", nil},
		{"ka.req.pod.volumes.flexvolume_driver[2]", v("example.com/lvm")},
		{"ka.req.pod.volumes.volume_type", v("hostPath", "configMap", "flexVolume", "hostPath")},
		{"ka.req.pod.volumes.volume_type[1]", v("configMap")},
		{"ka.req.role.rules", nil},
		{"ka.req.service.type", nil},
		{"ka.resp.name", v("web-7d4b9")},
		{"ka.response.code", v("201")},
		{"ka.response.reason", nil},
		{"ka.useragent", v("kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46")},
		{"ka.sourceips", v("203.0.113.24", "10.0.0.5")},
		{"ka.sourceips[1]", v("10.0.0.5")},
		{"ka.sourceips[2]", nil},
		{"ka.cluster.name", nil},
		{"jevt.value[/stage]", v("ResponseComplete")},
		{"jevt.value[stage]", v("ResponseComplete")},
		{"jevt.value[/requestObject/spec/containers/1/image]", v("docker.io/library/busybox@sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7")},
		{"jevt.value[/requestObject/spec/hostNetwork]", v("true")},
		{"jevt.value[/responseStatus/code]", v("201")},
		{"jevt.value[/requestObject/metadata/creationTimestamp]", v("null")},
		{"jevt.value[/requestObject/spec/volumes/0]", v(`{"name":"docker-sock","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}}`)},
		{"jevt.value[/requestObject/spec/securityContext/supplementalGroups]", v("[4000,4001]")},
		{"jevt.value[/annotations/authorization.k8s.io~1decision]", v("allow")},
		{"jevt.value[/requestObject/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration]", v(`{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"web-7d4b9","namespace":"shop"},"spec":{"containers":[{"image":"registry.example.com:5000/team/app:1.4.2","name":"app"}],"hostNetwork":true}}` + "\n")},
		{"jevt.value[/requestObject/spec/containers/9]", nil},
		{"jevt.value[/requestObject/spec/containers/x]", nil},
		{"jevt.value[/nope]", nil},
		{"json.value[/verb]", v("create")},
	},
	"secret_get.json": {
		{"ka.auditid", v("9f1c2e47-5b3a-4d8e-a6f0-7c2b9e1d4a83")},
		{"ka.verb", v("get")},
		{"ka.user.name", v("system:serviceaccount:payments:api-server")},
		{"ka.user.groups", v("system:serviceaccounts", "system:serviceaccounts:payments", "system:authenticated")},
		{"ka.target.resource", v("secrets")},
		{"ka.target.name", v("db-credentials")},
		{"ka.target.pod.name", nil},
		{"ka.sourceips", v("10.244.1.17")},
		{"ka.useragent", v("python-requests/2.31.0")},
		{"ka.response.code", v("200")},
		{"ka.auth.reason", v(`RBAC: allowed by RoleBinding "api-server-secrets/payments" of Role "secret-reader" to ServiceAccount "api-server/payments"`)},
		{"ka.req.pod.containers.image", nil},
		{"ka.req.container.image", nil},
		{"ka.req.container.privileged", nil},
		{"ka.req.pod.host_network", nil},
		{"ka.req.pod.containers.eff_run_as_user", nil},
		{"jevt.value[/user/extra/authentication.kubernetes.io~1pod-name/0]", v("api-server-5f7c9d8b6-x2kq7")},
		{"jevt.value[/level]", v("Metadata")},
	},
	"pod_exec.json": {
		{"ka.stage", v("ResponseStarted")},
		{"ka.verb", v("create")},
		{"ka.user.name", v("kubernetes-admin")},
		{"ka.impuser.name", v("jane")},
		{"ka.target.subresource", v("exec")},
		{"ka.target.name", v("web-0")},
		{"ka.target.pod.name", v("web-0")},
		{"ka.response.code", v("101")},
		// The first value, URL-decoded.
		{"ka.uri.param[command]", v("sh")},
		{"ka.uri.param[container]", v("nginx")},
		{"ka.uri.param[tty]", v("true")},
		{"ka.uri.param[stderr]", nil},
		{"jevt.value[/objectRef/subresource]", v("exec")},
	},
	"crb_create.json": {
		{"ka.target.resource", v("clusterrolebindings")},
		{"ka.target.namespace", nil},
		{"ka.req.binding.subjects", v(
			`{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"ci-bot"}`,
			`{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"ci:deployers"}`,
			`{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}`,
			`{"kind":"ServiceAccount","name":"default","namespace":"kube-system"}`)},
		{"ka.req.binding.subjects.user_names", v("ci-bot")},
		{"ka.req.binding.subjects.serviceaccount_names", v("deployer", "default")},
		{"ka.req.binding.subjects.serviceaccount_ns_names", v("ci:deployer", "kube-system:default")},
		{"ka.req.binding.subjects.group_names", v("ci:deployers")},
		{"ka.req.binding.role", v("cluster-admin")},
		{"ka.resp.name", v("ci-deployer-admin")},
		{"ka.uri.param[fieldManager]", v("kubectl-create")},
	},
	"configmap_create.json": {
		{"ka.req.configmap.name", v("billing-settings")},
		{"ka.req.configmap.obj", v(`{"aws_access_key_id":"AKIAIOSFODNN7EXAMPLE","config.yaml":"endpoint: https://billing.internal\nretries: 3\n"}`)},
		{"ka.validations.admission.policy.failure", v(`[{"message":"ConfigMaps must not hold AWS keys","policy":"no-cloud-keys","binding":"no-cloud-keys-audit","expressionIndex":0,"validationActions":["Audit"]}]`)},
		{"ka.cluster.name", v("gke-prod-eu-1")},
		{"ka.user.name", v("system:serviceaccount:argocd:argocd-application-controller")},
		{"ka.req.binding.subjects.user_names", nil},
		{"jevt.value[/requestObject/data/config.yaml]", v("endpoint: https://billing.internal\nretries: 3\n")},
	},
	"role_create.json": {
		{"ka.req.role.rules", v(
			`{"verbs":["get","list","watch"],"apiGroups":[""],"resources":["pods","pods/log"]}`,
			`{"verbs":["create"],"apiGroups":[""],"resources":["pods/exec","pods/attach"]}`,
			`{"verbs":["*"],"apiGroups":["apps"],"resources":["*"]}`,
			`{"verbs":["get"],"nonResourceURLs":["/metrics","/healthz"]}`)},
		{"ka.req.role.rules.apiGroups", v("", "", "apps")},
		{"ka.req.role.rules.verbs", v("get", "list", "watch", "create", "*", "get")},
		{"ka.req.role.rules.verbs[2]", v("*")},
		{"ka.req.role.rules.resources", v("pods", "pods/log", "pods/exec", "pods/attach", "*")},
		{"ka.req.role.rules.resources[3]", nil},
		{"ka.req.role.rules.nonResourceURLs", v("/metrics", "/healthz")},
		{"ka.auth.reason", v("")},
		{"ka.target.pod.name", nil},
	},
	"service_create.json": {
		{"ka.req.service.type", v("NodePort")},
		// One value, the whole array, as the plugin renders it.
		{"ka.req.service.ports", v(`[{"name":"http","protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080}]`)},
		{"ka.req.service.ports[0]", v(`[{"name":"http","protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080}]`)},
		{"ka.req.pod.volumes.hostpath", nil},
		{"ka.req.volume.hostpath[/]", nil},
	},
	"v1beta1_delete.json": {
		{"ka.auditid", v("b8e1d7b3-4ca3-4bfc-9d1c-5e3f0a1b2c3d")},
		{"ka.verb", v("delete")},
		{"ka.user.name", v("system:anonymous")},
		{"ka.auth.decision", v("forbid")},
		{"ka.response.code", v("403")},
		{"ka.response.reason", v("Forbidden")},
		{"ka.target.name", v("kube-proxy")},
		{"jevt.value[/apiVersion]", v("audit.k8s.io/v1beta1")},
		{"jevt.value[/timestamp]", v("2019-08-22T09:33:04Z")},
	},
	"openshift_login.json": {
		{"ka.auth.openshift.decision", v("deny")},
		{"ka.auth.openshift.username", v("mallory")},
		{"ka.verb", v("post")},
		{"ka.uri", v("/login")},
		{"ka.target.name", nil},
		{"ka.target.resource", nil},
		{"ka.response.code", v("302")},
	},
	"ephemeral_debug.json": {
		{"ka.target.subresource", v("ephemeralcontainers")},
		{"ka.target.pod.name", v("web-7d4b9")},
		{"ka.req.pod.ephemeralContainers.name", v("debugger-x7k2p")},
		{"ka.req.pod.ephemeralContainers.name[0]", v("debugger-x7k2p")},
		{"ka.req.pod.ephemeralContainers.image", v("docker.io/nicolaka/netshoot:v0.13")},
		{"ka.req.pod.ephemeralContainers.image.repository", v("docker.io/nicolaka/netshoot")},
		{"ka.req.pod.ephemeralContainers.command", v(`["bash"]`)},
		{"ka.req.pod.ephemeralContainers.args", nil},
		{"ka.req.pod.ephemeralContainers.privileged", v("true")},
		{"ka.req.pod.ephemeralContainers.allow_privilege_escalation", nil},
		{"ka.req.pod.ephemeralContainers.read_only_fs", nil},
		{"ka.req.pod.ephemeralContainers.run_as_user", v("0")},
		{"ka.req.pod.ephemeralContainers.eff_run_as_user", v("0")},
		{"ka.req.pod.ephemeralContainers.run_as_group", nil},
		// Neither the container nor the pod sets it.
		{"ka.req.pod.ephemeralContainers.eff_run_as_group", v("0")},
		{"ka.req.pod.ephemeralContainers.proc_mount", nil},
		{"ka.req.pod.ephemeralContainers.add_capabilities", v(`["SYS_PTRACE","NET_RAW"]`)},
		{"ka.req.pod.ephemeralContainers.host_port", nil},
		{"ka.req.pod.containers.privileged", nil},
		{"ka.req.container.privileged", nil},
		{"jevt.value[/requestObject/spec/ephemeralContainers/0/targetContainerName]", v("app")},
	},
}

func TestFieldValues(t *testing.T) {
	for fixture, cases := range fieldTests {
		ev := loadFixture(t, fixture)
		for _, c := range cases {
			t.Run(fixture+"/"+c.field, func(t *testing.T) {
				name, arg, hasArg := c.split()
				require.Equal(t, c.want, extract(t, ev, name, arg, hasArg))
			})
		}
	}
}

func TestTimeFields(t *testing.T) {
	for fixture, ts := range map[string]string{
		"pod_create.json":     "2025-11-20T11:19:19.848860Z",
		"v1beta1_delete.json": "2019-08-22T09:33:04.451203Z",
	} {
		ev := loadFixture(t, fixture)
		for _, c := range timeFields(ts, 0) {
			t.Run(fixture+"/"+c.field, func(t *testing.T) {
				require.Equal(t, c.want, extract(t, ev, c.field, "", false))
			})
		}
	}
}

func TestObjectFields(t *testing.T) {
	data, err := os.ReadFile("testdata/crb_create.json")
	require.NoError(t, err)
	ev := loadFixture(t, "crb_create.json")
	var want bytes.Buffer
	require.NoError(t, json.Indent(&want, []byte(compactOf(string(data))), "", "  "))
	for _, name := range []string{"jevt.obj", "json.obj"} {
		require.Equal(t, []string{want.String()}, extract(t, ev, name, "", false), name)
	}
	require.Equal(t, compactOf(string(data)), string(ev.Raw()))
}

// TestEveryFieldTested fails when a field of the registry has no value test.
func TestEveryFieldTested(t *testing.T) {
	tested := map[string]bool{}
	for _, cases := range fieldTests {
		for _, c := range cases {
			name, _, _ := c.split()
			tested[name] = true
		}
	}
	for _, c := range timeFields("2025-01-01T00:00:00Z", 0) {
		tested[c.field] = true
	}
	tested["jevt.obj"], tested["json.obj"] = true, true // TestObjectFields
	for _, f := range NewSource().Fields() {
		require.True(t, tested[f.Name], "field %s has no value test", f.Name)
	}
}

func TestRegistry(t *testing.T) {
	src := NewSource()
	require.Equal(t, "k8s_audit", src.Name())
	require.Nil(t, src.EventTypes())
	require.Empty(t, src.TypeField())
	seen := map[string]bool{}
	for _, f := range src.Fields() {
		require.False(t, seen[f.Name], "duplicate field %s", f.Name)
		seen[f.Name] = true
		require.NotEmpty(t, f.Desc, f.Name)
		require.NotZero(t, f.Type, f.Name)
		if strings.HasPrefix(f.Name, "ka.") || strings.HasPrefix(f.Name, "json.") || strings.HasPrefix(f.Name, "jevt.") {
			require.Equal(t, event.TypeString, f.Type, "%s: the plugins' fields are strings", f.Name)
		}
		if f.Arg == event.ArgIndex {
			require.True(t, f.List, "%s: indexed fields are lists", f.Name)
		}
	}
	// Falco's k8saudit plugin fields, checked by name.
	for _, name := range []string{
		"ka.auditid", "ka.stage", "ka.auth.decision", "ka.auth.reason", "ka.user.name", "ka.user.groups",
		"ka.impuser.name", "ka.verb", "ka.uri", "ka.uri.param", "ka.target.name", "ka.target.namespace",
		"ka.target.resource", "ka.target.subresource", "ka.target.pod.name", "ka.req.binding.subjects",
		"ka.req.binding.role", "ka.req.binding.subject.has_name", "ka.req.container.image",
		"ka.req.container.image.repository", "ka.req.pod.containers.image", "ka.req.pod.containers.image.repository",
		"ka.req.pod.containers.privileged", "ka.req.pod.host_network", "ka.req.pod.host_pid", "ka.req.pod.host_ipc",
		"ka.req.pod.initContainers.privileged", "ka.req.pod.ephemeralContainers.image", "ka.req.role.rules",
		"ka.req.role.rules.apiGroups", "ka.req.role.rules.nonResourceURLs", "ka.req.role.rules.verbs",
		"ka.req.role.rules.resources", "ka.req.pod.run_as_user", "ka.req.pod.containers.eff_run_as_group",
		"ka.req.pod.containers.read_only_fs", "ka.req.pod.containers.allow_privilege_escalation",
		"ka.req.pod.containers.add_capabilities", "ka.req.pod.containers.host_port", "ka.req.pod.containers.proc_mount",
		"ka.req.pod.fs_group", "ka.req.pod.supplemental_groups", "ka.req.pod.volumes.hostpath",
		"ka.req.pod.volumes.flexvolume_driver", "ka.req.pod.volumes.volume_type", "ka.req.volume.hostpath",
		"ka.req.service.type", "ka.req.service.ports", "ka.req.configmap.name", "ka.req.configmap.obj",
		"ka.resp.name", "ka.response.code", "ka.response.reason", "ka.useragent", "ka.sourceips", "ka.cluster.name",
		"json.value", "json.obj", "json.rawtime", "jevt.value", "jevt.obj", "jevt.rawtime", "jevt.time", "jevt.time.iso8601",
	} {
		require.True(t, seen[name], "missing field %s", name)
	}
}

func TestExtractorErrors(t *testing.T) {
	tests := []struct {
		name, arg string
		hasArg    bool
		sentinel  error
		msg       string
	}{
		{"ka.nope", "", false, event.ErrUnknownField, `unknown field "ka.nope" in source k8s_audit`},
		{"evt.type", "", false, event.ErrUnknownField, "unknown field"},
		{"ka.uri.param", "", false, ErrFieldArg, "requires an argument, as in ka.uri.param[KEY]"},
		{"jevt.value", "", false, ErrFieldArg, "as in jevt.value[/json/pointer]"},
		{"ka.uri.param", "", true, ErrFieldArg, "empty argument"},
		{"ka.verb", "x", true, ErrFieldArg, "takes no argument, got [x]"},
		{"ka.req.pod.containers.image", "x", true, ErrFieldArg, `argument "x" is not a non-negative integer`},
		{"ka.req.pod.containers.image", "-1", true, ErrFieldArg, "not a non-negative integer"},
		{"ka.sourceips", "99999999999", true, ErrFieldArg, "not a non-negative integer"},
		{"jevt.value", "/a~2b", true, ErrFieldArg, "'~' must be followed by 0 or 1"},
		{"json.value", "/a~", true, ErrFieldArg, "'~' must be followed by 0 or 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"["+tt.arg+"]", func(t *testing.T) {
			x, err := NewSource().Extractor(tt.name, tt.arg, tt.hasArg)
			require.Nil(t, x)
			require.ErrorIs(t, err, tt.sentinel)
			require.ErrorContains(t, err, tt.msg)
		})
	}
}

// TestExtractNothingFromOtherEvents checks that extractors yield nothing
// from empty events and from events of other sources.
func TestExtractNothingFromOtherEvents(t *testing.T) {
	type otherEvent struct{ event.Event }
	for _, ev := range []event.Event{new(Event), otherEvent{}} {
		for _, x := range allExtractors(t) {
			require.Empty(t, x.Extract(ev, nil))
		}
	}
}

// TestAuditIDRequired checks that ka.* fields yield nothing for an event
// without auditID, as in Falco's plugin, while jevt.* fields still work.
func TestAuditIDRequired(t *testing.T) {
	ev := new(Event)
	require.NoError(t, ev.Decode([]byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get","stageTimestamp":"2025-01-02T03:04:05Z"}`)))
	require.Nil(t, extract(t, ev, "ka.verb", "", false))
	require.Nil(t, extract(t, ev, "ka.req.binding.subject.has_name", "x", true))
	require.Equal(t, []string{"get"}, extract(t, ev, "jevt.value", "/verb", true))
}

func TestURIParam(t *testing.T) {
	tests := []struct {
		uri, key string
		want     []string
	}{
		{"/api?q=a%20b+c&x=1", "q", v("a b c")},
		{"/api?%6Bey=v&key=w", "key", v("v")},
		{"/api?a+b=1", "a b", v("1")},
		{"/api?a=1&a=2", "a", v("1")},
		{"/api?a", "a", v("")},
		{"/api?a=", "a", v("")},
		{"/api?=x&b=2", "b", v("2")},
		{"/api?a=1#b=2", "b", nil},
		{"/api?a=1&&b=2", "b", v("2")},
		{"/api", "a", nil},
		{"/api?a=1;b=2", "a", nil},        // url.ParseQuery rejects ';'
		{"/api?b=1&a=%zz", "b", nil},      // a bad escape fails the whole query
		{"/a%zz/b?a=1", "a", nil},         // a bad escape in the path fails url.Parse
		{"/api?a=%e2%9c%93", "a", v("✓")}, // UTF-8 escapes
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			uri, _ := json.Marshal(tt.uri)
			ev := new(Event)
			require.NoError(t, ev.Decode(fmt.Appendf(nil, `{"auditID":"a","stage":"ResponseComplete","requestURI":%s,"stageTimestamp":"2025-01-02T03:04:05Z"}`, uri)))
			require.Equal(t, tt.want, extract(t, ev, "ka.uri.param", tt.key, true))
		})
	}
}

// TestPluginQuirks pins value semantics inherited from Falco's plugin.
func TestPluginQuirks(t *testing.T) {
	decode := func(t *testing.T, spec string) *Event {
		ev := new(Event)
		require.NoError(t, ev.Decode([]byte(`{"auditID":"a","stage":"ResponseComplete","stageTimestamp":"2025-01-02T03:04:05Z","requestObject":{"spec":`+spec+`}}`)))
		return ev
	}
	t.Run("images of a container without image yield nothing", func(t *testing.T) {
		ev := decode(t, `{"containers":[{"image":"a:1"},{"name":"b"}]}`)
		require.Nil(t, extract(t, ev, "ka.req.pod.containers.image", "", false))
		require.Nil(t, extract(t, ev, "ka.req.pod.containers.image.repository", "", false))
		require.Equal(t, v("a:1"), extract(t, ev, "ka.req.pod.containers.image", "0", true))
	})
	t.Run("explicit null is rendered", func(t *testing.T) {
		ev := decode(t, `{"hostNetwork":null,"containers":[{"securityContext":{"privileged":null}}]}`)
		require.Equal(t, v("null"), extract(t, ev, "ka.req.pod.host_network", "", false))
		require.Equal(t, v("null"), extract(t, ev, "ka.req.pod.containers.privileged", "", false))
		require.Equal(t, v("false"), extract(t, ev, "ka.req.container.privileged", "", false))
	})
	t.Run("list fields need arrays", func(t *testing.T) {
		ev := decode(t, `{"securityContext":{"supplementalGroups":5},"containers":[{"ports":{"a":1}}]}`)
		require.Nil(t, extract(t, ev, "ka.req.pod.supplemental_groups", "", false))
		require.Nil(t, extract(t, ev, "ka.req.pod.containers.host_port", "", false))
	})
	t.Run("escaped member names", func(t *testing.T) {
		ev := decode(t, `{"ho\u0073tNetwork":true,"containers":[{"na\u006de":"x\ty"}]}`)
		require.Equal(t, v("true"), extract(t, ev, "ka.req.pod.host_network", "", false))
		require.Equal(t, v("x\ty"), extract(t, ev, "ka.req.pod.containers.name", "", false))
	})
	t.Run("first of duplicate members", func(t *testing.T) {
		ev := decode(t, `{"type":"ClusterIP","type":"NodePort"}`)
		require.Equal(t, v("ClusterIP"), extract(t, ev, "ka.req.service.type", "", false))
		require.Equal(t, v("ClusterIP"), extract(t, ev, "jevt.value", "/requestObject/spec/type", true))
	})
	t.Run("the pod's security context applies to containers without one", func(t *testing.T) {
		ev := decode(t, `{"securityContext":{"runAsUser":7,"runAsGroup":8},"containers":[{},{"securityContext":{"runAsUser":9}},{}]}`)
		require.Equal(t, v("7", "9", "7"), extract(t, ev, "ka.req.pod.containers.eff_run_as_user", "", false))
		require.Equal(t, v("8", "8", "8"), extract(t, ev, "ka.req.pod.containers.eff_run_as_group", "", false))
		require.Equal(t, v("9"), extract(t, ev, "ka.req.pod.containers.eff_run_as_user", "1", true))
		require.Nil(t, extract(t, ev, "ka.req.pod.containers.eff_run_as_user", "3", true))
	})
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{``, "no JSON value"},
		{`[1]`, "not a JSON object"},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`, "kind is EventList, not Event"},
		{`{"kind":"Event","apiVersion":"v1","involvedObject":{}}`, "apiVersion is v1, not audit.k8s.io/v1"},
		{`{"kind":"Pod","apiVersion":"v1"}`, "kind is Pod"},
		{`{"stage":"ResponseComplete","stageTimestamp":"2025-01-02T03:04:05Z"}`, "no auditID"},
		{`{"auditID":"a","stageTimestamp":"2025-01-02T03:04:05Z"}`, "no stage"},
		{`{"auditID":"a","stage":"ResponseComplete"}`, "no valid stageTimestamp or requestReceivedTimestamp"},
		{`{"auditID":"a","stage":"ResponseComplete","stageTimestamp":"yesterday"}`, "no valid stageTimestamp"},
		{`{"auditID":"a",`, "unexpected end of input"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ev := new(Event)
			err := ev.Decode([]byte(tt.in))
			require.ErrorIs(t, err, ErrNotAuditEvent)
			require.ErrorContains(t, err, tt.msg)
			require.Empty(t, extract(t, ev, "jevt.value", "/auditID", true), "a failed decode leaves the event empty")
		})
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		stage, received string
		want            string // RFC 3339, or "" for an error
	}{
		{`"2025-11-20T11:19:19.848860Z"`, `"2025-11-20T11:19:19.822973Z"`, "2025-11-20T11:19:19.848860Z"},
		{``, `"2025-11-20T11:19:19.822973Z"`, "2025-11-20T11:19:19.822973Z"},
		{`"bad"`, `"2025-11-20T11:19:19.822973Z"`, "2025-11-20T11:19:19.822973Z"},
		{`42`, `"2025-11-20T11:19:19.822973Z"`, "2025-11-20T11:19:19.822973Z"},
		{`"2025-11-20T12:19:19.5+01:00"`, ``, "2025-11-20T11:19:19.5Z"},
		{`""`, `""`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.stage+"/"+tt.received, func(t *testing.T) {
			doc := `{"auditID":"a","stage":"ResponseComplete"`
			if tt.stage != "" {
				doc += `,"stageTimestamp":` + tt.stage
			}
			if tt.received != "" {
				doc += `,"requestReceivedTimestamp":` + tt.received
			}
			ev := new(Event)
			err := ev.Decode([]byte(doc + "}"))
			if tt.want == "" {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			want, err := time.Parse(time.RFC3339Nano, tt.want)
			require.NoError(t, err)
			require.Equal(t, want.UnixNano(), ev.Timestamp())
			require.Equal(t, "k8s_audit", ev.Source())
			require.Zero(t, ev.TypeCode())
		})
	}
}

func TestParseRFC3339(t *testing.T) {
	good := []string{
		"2025-11-20T11:19:19Z", "2025-11-20T11:19:19.8Z", "2025-11-20T11:19:19.123456789Z",
		"2025-11-20T11:19:19.1234567891Z", "2024-02-29T23:59:59+14:00", "1970-01-01T00:00:00-00:30",
		"1969-12-31T23:59:59.999999999Z", "1677-09-22T00:00:00Z", "2262-04-11T00:00:00Z", "2025-11-20t11:19:19z",
	}
	for _, s := range good {
		got, ok := parseRFC3339(s)
		require.True(t, ok, s)
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		require.NoError(t, err)
		require.Equal(t, want.UnixNano(), got, s)
	}
	bad := []string{
		"", "2025-11-20", "2025-11-20T11:19:19", "2025-13-20T11:19:19Z", "2025-02-29T11:19:19Z",
		"2025-11-20T24:00:00Z", "2025-11-20T11:19:19.Z", "2025-11-20T11:19:19+1:00", "2025-11-20T11:19:19Zx",
		"2025-11-20 11:19:19Z", "1000-01-01T00:00:00Z", "9999-01-01T00:00:00Z", "2025-11-20T11:19:60Z",
	}
	for _, s := range bad {
		_, ok := parseRFC3339(s)
		require.False(t, ok, s)
	}
}

// FuzzRFC3339 checks parseRFC3339 against the time package.
func FuzzRFC3339(f *testing.F) {
	for _, s := range []string{"2025-11-20T11:19:19.848860Z", "2024-02-29T23:59:59+14:00", "1969-12-31T23:59:59.5-01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseRFC3339(s)
		if !ok {
			return
		}
		// RFC 3339 allows a lowercase t and z, time.Parse does not.
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			t.Fatalf("parseRFC3339(%q) = %d, time.Parse: %v", s, got, err)
		}
		if want.UnixNano() != got {
			t.Fatalf("parseRFC3339(%q) = %d, want %d", s, got, want.UnixNano())
		}
		var b []byte
		b = appendTime(b, got, layoutISO)
		if w := want.UTC().Format("2006-01-02T15:04:05.000000000-0700"); string(b) != w {
			t.Fatalf("appendTime(%d) = %s, want %s", got, b, w)
		}
	})
}

func TestExtractDoesNotAllocate(t *testing.T) {
	xs := allExtractors(t)
	dst := make([]event.Value, 0, 64)
	for _, fixture := range []string{"pod_create.json", "crb_create.json", "pod_exec.json", "role_create.json"} {
		data := compactFixture(t, fixture)
		var ev Event
		cycle := func() {
			if err := ev.Decode(data); err != nil {
				t.Fatal(err)
			}
			for _, x := range xs {
				dst = x.Extract(&ev, dst[:0])
			}
		}
		cycle() // grow the buffers
		require.Zero(t, testing.AllocsPerRun(50, cycle), "%s: decode and extraction must not allocate", fixture)
	}
}

func TestSentinels(t *testing.T) {
	require.True(t, errors.Is(&DecodeError{}, ErrNotAuditEvent))
}
