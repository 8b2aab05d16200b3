package k8saudit

import (
	"strings"

	"github.com/vigilsec/vigil/internal/event"
)

// The field registry: every field of Falco's k8saudit plugin (v0.18), of its
// json plugin and the jevt.* fields of Falco's former built-in k8s audit
// support, plus Falco's generic evt.* time fields of plugin events. All ka.*
// and json.* fields are strings, as in the plugins: booleans are "true" and
// "false", numbers their JSON text, and objects and arrays their compact
// JSON text.

const (
	tStr = event.TypeString
	tAbs = event.TypeAbsTime
	tUin = event.TypeUint
)

// Descriptions of the per-container-list fields, {list} being the list and {field} the field prefix.
var containerFieldDescs = []struct {
	suffix, desc string
}{
	{"name", "When the request object refers to a pod, the names of its {list}."},
	{"image", "When the request object refers to a pod, the images of its {list}. Yields nothing when one of them has no image."},
	{"image.repository", "The same as {field}.image, but only the repository part (e.g. falcosecurity/falco): the image up to its first ':' then its first '@'."},
	{"command", "When the request object refers to a pod, the command of each of its {list}, as a JSON array (e.g. [\"sh\",\"-c\"]); containers without a command yield nothing."},
	{"args", "When the request object refers to a pod, the args of each of its {list}, as a JSON array; containers without args yield nothing."},
	{"privileged", "When the request object refers to a pod, the value of the privileged flag of each of its {list} (\"true\" or \"false\"); containers that do not set it yield nothing."},
	{"allow_privilege_escalation", "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag of each of its {list}; containers that do not set it yield nothing."},
	{"read_only_fs", "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag of each of its {list}; containers that do not set it yield nothing."},
	{"run_as_user", "When the request object refers to a pod, the runAsUser uid of each of its {list}; containers that do not set it yield nothing."},
	{"eff_run_as_user", "When the request object refers to a pod, the initial uid of each of its {list}: the container's runAsUser, else the pod's, else 0."},
	{"run_as_group", "When the request object refers to a pod, the runAsGroup gid of each of its {list}; containers that do not set it yield nothing."},
	{"eff_run_as_group", "When the request object refers to a pod, the initial gid of each of its {list}: the container's runAsGroup, else the pod's, else 0."},
	{"proc_mount", "When the request object refers to a pod, the procMount type of each of its {list}; containers that do not set it yield nothing."},
	{"add_capabilities", "When the request object refers to a pod, the capabilities added to each of its {list}, as a JSON array (e.g. [\"NET_ADMIN\"]), as Falco's plugin renders them; containers that add none yield nothing."},
	{"host_port", "When the request object refers to a pod, the hostPort of every port of its {list} (the containerPort when hostPort is unset)."},
}

// containerLists are the pod's container lists: field infix, spec member,
// human name.
var containerLists = []struct{ infix, member, human string }{
	{"containers", "containers", "containers"},
	{"initContainers", "initContainers", "init containers"},
	{"ephemeralContainers", "ephemeralContainers", "ephemeral containers"},
}

// fieldTable is the registry, in the order `vigil fields` lists it.
var fieldTable = buildFieldTable()

func buildFieldTable() []event.Field {
	idx := func(name, desc string) event.Field {
		return event.Field{Name: name, Type: tStr, List: true, Arg: event.ArgIndex, Desc: desc}
	}
	str := func(name, desc string) event.Field { return event.Field{Name: name, Type: tStr, Desc: desc} }
	list := func(name, desc string) event.Field {
		return event.Field{Name: name, Type: tStr, List: true, Desc: desc}
	}
	dep := func(f event.Field) event.Field { f.Deprecated = true; return f }

	t := []event.Field{
		str("ka.auditid", "The unique id of the audit event."),
		str("ka.stage", "Stage of the request (e.g. RequestReceived, ResponseComplete, etc.)."),
		str("ka.auth.decision", "The authorization decision (annotation authorization.k8s.io/decision)."),
		str("ka.auth.reason", "The authorization reason (annotation authorization.k8s.io/reason)."),
		str("ka.auth.openshift.decision", "The authentication decision of the OpenShift apiserver extension (annotation authentication.openshift.io/decision). Only available on OpenShift clusters."),
		str("ka.auth.openshift.username", "The user name performing the OpenShift authentication operation (annotation authentication.openshift.io/username). Only available on OpenShift clusters."),
		str("ka.validations.admission.policy.failure", "The validation failure reason from a ValidatingAdmissionPolicy (annotation validation.policy.admission.k8s.io/validation_failure)."),
		str("ka.security.pod.violations", "The violation reason for pod security admission (annotation pod-security.kubernetes.io/audit-violations)."),
		str("ka.user.name", "The user name performing the request."),
		list("ka.user.groups", "The groups to which the user belongs."),
		str("ka.impuser.name", "The impersonated user name."),
		str("ka.verb", "The action being performed."),
		str("ka.uri", "The request URI as sent from client to server."),
		{Name: "ka.uri.param", Type: tStr, Arg: event.ArgKey, ArgRequired: true, Desc: "The value of a given query parameter in the uri (e.g. when uri=/foo?key=val, ka.uri.param[key] is val): the first value, URL-decoded. Yields nothing when the query is malformed."},
		str("ka.target.name", "The target object name."),
		str("ka.target.namespace", "The target object namespace."),
		str("ka.target.resource", "The target object resource."),
		str("ka.target.subresource", "The target object subresource."),
		str("ka.target.pod.name", "The target pod name: the target object name when the target resource is pods (pods and their subresources such as exec)."),
		list("ka.req.binding.subjects", "When the request object refers to a cluster role binding, the subject (e.g. account/users) being linked by the binding, each as a JSON object."),
		list("ka.req.binding.subjects.user_names", "When the request object refers to a cluster role binding, the subject user names being linked by the binding."),
		list("ka.req.binding.subjects.serviceaccount_names", "When the request object refers to a cluster role binding, the subject service account names being linked by the binding."),
		list("ka.req.binding.subjects.serviceaccount_ns_names", "When the request object refers to a cluster role binding, the subject service account namespaced names being linked by the binding, e.g. mynamespace:myserviceaccount."),
		list("ka.req.binding.subjects.group_names", "When the request object refers to a cluster role binding, the subject group names being linked by the binding."),
		str("ka.req.binding.role", "When the request object refers to a cluster role binding, the role being linked by the binding."),
		dep(event.Field{Name: "ka.req.binding.subject.has_name", Type: tStr, Arg: event.ArgKey, ArgRequired: true, Desc: "Deprecated, always returns \"true\" as Falco's plugin does. Only provided for backwards compatibility."}),
		str("ka.req.configmap.name", "If the request object refers to a configmap, the configmap name."),
		str("ka.req.configmap.obj", "If the request object refers to a configmap, the entire configmap data, as a JSON object."),
	}
	for _, cl := range containerLists {
		for _, cf := range containerFieldDescs {
			name := "ka.req.pod." + cl.infix + "." + cf.suffix
			desc := strings.ReplaceAll(cf.desc, "{list}", cl.human)
			desc = strings.ReplaceAll(desc, "{field}", "ka.req.pod."+cl.infix)
			t = append(t, idx(name, desc))
		}
		if cl.infix == "containers" {
			t = append(t,
				dep(str("ka.req.container.image", "Deprecated by ka.req.pod.containers.image. Returns the image of the first container only.")),
				dep(str("ka.req.container.image.repository", "Deprecated by ka.req.pod.containers.image.repository. Returns the repository of the first container only.")),
				dep(str("ka.req.container.privileged", "Deprecated by ka.req.pod.containers.privileged. Returns true if any container has privileged=true, false otherwise.")),
			)
		}
	}
	t = append(t,
		str("ka.req.pod.host_ipc", "When the request object refers to a pod, the value of the hostIPC flag."),
		str("ka.req.pod.host_network", "When the request object refers to a pod, the value of the hostNetwork flag."),
		dep(str("ka.req.container.host_network", "Deprecated alias for ka.req.pod.host_network.")),
		str("ka.req.pod.host_pid", "When the request object refers to a pod, the value of the hostPID flag."),
		str("ka.req.pod.run_as_user", "When the request object refers to a pod, the runAsUser uid specified in the security context for the pod. See ....containers.run_as_user for the runAsUser for individual containers."),
		str("ka.req.pod.run_as_group", "When the request object refers to a pod, the runAsGroup gid specified in the security context for the pod. See ....containers.run_as_group for the runAsGroup for individual containers."),
		str("ka.req.pod.fs_group", "When the request object refers to a pod, the fsGroup gid specified by the security context."),
		list("ka.req.pod.supplemental_groups", "When the request object refers to a pod, the supplementalGroup gids specified by the security context."),
		list("ka.req.role.rules", "When the request object refers to a role/cluster role, the rules associated with the role, each as a JSON object."),
		idx("ka.req.role.rules.apiGroups", "When the request object refers to a role/cluster role, the api groups associated with the role's rules. The index selects a rule."),
		idx("ka.req.role.rules.nonResourceURLs", "When the request object refers to a role/cluster role, the non resource urls associated with the role's rules. The index selects a rule."),
		idx("ka.req.role.rules.verbs", "When the request object refers to a role/cluster role, the verbs associated with the role's rules. The index selects a rule."),
		idx("ka.req.role.rules.resources", "When the request object refers to a role/cluster role, the resources associated with the role's rules. The index selects a rule."),
		str("ka.req.service.type", "When the request object refers to a service, the service type."),
		idx("ka.req.service.ports", "When the request object refers to a service, the service's ports, as one JSON array (as Falco's plugin renders them; the index has no effect)."),
		idx("ka.req.pod.volumes.hostpath", "When the request object refers to a pod, all hostPath paths specified for all volumes."),
		dep(event.Field{Name: "ka.req.volume.hostpath", Type: tStr, Arg: event.ArgKey, ArgRequired: true, Desc: "Deprecated by ka.req.pod.volumes.hostpath. \"true\" if the provided (host) path is used by any volume, \"false\" otherwise; an argument ending with * matches a path prefix."}),
		idx("ka.req.pod.volumes.flexvolume_driver", "When the request object refers to a pod, all flexvolume drivers specified for all volumes."),
		idx("ka.req.pod.volumes.volume_type", "When the request object refers to a pod, all volume types for all volumes (every member name of a volume but name)."),
		str("ka.resp.name", "The response object name."),
		str("ka.response.code", "The response code."),
		str("ka.response.reason", "The response reason (usually present only for failures)."),
		str("ka.useragent", "The useragent of the client who made the request to the apiserver."),
		idx("ka.sourceips", "The IP addresses of the client who made the request to the apiserver."),
		str("ka.cluster.name", "The name of the k8s cluster (annotation cluster_name, as set by managed clusters such as GKE)."),

		event.Field{Name: "json.value", Type: tStr, Arg: event.ArgKey, ArgRequired: true, Desc: "Extracts a value from the JSON event. Syntax is json.value[<json pointer>], where <json pointer> is a json pointer (see https://datatracker.ietf.org/doc/html/rfc6901). Strings yield their content, other values their compact JSON text."},
		str("json.obj", "The full json message as a text string, indented by two spaces."),
		str("json.rawtime", "The time of the event, identical to evt.rawtime, as a decimal string."),
		event.Field{Name: "jevt.value", Type: tStr, Arg: event.ArgKey, ArgRequired: true, Desc: "Alias for json.value, provided for backwards compatibility."},
		str("jevt.obj", "Alias for json.obj, provided for backwards compatibility."),
		str("jevt.rawtime", "Alias for json.rawtime, provided for backwards compatibility."),
		dep(str("jevt.time", "Json event timestamp as a string that includes the nanosecond part (UTC), from Falco's former k8s audit support.")),
		dep(str("jevt.time.iso8601", "Json event timestamp in ISO 8601 format, including nanoseconds and time zone offset (in UTC), from Falco's former k8s audit support.")),

		event.Field{Name: "evt.num", Type: tUin, Desc: "Event number in its stream, counted from 1."},
		str("evt.time", "Event time as a string with nanoseconds (UTC)."),
		str("evt.time.s", "Event time as a string without nanoseconds (UTC)."),
		str("evt.time.iso8601", "Event time in ISO 8601 format with nanoseconds, in UTC."),
		str("evt.datetime", "Event date and time as a string with nanoseconds (UTC)."),
		str("evt.datetime.s", "Event date and time as a string without nanoseconds (UTC)."),
		event.Field{Name: "evt.rawtime", Type: tAbs, Desc: "Event time in nanoseconds since the epoch."},
		event.Field{Name: "evt.rawtime.s", Type: tAbs, Desc: "Integer seconds part of the event time."},
		event.Field{Name: "evt.rawtime.ns", Type: tAbs, Desc: "Nanoseconds part of the event time."},
		str("evt.source", "Name of the source of the event (\"k8s_audit\")."),
		str("evt.pluginname", "Name of the plugin that generated the event (\"k8saudit\")."),
	)
	return t
}

// fieldIndex maps a field name to its index in fieldTable. Built once at
// init, then read-only.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, len(fieldTable))
	for i, f := range fieldTable {
		m[f.Name] = i
	}
	return m
}()
