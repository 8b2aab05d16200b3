package k8saudit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/internal/event"
)

// ErrFieldArg is wrapped by the errors Source.Extractor returns for a known
// field with a missing, superfluous or malformed argument.
var ErrFieldArg = event.ErrFieldArg

// Source is the k8s_audit event source. Its tables are shared and
// read-only; NewSource returns a ready one.
type Source struct{}

var _ event.Source = (*Source)(nil)

// NewSource returns the k8s_audit source.
func NewSource() *Source { return &Source{} }

// Name returns "k8s_audit".
func (*Source) Name() string { return SourceName }

// Fields returns a copy of the field registry.
func (*Source) Fields() []event.Field { return slices.Clone(fieldTable) }

// EventTypes returns nil: audit events are of a single type.
func (*Source) EventTypes() []string { return nil }

// TypeField returns "": audit events are of a single type.
func (*Source) TypeField() string { return "" }

// Extractor compiles field name with its bracket argument. An unknown name
// gives an error wrapping event.ErrUnknownField; a missing required
// argument, an argument given to a field that takes none, or a malformed
// one (an index that is not a non-negative integer, an empty key, a JSON
// pointer with a bad ~ escape) gives an error wrapping ErrFieldArg.
//
// The extractors returned are safe for concurrent use on distinct events
// and allocate nothing when dst has room for the values.
func (*Source) Extractor(name, arg string, hasArg bool) (event.Extractor, error) {
	i, ok := fieldIndex[name]
	if !ok {
		return nil, fmt.Errorf("%w %q in source %s", event.ErrUnknownField, name, SourceName)
	}
	f := fieldTable[i]
	if err := checkArg(f, arg, hasArg); err != nil {
		return nil, err
	}
	x, err := compile(f, arg, hasArg)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w: %w", f.Name, err, ErrFieldArg)
	}
	return x, nil
}

// checkArg validates the argument of f.
func checkArg(f event.Field, arg string, hasArg bool) error {
	ex := f.Name + "[KEY]"
	if strings.HasSuffix(f.Name, ".value") {
		ex = f.Name + "[/json/pointer]"
	}
	if err := event.CheckArg(f, arg, hasArg, ex); err != nil {
		return err
	}
	// Indexes are converted with strconv.Atoi: keep them in 31 bits.
	if hasArg && f.Arg == event.ArgIndex {
		if _, err := strconv.ParseUint(arg, 10, 31); err != nil {
			return fmt.Errorf("field %s: argument %q is not a non-negative integer: %w", f.Name, arg, ErrFieldArg)
		}
	}
	return nil
}

// extractFn extracts one compiled field from a loaded event.
type extractFn func(x *extractor, e *Event, dst []event.Value) []event.Value

// extractor is a compiled field reference.
type extractor struct {
	fn      extractFn
	auditID bool     // a ka.* field: nothing without an auditID, as in Falco's plugin
	top     int      // well-known member the path starts at; -1: the root
	keys    []string // path below top
	index   int      // the index argument; -1 when none
	arg     string   // the key argument, or a constant value
	layout  int      // time layout or cache slot
	kindArg string   // subject kind, for the binding subject fields
}

// Extract appends the field's values for ev to dst. ev must be a *Event;
// other events yield nothing.
func (x *extractor) Extract(ev event.Event, dst []event.Value) []event.Value {
	e, ok := ev.(*Event)
	if !ok || e == nil || !e.valid {
		return dst
	}
	if x.auditID && e.top[topAuditID] < 0 {
		return dst
	}
	return x.fn(x, e, dst)
}

// atRoot is extractor.top for paths that start at the root object.
const atRoot = -1

// compile builds the extractor of field f.
func compile(f event.Field, arg string, hasArg bool) (*extractor, error) {
	x := &extractor{auditID: strings.HasPrefix(f.Name, "ka."), top: atRoot, index: -1, arg: arg}
	if hasArg && f.Arg == event.ArgIndex {
		n, _ := strconv.Atoi(arg) // checked by checkArg
		x.index = n
	}
	path := func(top int, keys ...string) *extractor {
		x.top, x.keys = top, keys
		if f.List {
			x.fn = fnList
		} else {
			x.fn = fnStr
		}
		return x
	}
	walk := func(fn extractFn, top int, keys ...string) *extractor {
		x.fn, x.top, x.keys = fn, top, keys
		return x
	}
	annotation := func(key string) *extractor { return path(topAnnotations, key) }

	if rest, ok := strings.CutPrefix(f.Name, "ka.req.pod."); ok {
		for _, cl := range containerLists {
			sub, ok := strings.CutPrefix(rest, cl.infix+".")
			if !ok {
				continue
			}
			return compileContainerField(x, cl.member, sub)
		}
	}

	switch f.Name {
	case "ka.auditid":
		return path(topAuditID), nil
	case "ka.stage":
		return path(topStage), nil
	case "ka.auth.decision":
		return annotation("authorization.k8s.io/decision"), nil
	case "ka.auth.reason":
		return annotation("authorization.k8s.io/reason"), nil
	case "ka.auth.openshift.decision":
		return annotation("authentication.openshift.io/decision"), nil
	case "ka.auth.openshift.username":
		return annotation("authentication.openshift.io/username"), nil
	case "ka.validations.admission.policy.failure":
		return annotation("validation.policy.admission.k8s.io/validation_failure"), nil
	case "ka.security.pod.violations":
		return annotation("pod-security.kubernetes.io/audit-violations"), nil
	case "ka.cluster.name":
		return annotation("cluster_name"), nil
	case "ka.user.name":
		return path(topUser, "username"), nil
	case "ka.user.groups":
		return path(topUser, "groups"), nil
	case "ka.impuser.name":
		return path(topImpersonatedUser, "username"), nil
	case "ka.verb":
		return path(topVerb), nil
	case "ka.uri":
		return path(topRequestURI), nil
	case "ka.uri.param":
		return walk(fnURIParam, topRequestURI), nil
	case "ka.target.name", "ka.req.configmap.name":
		return path(topObjectRef, "name"), nil
	case "ka.target.namespace":
		return path(topObjectRef, "namespace"), nil
	case "ka.target.resource":
		return path(topObjectRef, "resource"), nil
	case "ka.target.subresource":
		return path(topObjectRef, "subresource"), nil
	case "ka.target.pod.name":
		return walk(fnTargetPod, topObjectRef), nil
	case "ka.req.binding.subjects":
		return path(topRequestObject, "subjects"), nil
	case "ka.req.binding.subjects.user_names":
		x.kindArg = "User"
		return walk(fnSubjectNames, topRequestObject, "subjects"), nil
	case "ka.req.binding.subjects.serviceaccount_names":
		x.kindArg = "ServiceAccount"
		return walk(fnSubjectNames, topRequestObject, "subjects"), nil
	case "ka.req.binding.subjects.serviceaccount_ns_names":
		x.kindArg = "ServiceAccount"
		return walk(fnSubjectNSNames, topRequestObject, "subjects"), nil
	case "ka.req.binding.subjects.group_names":
		x.kindArg = "Group"
		return walk(fnSubjectNames, topRequestObject, "subjects"), nil
	case "ka.req.binding.role":
		return path(topRequestObject, "roleRef", "name"), nil
	case "ka.req.binding.subject.has_name":
		x.arg = "true"
		return walk(fnConst, atRoot), nil
	case "ka.req.configmap.obj":
		return path(topRequestObject, "data"), nil
	case "ka.req.container.image":
		x.index = 0
		return walk(fnFirstImage, topRequestObject, "spec", "containers", "image"), nil
	case "ka.req.container.image.repository":
		x.index = 0
		return walk(fnFirstRepo, topRequestObject, "spec", "containers", "image"), nil
	case "ka.req.container.privileged":
		return walk(fnAnyTrue, topRequestObject, "spec", "containers", "securityContext", "privileged"), nil
	case "ka.req.pod.host_ipc":
		return path(topRequestObject, "spec", "hostIPC"), nil
	case "ka.req.pod.host_network", "ka.req.container.host_network":
		return path(topRequestObject, "spec", "hostNetwork"), nil
	case "ka.req.pod.host_pid":
		return path(topRequestObject, "spec", "hostPID"), nil
	case "ka.req.pod.run_as_user":
		return path(topRequestObject, "spec", "securityContext", "runAsUser"), nil
	case "ka.req.pod.run_as_group":
		return path(topRequestObject, "spec", "securityContext", "runAsGroup"), nil
	case "ka.req.pod.fs_group":
		return path(topRequestObject, "spec", "securityContext", "fsGroup"), nil
	case "ka.req.pod.supplemental_groups":
		return path(topRequestObject, "spec", "securityContext", "supplementalGroups"), nil
	case "ka.req.role.rules":
		return path(topRequestObject, "rules"), nil
	case "ka.req.role.rules.apiGroups":
		return walk(fnRulesField, topRequestObject, "rules", "apiGroups"), nil
	case "ka.req.role.rules.nonResourceURLs":
		return walk(fnRulesField, topRequestObject, "rules", "nonResourceURLs"), nil
	case "ka.req.role.rules.verbs":
		return walk(fnRulesField, topRequestObject, "rules", "verbs"), nil
	case "ka.req.role.rules.resources":
		return walk(fnRulesField, topRequestObject, "rules", "resources"), nil
	case "ka.req.service.type":
		return path(topRequestObject, "spec", "type"), nil
	case "ka.req.service.ports":
		return walk(fnWalk, topRequestObject, "spec", "ports"), nil
	case "ka.req.pod.volumes.hostpath":
		return walk(fnWalk, topRequestObject, "spec", "volumes", "hostPath", "path"), nil
	case "ka.req.volume.hostpath":
		return walk(fnHostPathMatch, topRequestObject, "spec", "volumes", "hostPath", "path"), nil
	case "ka.req.pod.volumes.flexvolume_driver":
		return walk(fnWalk, topRequestObject, "spec", "volumes", "flexVolume", "driver"), nil
	case "ka.req.pod.volumes.volume_type":
		return walk(fnVolumeTypes, topRequestObject, "spec", "volumes", ""), nil
	case "ka.resp.name":
		return path(topResponseObject, "metadata", "name"), nil
	case "ka.response.code":
		return path(topResponseStatus, "code"), nil
	case "ka.response.reason":
		return path(topResponseStatus, "reason"), nil
	case "ka.useragent":
		return path(topUserAgent), nil
	case "ka.sourceips":
		return walk(fnSourceIPs, topSourceIPs), nil

	case "json.value", "jevt.value":
		top, keys, err := compilePointer(arg)
		if err != nil {
			return nil, err
		}
		return walk(fnPointer, top, keys...), nil
	case "json.obj", "jevt.obj":
		return walk(fnObj, atRoot), nil
	case "json.rawtime", "jevt.rawtime":
		x.layout = cacheRawtime
		return walk(fnTimeStr, atRoot), nil
	case "jevt.time", "evt.time":
		x.layout = cacheTime
		return walk(fnTimeStr, atRoot), nil
	case "evt.time.s":
		x.layout = cacheTimeS
		return walk(fnTimeStr, atRoot), nil
	case "jevt.time.iso8601", "evt.time.iso8601":
		x.layout = cacheISO
		return walk(fnTimeStr, atRoot), nil
	case "evt.datetime":
		x.layout = cacheDatetime
		return walk(fnTimeStr, atRoot), nil
	case "evt.datetime.s":
		x.layout = cacheDatetimeS
		return walk(fnTimeStr, atRoot), nil
	case "evt.num":
		return walk(fnNum, atRoot), nil
	case "evt.rawtime":
		return walk(fnRawtime, atRoot), nil
	case "evt.rawtime.s":
		x.layout = 1
		return walk(fnRawtime, atRoot), nil
	case "evt.rawtime.ns":
		x.layout = 2
		return walk(fnRawtime, atRoot), nil
	case "evt.source":
		x.arg = SourceName
		return walk(fnConst, atRoot), nil
	case "evt.pluginname":
		x.arg = pluginName
		return walk(fnConst, atRoot), nil
	}
	// Every registry entry has a case: TestEveryFieldCompiles checks it.
	return nil, fmt.Errorf("no extractor for field %s", f.Name)
}

// compileContainerField compiles ka.req.pod.<list>.<sub>, list being the
// spec member holding the container list.
func compileContainerField(x *extractor, list, sub string) (*extractor, error) {
	x.top = topRequestObject
	sc := func(keys ...string) []string {
		return append([]string{"spec", list, "securityContext"}, keys...)
	}
	switch sub {
	case "name", "command", "args":
		x.fn, x.keys = fnWalk, []string{"spec", list, sub}
	case "image":
		x.fn, x.keys = fnImages, []string{"spec", list, "image"}
	case "image.repository":
		x.fn, x.keys = fnRepos, []string{"spec", list, "image"}
	case "privileged":
		x.fn, x.keys = fnWalk, sc("privileged")
	case "allow_privilege_escalation":
		x.fn, x.keys = fnWalk, sc("allowPrivilegeEscalation")
	case "read_only_fs":
		x.fn, x.keys = fnWalk, sc("readOnlyRootFilesystem")
	case "run_as_user":
		x.fn, x.keys = fnWalk, sc("runAsUser")
	case "run_as_group":
		x.fn, x.keys = fnWalk, sc("runAsGroup")
	case "proc_mount":
		x.fn, x.keys = fnWalk, sc("procMount")
	case "add_capabilities":
		x.fn, x.keys = fnWalk, sc("capabilities", "add")
	case "eff_run_as_user":
		x.fn, x.keys, x.arg = fnEffective, []string{"spec", list}, "runAsUser"
	case "eff_run_as_group":
		x.fn, x.keys, x.arg = fnEffective, []string{"spec", list}, "runAsGroup"
	case "host_port":
		x.fn, x.keys = fnHostPorts, []string{"spec", list, "ports"}
	default:
		return nil, fmt.Errorf("no extractor for container field %s", sub)
	}
	return x, nil
}

// compilePointer compiles a JSON pointer (RFC 6901) into the well-known
// top-level member it starts with, if any, and the remaining keys. Like
// Falco's json plugin, it accepts a pointer without its leading '/'.
func compilePointer(p string) (top int, keys []string, err error) {
	p = strings.TrimPrefix(p, "/")
	for _, seg := range strings.Split(p, "/") {
		for i := 0; i < len(seg); i++ {
			if seg[i] == '~' && (i+1 >= len(seg) || (seg[i+1] != '0' && seg[i+1] != '1')) {
				return 0, nil, fmt.Errorf("JSON pointer %q: '~' must be followed by 0 or 1", p)
			}
		}
		seg = strings.ReplaceAll(seg, "~1", "/")
		seg = strings.ReplaceAll(seg, "~0", "~")
		keys = append(keys, seg)
	}
	top = atRoot
	if id := topID(keys[0]); id >= 0 {
		top, keys = id, keys[1:]
	}
	return top, keys, nil
}
