#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown
# capture.sh: drive realistic (and benign) scenarios against the running test
# control plane with curl and save the audit events each one produced as JSON
# lines in ruleset/testdata/real/<scenario>.jsonl, plus an index README.md.
#
#   test/k8s/controlplane.sh start && test/k8s/capture.sh [SCENARIO...]
#
# Every request carries its own Audit-ID (a UUID); a scenario's file holds
# exactly the audit events of its own requests (all stages the policy keeps),
# in log order. Objects are purged before each scenario (unrecorded), so the
# script can run again against the same control plane. Users:
#   vigil-admin (system:masters), alice (normal user, group devs, granted
#   namespace admin in vigil-e2e and a few extra rights below), bob (group
#   viewers, granted only nodes/proxy), anonymous, and service accounts.
# Environment: VIGIL_CAPTURE_OUT (default <repo>/ruleset/testdata/real), plus
# the controlplane.sh variables.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${VIGIL_CAPTURE_OUT:-$REPO/ruleset/testdata/real}
eval "$("$HERE/controlplane.sh" env)"
"$HERE/controlplane.sh" status || { echo "capture: control plane not ready at $APISERVER" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

NS=vigil-e2e
NODE=vigil-node-1
KUBELET_PORT=39250 # nothing listens there: kubelet-bound requests fail after authz, on loopback
UA_KUBECTL="kubectl/v1.37.2 (linux/amd64) kubernetes/0a1b2c3"
UA=$UA_KUBECTL
CT=application/json
RECORD=0
SCENARIO=

# req AS METHOD PATH [BODY] [CURL_ARGS...]: one API request as user AS
# (admin, alice, bob, anon, sa:NAME). Sets CODE and BODY_FILE.
req() {
	local as=$1 method=$2 path=$3 body=${4:-} tok
	shift $(($# < 4 ? $# : 4))
	case $as in
	admin) tok=$K8S_ADMIN_TOKEN ;;
	alice) tok=$K8S_USER_TOKEN ;;
	bob) tok=$K8S_VIEWER_TOKEN ;;
	anon) tok= ;;
	sa:*) tok=$(cat "$WORK/token-${as#sa:}") ;;
	*) echo "capture: unknown user $as" >&2; exit 1 ;;
	esac
	local args=(-s --cacert "$K8S_CA" -X "$method" -A "$UA" -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' --max-time 20)
	[[ -n $tok ]] && args+=(-H "Authorization: Bearer $tok")
	[[ -n $body ]] && args+=(-H "Content-Type: $CT" --data-binary "$body")
	# The apiserver adopts a client's Audit-ID header as the event's auditID
	# (and echoes it); setting it ourselves also covers upgraded (101)
	# responses, which carry no Audit-Id header.
	local id
	id=$(cat /proc/sys/kernel/random/uuid)
	args+=(-H "Audit-ID: $id")
	CODE=$(curl "${args[@]}" "$@" "$APISERVER$path") || true
	BODY_FILE=$WORK/body
	if [[ $RECORD == 1 ]]; then
		echo "$id" >>"$WORK/ids"
		printf '  %-14s %-6s %-78s %s\n' "$as" "$method" "$path" "$CODE" >&2
	fi
}

# quiet AS METHOD PATH [BODY]: unrecorded setup/cleanup request.
quiet() { local r=$RECORD; RECORD=0; req "$@"; RECORD=$r; }

# must CODES...: fail unless CODE is one of CODES.
must() {
	local c
	for c in "$@"; do [[ $CODE == "$c" ]] && return; done
	echo "capture: [$SCENARIO] got HTTP $CODE, want $*: $(head -c 400 "$BODY_FILE")" >&2
	exit 1
}

declare -a INDEX=() DONE=()
want() { [[ ${#ONLY[@]} -eq 0 ]] || [[ " ${ONLY[*]} " == *" $1 "* ]]; }

# scenario NAME KIND DESCRIPTION: start recording.
scenario() {
	SCENARIO=$1 RECORD=1 UA=$UA_KUBECTL CT=application/json
	: >"$WORK/ids"
	echo "scenario $1 ($2)" >&2
	INDEX+=("$1|$2|$3")
	DONE+=("$1")
}

# finish: wait until every recorded request has its final event in the
# audit log, then write the scenario's events.
finish() {
	RECORD=0
	local id ok
	for _ in $(seq 100); do
		ok=1
		while read -r id; do
			grep -F "\"auditID\":\"$id\"" "$K8S_AUDIT_LOG" | grep -qE '"stage":"(ResponseComplete|Panic)"' || { ok=0; break; }
		done <"$WORK/ids"
		[[ $ok == 1 ]] && break
		sleep 0.1
	done
	[[ $ok == 1 ]] || { echo "capture: [$SCENARIO] audit events missing (policy level None?)" >&2; exit 1; }
	sed 's/.*/"auditID":"&"/' "$WORK/ids" >"$WORK/pat"
	grep -F -f "$WORK/pat" "$K8S_AUDIT_LOG" >"$OUT/$SCENARIO.jsonl"
	jq -e . "$OUT/$SCENARIO.jsonl" >/dev/null
	echo "  -> $OUT/$SCENARIO.jsonl ($(wc -l <"$OUT/$SCENARIO.jsonl") events)" >&2
	write_index
}

write_index() {
	local f=$OUT/README.md line name kind desc
	{
		for line in "${INDEX[@]}"; do
			IFS='|' read -r name kind desc <<<"$line"
			printf '| `%s.jsonl` | %s | %s |\n' "$name" "$kind" "$desc"
		done
		# Keep the rows of scenarios that this run did not capture.
		if [[ -f $f ]]; then
			grep -E '^\| `[a-z0-9_]+\.jsonl`' "$f" | while read -r line; do
				name=$(sed -E 's/^\| `([a-z0-9_]+)\.jsonl`.*/\1/' <<<"$line")
				[[ " ${DONE[*]} " == *" $name "* ]] || echo "$line"
			done || true
		fi
	} | sort >"$WORK/rows"
	{
		cat <<'EOF'
# Real Kubernetes audit events

Captured from a real kube-apiserver (see `test/k8s/README.md`) by
`test/k8s/capture.sh`, with the audit policy `test/k8s/audit-policy.yaml`
(`--audit-log-format=json`). One JSON `audit.k8s.io/v1` `Event` per line, in
log order; each file holds only the events of its scenario's own requests
(every stage the policy keeps: mostly `ResponseComplete`, plus
`RequestReceived` for exec/attach/portforward/proxy). No kubelet runs, so
requests that need a node (exec, attach, portforward) pass authentication
and authorization and then fail to reach the (fake) node's kubelet on a closed
loopback port, and nodes/proxy is refused after authorization because the
node's address is loopback; their audit events are still real. Each request
sent its own `Audit-ID` header (a random UUID), which the apiserver adopts.

Users: `vigil-admin` (group `system:masters`), `alice` (normal user, group
`devs`: Role `developer` in namespace `vigil-e2e` (pods and their
exec/attach/portforward, configmaps, workloads), create/delete of workloads and
configmaps in `kube-system`, create of clusterrolebindings with `bind` on
`cluster-admin`/`view`, `escalate` on clusterroles, delete of events),
`bob` (group `viewers`: only `nodes/proxy`), `system:anonymous`, and service
accounts in `vigil-e2e`. All source IPs are 127.0.0.1 unless a request sent
`X-Forwarded-For` (noted below). Regenerate: `test/k8s/capture.sh [scenario...]`.

| file | kind | scenario |
| --- | --- | --- |
EOF
		cat "$WORK/rows"
	} >"$f.new"
	mv "$f.new" "$f"
}

# ---------------------------------------------------------------- objects

pod() { # pod NAME NAMESPACE EXTRA_SPEC_JSON CONTAINER_EXTRA_JSON
	local spec=${3:-'{}'} c=${4:-'{}'}
	jq -nc --arg n "$1" --arg ns "$2" --argjson spec "$spec" --argjson c "$c" '{
		apiVersion: "v1", kind: "Pod",
		metadata: {name: $n, namespace: $ns, labels: {app: $n}},
		spec: ({containers: [({name: $n, image: "nginx:1.27", ports: [{containerPort: 80}]} + $c)]} + $spec)}'
}

role() { # role KIND NAME NAMESPACE RULES_JSON
	jq -nc --arg k "$1" --arg n "$2" --arg ns "$3" --argjson r "$4" '{
		apiVersion: "rbac.authorization.k8s.io/v1", kind: $k,
		metadata: ({name: $n} + (if $ns == "" then {} else {namespace: $ns} end)), rules: $r}'
}

binding() { # binding KIND NAME NAMESPACE ROLEKIND ROLE SUBJECTS_JSON
	jq -nc --arg k "$1" --arg n "$2" --arg ns "$3" --arg rk "$4" --arg r "$5" --argjson s "$6" '{
		apiVersion: "rbac.authorization.k8s.io/v1", kind: $k,
		metadata: ({name: $n} + (if $ns == "" then {} else {namespace: $ns} end)),
		roleRef: {apiGroup: "rbac.authorization.k8s.io", kind: $rk, name: $r}, subjects: $s}'
}

user() { jq -nc --arg n "$1" '[{apiGroup: "rbac.authorization.k8s.io", kind: "User", name: $n}]'; }
sa() { jq -nc --arg n "$1" --arg ns "$2" '[{kind: "ServiceAccount", name: $n, namespace: $ns}]'; }

configmap() { # configmap NAME NAMESPACE DATA_JSON
	jq -nc --arg n "$1" --arg ns "$2" --argjson d "$3" '{apiVersion: "v1", kind: "ConfigMap", metadata: {name: $n, namespace: $ns}, data: $d}'
}

# del PATH: unrecorded, immediate delete, ignoring absence.
del() { quiet admin DELETE "$1" '{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}'; }

ensure() { # ensure PATH COLLECTION BODY: create as admin unless present
	quiet admin GET "$1"
	[[ $CODE == 200 ]] && return
	quiet admin POST "$2" "$3"
	[[ $CODE == 201 ]] || { echo "capture: setup $2: HTTP $CODE $(head -c 300 "$BODY_FILE")" >&2; exit 1; }
}

recreate() { # recreate PATH COLLECTION BODY: replace as admin (setup may have changed)
	del "$1"
	ensure "$@"
}

api=/api/v1
rbac=/apis/rbac.authorization.k8s.io/v1

setup() {
	local ns
	for ns in $NS kube-system; do
		ensure "$api/namespaces/$ns" "$api/namespaces" "$(jq -nc --arg n "$ns" '{apiVersion:"v1",kind:"Namespace",metadata:{name:$n}}')"
		# No controller-manager runs: create the default service account the
		# ServiceAccount admission plugin insists on.
		ensure "$api/namespaces/$ns/serviceaccounts/default" "$api/namespaces/$ns/serviceaccounts" \
			'{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}'
	done
	# Not the aggregated ClusterRole admin: without a controller-manager its
	# rules are never filled in.
	recreate "$rbac/namespaces/$NS/roles/developer" "$rbac/namespaces/$NS/roles" \
		"$(role Role developer $NS '[
			{"apiGroups":[""],"resources":["pods","pods/exec","pods/attach","pods/portforward","pods/log","configmaps","services","serviceaccounts"],
			 "verbs":["get","list","watch","create","update","patch","delete"]},
			{"apiGroups":["apps"],"resources":["deployments","daemonsets","statefulsets"],"verbs":["get","list","watch","create","update","patch","delete"]},
			{"apiGroups":["batch"],"resources":["cronjobs","jobs"],"verbs":["get","list","watch","create","update","patch","delete"]}]')"
	recreate "$rbac/namespaces/$NS/rolebindings/alice-developer" "$rbac/namespaces/$NS/rolebindings" \
		"$(binding RoleBinding alice-developer $NS Role developer "$(user alice)")"
	recreate "$rbac/namespaces/$NS/roles/event-cleaner" "$rbac/namespaces/$NS/roles" \
		"$(role Role event-cleaner $NS '[{"apiGroups":[""],"resources":["events"],"verbs":["get","list","create","delete","deletecollection"]}]')"
	recreate "$rbac/namespaces/$NS/rolebindings/alice-event-cleaner" "$rbac/namespaces/$NS/rolebindings" \
		"$(binding RoleBinding alice-event-cleaner $NS Role event-cleaner "$(user alice)")"
	recreate "$rbac/namespaces/kube-system/roles/workload-deployer" "$rbac/namespaces/kube-system/roles" \
		"$(role Role workload-deployer kube-system '[
			{"apiGroups":["apps"],"resources":["daemonsets","deployments"],"verbs":["get","list","create","delete"]},
			{"apiGroups":["batch"],"resources":["cronjobs","jobs"],"verbs":["get","list","create","delete"]},
			{"apiGroups":[""],"resources":["pods","configmaps"],"verbs":["get","list","create","delete"]}]')"
	recreate "$rbac/namespaces/kube-system/rolebindings/alice-workload-deployer" "$rbac/namespaces/kube-system/rolebindings" \
		"$(binding RoleBinding alice-workload-deployer kube-system Role workload-deployer "$(user alice)")"
	recreate "$rbac/clusterroles/vigil-rbac-manager" "$rbac/clusterroles" \
		"$(role ClusterRole vigil-rbac-manager "" '[
			{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterrolebindings"],"verbs":["get","list","create","delete"]},
			{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"verbs":["get","list","create","delete","escalate"]},
			{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"verbs":["bind"],"resourceNames":["cluster-admin","view"]}]')"
	recreate "$rbac/clusterrolebindings/alice-rbac-manager" "$rbac/clusterrolebindings" \
		"$(binding ClusterRoleBinding alice-rbac-manager "" ClusterRole vigil-rbac-manager "$(user alice)")"
	recreate "$rbac/clusterroles/vigil-node-proxy" "$rbac/clusterroles" \
		"$(role ClusterRole vigil-node-proxy "" '[{"apiGroups":[""],"resources":["nodes/proxy","nodes"],"verbs":["get","list","create"]}]')"
	recreate "$rbac/clusterrolebindings/bob-node-proxy" "$rbac/clusterrolebindings" \
		"$(binding ClusterRoleBinding bob-node-proxy "" ClusterRole vigil-node-proxy "$(user bob)")"
	# A Node object (no kubelet behind it) so that pods can be bound and
	# exec/attach/portforward/proxy get as far as dialing the kubelet. Its
	# only address is 127.0.0.1 (no hostname to resolve).
	recreate "$api/nodes/$NODE" "$api/nodes" "$(jq -nc --arg n $NODE --argjson p $KUBELET_PORT '{
		apiVersion: "v1", kind: "Node",
		metadata: {name: $n, labels: {"kubernetes.io/hostname": $n, "kubernetes.io/os": "linux"}},
		status: {addresses: [{type: "InternalIP", address: "127.0.0.1"}],
		         daemonEndpoints: {kubeletEndpoint: {Port: $p}},
		         conditions: [{type: "Ready", status: "True", reason: "KubeletReady", message: "vigil test node",
		                       lastHeartbeatTime: (now | todate), lastTransitionTime: (now | todate)}]}}')"
}

# bound_pod NAME: a running-looking pod bound to the node (unrecorded).
bound_pod() {
	del "$api/namespaces/$NS/pods/$1"
	quiet admin POST "$api/namespaces/$NS/pods" "$(pod "$1" $NS)"
	must 201
	quiet admin POST "$api/namespaces/$NS/pods/$1/binding" \
		"$(jq -nc --arg n "$1" --arg node $NODE '{apiVersion:"v1",kind:"Binding",metadata:{name:$n},target:{apiVersion:"v1",kind:"Node",name:$node}}')"
	must 201
}

SPDY=(--http1.1 -H "Connection: Upgrade" -H "Upgrade: SPDY/3.1" -H "X-Stream-Protocol-Version: v4.channel.k8s.io")
WS=(--http1.1 -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: dmlnaWwtdGVzdC1rZXktMDE=")

# ---------------------------------------------------------------- scenarios

s_namespace_create() {
	del "$api/namespaces/team-a"
	quiet admin PUT "$api/namespaces/team-a/finalize" '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"},"spec":{"finalizers":[]}}'
	del "$api/namespaces/team-a"
	scenario namespace_create benign "vigil-admin creates namespace team-a and reads it back"
	req admin POST $api/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a","labels":{"team":"a"}}}'
	must 201
	req admin GET $api/namespaces/team-a
	must 200
	finish
}

s_sa_token_read_secrets() {
	local p=$api/namespaces/$NS
	del "$p/serviceaccounts/sa-attacker"
	del "$rbac/namespaces/$NS/roles/secret-reader"
	del "$rbac/namespaces/$NS/rolebindings/sa-attacker-secret-reader"
	del "$p/secrets/db-credentials"
	scenario sa_token_read_secrets attack "vigil-admin creates ServiceAccount sa-attacker, Role secret-reader (get/list secrets), its RoleBinding, Secret db-credentials and a token for sa-attacker (TokenRequest, serviceaccounts/token); then, with that token and curl's User-Agent, system:serviceaccount:$NS:sa-attacker GETs db-credentials, LISTs secrets in $NS (allowed), LISTs secrets in kube-system and cluster-wide (403), and GETs db-credentials once more with X-Forwarded-For 203.0.113.50 (sourceIPs [203.0.113.50, 127.0.0.1])"
	req admin POST "$p/serviceaccounts" '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa-attacker"}}'
	must 201
	req admin POST "$rbac/namespaces/$NS/roles" "$(role Role secret-reader $NS '[{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list"]}]')"
	must 201
	req admin POST "$rbac/namespaces/$NS/rolebindings" "$(binding RoleBinding sa-attacker-secret-reader $NS Role secret-reader "$(sa sa-attacker $NS)")"
	must 201
	req admin POST "$p/secrets" '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db-credentials"},"type":"Opaque","stringData":{"username":"app","password":"vigil-test-not-a-secret"}}'
	must 201
	req admin POST "$p/serviceaccounts/sa-attacker/token" '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}'
	must 201
	jq -r .status.token "$BODY_FILE" >"$WORK/token-sa-attacker"
	UA="curl/7.88.1"
	req sa:sa-attacker GET "$p/secrets/db-credentials"
	must 200
	req sa:sa-attacker GET "$p/secrets"
	must 200
	req sa:sa-attacker GET $api/namespaces/kube-system/secrets
	must 403
	req sa:sa-attacker GET $api/secrets
	must 403
	req sa:sa-attacker GET "$p/secrets/db-credentials" "" -H "X-Forwarded-For: 203.0.113.50"
	must 200
	finish
}

s_sa_token_benign() {
	local p=$api/namespaces/$NS
	del "$p/serviceaccounts/app-reader"
	del "$rbac/namespaces/$NS/roles/config-reader"
	del "$rbac/namespaces/$NS/rolebindings/app-reader-config-reader"
	del "$p/configmaps/app-config"
	scenario sa_token_benign benign "vigil-admin creates ServiceAccount app-reader with Role config-reader (get configmaps), ConfigMap app-config and a token (TokenRequest); system:serviceaccount:$NS:app-reader GETs the configmap (a service account token used as intended)"
	req admin POST "$p/serviceaccounts" '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"app-reader"}}'
	must 201
	req admin POST "$rbac/namespaces/$NS/roles" "$(role Role config-reader $NS '[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]')"
	must 201
	req admin POST "$rbac/namespaces/$NS/rolebindings" "$(binding RoleBinding app-reader-config-reader $NS Role config-reader "$(sa app-reader $NS)")"
	must 201
	req admin POST "$p/configmaps" "$(configmap app-config $NS '{"log_level":"info","feature_x":"on"}')"
	must 201
	req admin POST "$p/serviceaccounts/app-reader/token" '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}'
	must 201
	jq -r .status.token "$BODY_FILE" >"$WORK/token-app-reader"
	UA="app/1.0 (linux/amd64) kubernetes-client-go"
	req sa:app-reader GET "$p/configmaps/app-config"
	must 200
	finish
}

# create_pod SCENARIO KIND DESC NAME NAMESPACE SPEC_JSON CONTAINER_JSON
create_pod() {
	del "$api/namespaces/$5/pods/$4"
	scenario "$1" "$2" "$3"
	req alice POST "$api/namespaces/$5/pods" "$(pod "$4" "$5" "$6" "$7")"
	must 201
	finish
}

s_pod_create_benign() {
	del "$api/namespaces/$NS/pods/web"
	scenario pod_create_benign benign "alice creates a plain nginx pod web in $NS (non-root securityContext), gets it and lists pods"
	req alice POST "$api/namespaces/$NS/pods" "$(pod web $NS '{"securityContext":{"runAsNonRoot":true,"runAsUser":101}}' '{"securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true}}')"
	must 201
	req alice GET "$api/namespaces/$NS/pods/web"
	must 200
	req alice GET "$api/namespaces/$NS/pods"
	must 200
	finish
}

s_pod_privileged() {
	create_pod pod_privileged attack "alice creates pod priv in $NS with securityContext.privileged=true" \
		priv $NS '{}' '{"securityContext":{"privileged":true}}'
}

s_pod_sys_admin() {
	create_pod pod_sys_admin attack "alice creates pod caps in $NS adding capabilities SYS_ADMIN and NET_ADMIN, allowPrivilegeEscalation=true, runAsUser 0" \
		caps $NS '{}' '{"securityContext":{"capabilities":{"add":["SYS_ADMIN","NET_ADMIN"]},"allowPrivilegeEscalation":true,"runAsUser":0}}'
}

s_pod_host_namespaces() {
	create_pod pod_host_namespaces attack "alice creates pod hostns in $NS with hostPID, hostIPC and hostNetwork true" \
		hostns $NS '{"hostPID":true,"hostIPC":true,"hostNetwork":true}' '{}'
}

s_pod_hostpath_root() {
	create_pod pod_hostpath_root attack "alice creates pod hostroot in $NS mounting hostPath / at /host" \
		hostroot $NS '{"volumes":[{"name":"host","hostPath":{"path":"/","type":"Directory"}}]}' '{"volumeMounts":[{"name":"host","mountPath":"/host"}]}'
}

s_pod_hostpath_docker_sock() {
	create_pod pod_hostpath_docker_sock attack "alice creates pod dockersock in $NS mounting hostPath /var/run/docker.sock" \
		dockersock $NS '{"volumes":[{"name":"sock","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}}]}' '{"volumeMounts":[{"name":"sock","mountPath":"/var/run/docker.sock"}]}'
}

s_pod_kube_system() {
	create_pod pod_kube_system attack "alice (not a system user) creates a plain pod sneaky in kube-system" \
		sneaky kube-system '{}' '{}'
}

# interactive SCENARIO SUBRESOURCE QUERY DESC
interactive() {
	bound_pod shell
	scenario "$1" attack "$4"
	req alice POST "$api/namespaces/$NS/pods/shell/$2?$3" "" "${SPDY[@]}"
	must 500 502 503
	req alice GET "$api/namespaces/$NS/pods/shell/$2?$3" "" "${WS[@]}" -H "Sec-WebSocket-Protocol: v5.channel.k8s.io"
	must 101 500 502 503
	req bob POST "$api/namespaces/$NS/pods/shell/$2?$3" "" "${SPDY[@]}"
	must 403
	finish
}

s_pod_exec() {
	interactive pod_exec exec "command=sh&command=-c&command=id&container=shell&stdin=true&stdout=true&stderr=true&tty=true" \
		"pods/exec of 'sh -c id' on pod shell (bound to node $NODE, no kubelet): alice with SPDY upgrade (POST, verb create: 500 dialing the kubelet) and with WebSocket (GET, verb get: 101 Switching Protocols, the stream then fails to dial the kubelet); bob POST denied (403)"
}

s_pod_attach() {
	interactive pod_attach attach "container=shell&stdin=true&stdout=true&tty=true" \
		"pods/attach to pod shell: alice SPDY POST (500, kubelet unreachable) and WebSocket GET (101, then kubelet unreachable); bob denied (403)"
}

s_pod_portforward() {
	bound_pod shell
	scenario pod_portforward attack "pods/portforward to port 80 of pod shell: alice SPDY POST and WebSocket GET (both authorized, then 500 kubelet unreachable); bob denied (403)"
	req alice POST "$api/namespaces/$NS/pods/shell/portforward" "" --http1.1 -H "Connection: Upgrade" -H "Upgrade: SPDY/3.1" -H "X-Stream-Protocol-Version: portforward.k8s.io"
	must 500 502 503
	req alice GET "$api/namespaces/$NS/pods/shell/portforward?ports=80" "" "${WS[@]}" -H "Sec-WebSocket-Protocol: v2.portforward.k8s.io"
	must 101 500 502 503
	req bob POST "$api/namespaces/$NS/pods/shell/portforward" "" --http1.1 -H "Connection: Upgrade" -H "Upgrade: SPDY/3.1" -H "X-Stream-Protocol-Version: portforward.k8s.io"
	must 403
	finish
}

s_nodes_proxy() {
	scenario nodes_proxy attack "nodes/proxy to node $NODE: bob (granted nodes/proxy) GETs proxy/pods, proxy/configz and POSTs proxy/run/$NS/shell/shell (authorized, then 400 'address not allowed': the apiserver never proxies to a loopback node address); alice GETs proxy/pods (403)"
	req bob GET "$api/nodes/$NODE/proxy/pods"
	must 400
	req bob GET "$api/nodes/$NODE/proxy/configz"
	must 400
	CT=application/x-www-form-urlencoded
	req bob POST "$api/nodes/$NODE/proxy/run/$NS/shell/shell" "cmd=id"
	must 400
	req alice GET "$api/nodes/$NODE/proxy/pods"
	must 403
	finish
}

s_crb_cluster_admin() {
	del "$rbac/clusterrolebindings/alice-cluster-admin"
	scenario crb_cluster_admin attack "alice (normal user with bind on cluster-admin) creates ClusterRoleBinding alice-cluster-admin granting cluster-admin to User alice; bob tries the same (403)"
	req alice POST $rbac/clusterrolebindings "$(binding ClusterRoleBinding alice-cluster-admin "" ClusterRole cluster-admin "$(user alice)")"
	must 201
	req bob POST $rbac/clusterrolebindings "$(binding ClusterRoleBinding bob-cluster-admin "" ClusterRole cluster-admin "$(user bob)")"
	must 403
	finish
	# Later scenarios must see alice with her ordinary rights.
	del "$rbac/clusterrolebindings/alice-cluster-admin"
}

s_crb_benign() {
	del "$rbac/clusterrolebindings/bob-view"
	scenario crb_benign benign "alice creates ClusterRoleBinding bob-view granting the read-only ClusterRole view to User bob"
	req alice POST $rbac/clusterrolebindings "$(binding ClusterRoleBinding bob-view "" ClusterRole view "$(user bob)")"
	must 201
	finish
	del "$rbac/clusterrolebindings/bob-view"
}

s_clusterrole_wildcard() {
	del "$rbac/clusterroles/vigil-everything"
	del "$rbac/clusterroles/vigil-secrets-all"
	scenario clusterrole_wildcard attack "alice (escalate on clusterroles) creates ClusterRole vigil-everything with apiGroups/resources/verbs '*', and ClusterRole vigil-secrets-all with verbs '*' on secrets"
	req alice POST $rbac/clusterroles "$(role ClusterRole vigil-everything "" '[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]},{"nonResourceURLs":["*"],"verbs":["*"]}]')"
	must 201
	req alice POST $rbac/clusterroles "$(role ClusterRole vigil-secrets-all "" '[{"apiGroups":[""],"resources":["secrets"],"verbs":["*"]}]')"
	must 201
	finish
}

s_clusterrole_benign() {
	del "$rbac/clusterroles/pod-reader"
	scenario clusterrole_benign benign "alice creates ClusterRole pod-reader (get/list/watch pods) and reads it back"
	req alice POST $rbac/clusterroles "$(role ClusterRole pod-reader "" '[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]}]')"
	must 201
	req alice GET $rbac/clusterroles/pod-reader
	must 200
	finish
}

s_anonymous_allowed() {
	scenario anonymous_allowed benign "system:anonymous (no token, --anonymous-auth=true) GETs /version, /healthz and /readyz, allowed by system:public-info-viewer"
	UA="curl/7.88.1"
	req anon GET /version
	must 200
	req anon GET /healthz
	must 200
	req anon GET /readyz
	must 200
	finish
}

s_anonymous_denied() {
	scenario anonymous_denied attack "system:anonymous GETs /api, /api/v1/pods, /api/v1/namespaces/kube-system/secrets and /apis/rbac.authorization.k8s.io/v1/clusterrolebindings (all 403)"
	UA="curl/7.88.1"
	req anon GET /api
	must 403
	req anon GET $api/pods
	must 403
	req anon GET $api/namespaces/kube-system/secrets
	must 403
	req anon GET $rbac/clusterrolebindings
	must 403
	finish
}

s_configmap_benign() {
	del "$api/namespaces/$NS/configmaps/web-settings"
	scenario configmap_benign benign "alice creates ConfigMap web-settings in $NS, gets it, and lists configmaps"
	req alice POST "$api/namespaces/$NS/configmaps" "$(configmap web-settings $NS '{"nginx.conf":"server { listen 80; }","replicas":"2"}')"
	must 201
	req alice GET "$api/namespaces/$NS/configmaps/web-settings"
	must 200
	req alice GET "$api/namespaces/$NS/configmaps"
	must 200
	finish
}

s_configmap_secret_key() {
	del "$api/namespaces/$NS/configmaps/app-credentials"
	scenario configmap_secret_key attack "alice creates ConfigMap app-credentials in $NS whose keys look like credentials (aws_access_key_id, aws_secret_access_key, db_password, api_token; values are obvious fakes)"
	req alice POST "$api/namespaces/$NS/configmaps" "$(configmap app-credentials $NS '{"aws_access_key_id":"VIGILTESTNOTAKEY0000","aws_secret_access_key":"vigil-test-fake-secret-value","db_password":"vigil-test-fake-password","api_token":"vigil-test-fake-token"}')"
	must 201
	finish
}

s_configmap_delete() {
	quiet alice POST "$api/namespaces/$NS/configmaps" "$(configmap old-settings $NS '{"k":"v"}')"
	scenario configmap_delete benign "alice deletes ConfigMap old-settings in her namespace $NS"
	req alice DELETE "$api/namespaces/$NS/configmaps/old-settings"
	must 200
	finish
}

s_configmap_kube_system_delete() {
	del "$api/namespaces/kube-system/configmaps/audit-policy"
	quiet admin POST $api/namespaces/kube-system/configmaps "$(configmap audit-policy kube-system "$(jq -nc --rawfile p "$HERE/audit-policy.yaml" '{"policy.yaml":$p}')")"
	must 201
	scenario configmap_kube_system_delete attack "alice deletes ConfigMap audit-policy in kube-system (holding the cluster's audit policy)"
	req alice DELETE $api/namespaces/kube-system/configmaps/audit-policy
	must 200
	finish
}

event() { # event NAME
	jq -nc --arg n "$1" --arg ns $NS '{apiVersion:"v1",kind:"Event",metadata:{name:$n,namespace:$ns},
		involvedObject:{kind:"Pod",namespace:$ns,name:"web",apiVersion:"v1"},reason:"Pulled",type:"Normal",
		message:"Container image \"nginx:1.27\" already present on machine",source:{component:"kubelet",host:"vigil-node-1"},
		firstTimestamp:(now|todate),lastTimestamp:(now|todate),count:1}'
}

s_events_delete() {
	local p=$api/namespaces/$NS/events
	quiet admin DELETE "$p"
	quiet admin POST "$p" "$(event web.pulled)"
	must 201
	quiet admin POST "$p" "$(event web.started)"
	must 201
	scenario events_delete attack "alice deletes Event web.pulled in $NS, then deletes all events in $NS (deletecollection): covering tracks"
	req alice DELETE "$p/web.pulled"
	must 200
	req alice DELETE "$p"
	must 200
	finish
}

s_admission_webhook_delete() {
	local a=/apis/admissionregistration.k8s.io/v1
	del "$a/validatingwebhookconfigurations/vigil-admission"
	del "$a/mutatingwebhookconfigurations/vigil-inject"
	local hook='{"name":"policy.vigil.dev","admissionReviewVersions":["v1"],"sideEffects":"None","failurePolicy":"Ignore",
		"clientConfig":{"url":"https://127.0.0.1:39443/validate"},
		"rules":[{"apiGroups":["vigil.dev"],"apiVersions":["v1"],"operations":["CREATE"],"resources":["policies"]}]}'
	scenario admission_webhook_delete attack "vigil-admin creates ValidatingWebhookConfiguration vigil-admission and MutatingWebhookConfiguration vigil-inject (a security tool's admission webhooks), then deletes both"
	req admin POST "$a/validatingwebhookconfigurations" "$(jq -nc --argjson h "$hook" '{apiVersion:"admissionregistration.k8s.io/v1",kind:"ValidatingWebhookConfiguration",metadata:{name:"vigil-admission"},webhooks:[$h]}')"
	must 201
	req admin POST "$a/mutatingwebhookconfigurations" "$(jq -nc --argjson h "$hook" '{apiVersion:"admissionregistration.k8s.io/v1",kind:"MutatingWebhookConfiguration",metadata:{name:"vigil-inject"},webhooks:[($h|.name="inject.vigil.dev")]}')"
	must 201
	req admin DELETE "$a/validatingwebhookconfigurations/vigil-admission"
	must 200
	req admin DELETE "$a/mutatingwebhookconfigurations/vigil-inject"
	must 200
	finish
}

workload() { # workload KIND NAME NAMESPACE
	local tmpl
	tmpl=$(jq -nc --arg n "$2" '{metadata:{labels:{app:$n}},spec:{containers:[{name:$n,image:"busybox:1.36",command:["sh","-c","sleep 3600"]}]}}')
	case $1 in
	DaemonSet | Deployment)
		jq -nc --arg k "$1" --arg n "$2" --arg ns "$3" --argjson t "$tmpl" '{apiVersion:"apps/v1",kind:$k,
			metadata:{name:$n,namespace:$ns},spec:{selector:{matchLabels:{app:$n}},template:$t}}' ;;
	CronJob)
		jq -nc --arg n "$2" --arg ns "$3" --argjson t "$tmpl" '{apiVersion:"batch/v1",kind:"CronJob",
			metadata:{name:$n,namespace:$ns},spec:{schedule:"*/5 * * * *",
			jobTemplate:{spec:{template:($t|.spec.restartPolicy="OnFailure")}}}}' ;;
	esac
}

s_daemonset_kube_system() {
	del /apis/apps/v1/namespaces/kube-system/daemonsets/node-helper
	scenario daemonset_kube_system attack "alice (normal user, group devs) creates DaemonSet node-helper in kube-system"
	req alice POST /apis/apps/v1/namespaces/kube-system/daemonsets "$(workload DaemonSet node-helper kube-system)"
	must 201
	finish
}

s_cronjob_kube_system() {
	del /apis/batch/v1/namespaces/kube-system/cronjobs/cleanup
	scenario cronjob_kube_system attack "alice (normal user) creates CronJob cleanup in kube-system (every 5 minutes)"
	req alice POST /apis/batch/v1/namespaces/kube-system/cronjobs "$(workload CronJob cleanup kube-system)"
	must 201
	finish
}

s_workload_benign() {
	del "/apis/apps/v1/namespaces/$NS/deployments/web"
	del "/apis/apps/v1/namespaces/$NS/daemonsets/log-agent"
	del "/apis/batch/v1/namespaces/$NS/cronjobs/report"
	scenario workload_benign benign "alice creates Deployment web, DaemonSet log-agent and CronJob report in her own namespace $NS"
	req alice POST "/apis/apps/v1/namespaces/$NS/deployments" "$(workload Deployment web $NS)"
	must 201
	req alice POST "/apis/apps/v1/namespaces/$NS/daemonsets" "$(workload DaemonSet log-agent $NS)"
	must 201
	req alice POST "/apis/batch/v1/namespaces/$NS/cronjobs" "$(workload CronJob report $NS)"
	must 201
	finish
}

ALL=(namespace_create sa_token_read_secrets sa_token_benign pod_create_benign pod_privileged pod_sys_admin
	pod_host_namespaces pod_hostpath_root pod_hostpath_docker_sock pod_kube_system pod_exec pod_attach
	pod_portforward nodes_proxy crb_cluster_admin crb_benign clusterrole_wildcard clusterrole_benign
	anonymous_allowed anonymous_denied configmap_benign configmap_secret_key configmap_delete
	configmap_kube_system_delete events_delete admission_webhook_delete daemonset_kube_system
	cronjob_kube_system workload_benign)
ONLY=("$@")

for s in "${ONLY[@]}"; do
	[[ " ${ALL[*]} " == *" $s "* ]] || { echo "capture: unknown scenario $s (have: ${ALL[*]})" >&2; exit 1; }
done
setup
for s in "${ALL[@]}"; do
	if want "$s"; then "s_$s"; fi
done
echo "capture: wrote ${#INDEX[@]} scenarios to $OUT" >&2
