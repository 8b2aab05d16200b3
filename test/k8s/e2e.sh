#!/usr/bin/env bash
# e2e.sh: Vigil end to end against a real kube-apiserver (make e2e-k8s).
#
# Phase "default": `vigil run` with the embedded default ruleset serves the
# audit webhook; a real control plane (controlplane.sh, audit policy
# test/k8s/audit-policy.yaml) sends it audit events in batches while
# capture.sh drives every scenario with curl. Asserts that the live webhook
# raised the expected alerts (with the fields an analyst needs) within a few
# seconds of each audit event, that benign scenarios raised nothing, that
# every request of every scenario fired exactly the rules
# ruleset/testdata/real.want lists for the committed capture, that vigil
# evaluated every event the apiserver audited, and that `vigil replay` of
# the apiserver's audit.log gives the same alerts.
#
# Phase "deploy": the apiserver restarts with the shipped
# deploy/k8s/audit-policy.yaml and deploy/k8s/audit-webhook.kubeconfig (its
# URL replaced), sending to a new `vigil run -r embedded: -r <Falco's
# upstream k8s_audit_rules.yaml>`. The same scenarios (but
# anonymous_allowed, whose health probes that policy drops) must fire the
# same default rules, and Falco's own rules must fire too ("Create
# Privileged Pod", ...).
#
# Prints one PASS/FAIL line per assertion and "N passed, N failed"; exits 1
# on any failure. Everything lives in a temporary directory (removed on
# success, kept and named on failure or with VIGIL_E2E_KEEP=1): control-plane
# state (certs, etcd, audit.log), free ports picked at random, vigil data,
# alerts and the captures, so ruleset/testdata/real/ is never written.
# The control plane and vigil are always stopped on exit.
#
# Environment:
#   VIGIL_BIN               vigil binary, default <repo>/bin/vigil (make e2e-k8s builds it)
#   VIGIL_FALCO_K8S_RULES   Falco's k8saudit rules, default <repo>/../shared/data/falco/k8saudit/k8s_audit_rules.yaml
#                           (missing: the Falco assertions are skipped, named as SKIP)
#   VIGIL_E2E_WAIT          seconds to wait for alerts once a capture has ended, default 10
#   VIGIL_E2E_MAX_LATENCY   seconds allowed from an audit event to its alert in the file, default 5
#   VIGIL_E2E_KEEP=1        keep the temporary directory
#   VIGIL_K8S_PORT, VIGIL_ETCD_PORT  fixed ports instead of random free ones
#   VIGIL_CACHE             as for controlplane.sh (where kube-apiserver is built)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VIGIL=${VIGIL_BIN:-$REPO/bin/vigil}
FALCO_RULES=${VIGIL_FALCO_K8S_RULES:-$REPO/../shared/data/falco/k8saudit/k8s_audit_rules.yaml}
WAIT=${VIGIL_E2E_WAIT:-10}
MAX_LATENCY=${VIGIL_E2E_MAX_LATENCY:-5}
WANT=$REPO/ruleset/testdata/real.want
REAL=$REPO/ruleset/testdata/real
DEPLOY_POLICY=$REPO/deploy/k8s/audit-policy.yaml
NS=vigil-e2e
CP=$HERE/controlplane.sh

T0=$(date +%s%3N)
log() { printf 'e2e-k8s: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
elapsed() { local ms=$(($(date +%s%3N) - $1)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

for tool in curl jq; do command -v $tool >/dev/null || die "$tool is required (apt-get install $tool)"; done
[[ -x $VIGIL ]] || die "no vigil binary at $VIGIL: run 'make build' (or make e2e-k8s)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-e2e.XXXXXX")
export VIGIL_K8S_STATE=$WORK/k8s
PASSED=0 FAILED=0 SKIPPED=0
VIGIL_PID='' WATCH_PID=''
VIGIL_ARGS=() AUDIT_LINES0=0 logged=0

# ------------------------------------------------------------------ plumbing

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port LOW HIGH SPAN: a random P in [LOW, HIGH) with P..P+SPAN-1 free.
# Below the kernel's ephemeral range, away from controlplane.sh's defaults.
pick_port() {
	local p k ok
	for _ in $(seq 100); do
		p=$(($1 + RANDOM % ($2 - $1))) ok=1
		for ((k = 0; k < $3; k++)); do port_free $((p + k)) || { ok=0; break; }; done
		((ok)) && { echo "$p"; return; }
	done
	return 1
}

stop_vigil() {
	[[ -n $VIGIL_PID ]] || return 0
	kill -TERM "$VIGIL_PID" 2>/dev/null
	for _ in $(seq 150); do kill -0 "$VIGIL_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$VIGIL_PID" 2>/dev/null && kill -KILL "$VIGIL_PID" 2>/dev/null
	wait "$VIGIL_PID" 2>/dev/null
	[[ -n $WATCH_PID ]] && wait "$WATCH_PID" 2>/dev/null
	VIGIL_PID='' WATCH_PID=''
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	"$CP" stop >/dev/null 2>&1
	stop_vigil
	if [[ $rc == 0 && $FAILED == 0 && ${VIGIL_E2E_KEEP:-0} != 1 ]]; then
		rm -rf "$WORK"
	else
		log "state kept in $WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -n ${VIGIL_K8S_PORT:-} ]] || VIGIL_K8S_PORT=$(pick_port 20000 24000 1) || die "no free port for kube-apiserver"
[[ -n ${VIGIL_ETCD_PORT:-} ]] || VIGIL_ETCD_PORT=$(pick_port 24000 28000 3) || die "no free ports for etcd"
export VIGIL_K8S_PORT VIGIL_ETCD_PORT

pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
skip() { SKIPPED=$((SKIPPED + 1)); printf 'SKIP  %s\n' "$*"; }

# start_vigil PHASE [ARGS...]: start `vigil run` on a free port, wait for
# /readyz. Sets VIGIL_PID, VIGIL_ADDR, ALERTS, VLOG, PHASE.
start_vigil() {
	PHASE=$1
	shift
	VIGIL_ARGS=("$@")
	local d=$WORK/$PHASE t0 addr=
	mkdir -p "$d"
	ALERTS=$d/alerts.jsonl VLOG=$d/vigil.log
	t0=$(date +%s%3N)
	# Aggregation off: the alerts are compared one for one with vigil replay's.
	# The syscall source off: event counts are compared with audit.log's.
	"$VIGIL" run --listen 127.0.0.1:0 --data-dir "$d/data" --alerts-file "$ALERTS" --hostname vigil-e2e --aggregate-window 0s --sensor off "$@" \
		>"$d/stdout.jsonl" 2>"$VLOG" </dev/null &
	VIGIL_PID=$!
	# Stamp each alert line with the time it reached the file (tail exits
	# with vigil), for the latency check.
	(tail --pid="$VIGIL_PID" -n +1 -F "$ALERTS" 2>/dev/null | while IFS= read -r line; do
		printf '%s\t%s\n' "${EPOCHREALTIME//[.,]/}" "$line"
	done >"$d/arrivals.tsv") &
	WATCH_PID=$!
	for _ in $(seq 300); do
		addr=$(grep -o 'msg=serving component=run addr=[^ ]*' "$VLOG" | head -1 | sed 's/.*addr=//')
		[[ -n $addr ]] && curl -sf "http://$addr/readyz" >/dev/null && break
		kill -0 "$VIGIL_PID" 2>/dev/null || break
		sleep 0.1
	done
	VIGIL_ADDR=$addr
	if [[ -n $addr ]] && [[ $(curl -s "http://$addr/readyz") == ok && $(curl -s "http://$addr/healthz") == ok ]]; then
		pass "[$PHASE] vigil run ${*:-(embedded rules)} ready on $addr (/healthz and /readyz 200) in $(elapsed "$t0")"
	else
		fail "[$PHASE] vigil run ${*:-(embedded rules)} not ready: $(tail -5 "$VLOG")"
		exit 1
	fi
}

# start_plane POLICY [WEBHOOK_KUBECONFIG]: (re)start the control plane with
# its audit webhook pointing at the running vigil (through a copy of
# WEBHOOK_KUBECONFIG when given). Sets AUDIT_LINES0 (audit.log lines before).
start_plane() {
	AUDIT_LINES0=0
	[[ -f $VIGIL_K8S_STATE/audit.log ]] && AUDIT_LINES0=$(wc -l <"$VIGIL_K8S_STATE/audit.log")
	local t0
	t0=$(date +%s%3N)
	if VIGIL_AUDIT_POLICY=$1 VIGIL_AUDIT_WEBHOOK_CONFIG=${2:-} "$CP" start "http://$VIGIL_ADDR/k8s-audit"; then
		pass "[$PHASE] kube-apiserver ready with audit policy ${1#"$REPO"/}$([[ -n ${2:-} ]] && echo ", webhook kubeconfig ${2#"$REPO"/}") and webhook http://$VIGIL_ADDR/k8s-audit in $(elapsed "$t0")"
	else
		fail "[$PHASE] control plane did not start: $(tail -5 "$VIGIL_K8S_STATE/apiserver.log" 2>/dev/null)"
		exit 1
	fi
}

# capture SCENARIO...: run capture.sh into $WORK/$PHASE/capture.
capture() {
	CAPTURE=$WORK/$PHASE/capture
	local t0
	t0=$(date +%s%3N)
	if VIGIL_CAPTURE_OUT=$CAPTURE "$HERE/capture.sh" "$@" >"$WORK/$PHASE/capture.log" 2>&1; then
		pass "[$PHASE] capture.sh ran $(find "$CAPTURE" -name '*.jsonl' | wc -l) scenarios against the apiserver in $(elapsed "$t0")"
	else
		fail "[$PHASE] capture.sh failed: $(tail -3 "$WORK/$PHASE/capture.log")"
		exit 1
	fi
	CAPTURE_END=$(date +%s%3N)
	local f
	for f in "$CAPTURE"/*.jsonl; do ids "$f" >"${f%.jsonl}.ids"; done
}

# ids FILE: the distinct audit IDs of a capture, in order of first event, as
# a JSON array (the N-th ID is the scenario's N-th request).
ids() { jq -nc 'reduce (inputs | .auditID) as $id ([]; if index([$id]) then . else . + [$id] end)' "$1"; }

# scenario_ids SCENARIO: ids of the live capture (written by capture).
scenario_ids() { cat "$CAPTURE/$1.ids"; }

# Selects the alerts raised by the requests whose audit IDs are $ids: every
# default rule prints ka.auditid.
# shellcheck disable=SC2016 # jq variables
OF_IDS='select(.output_fields["ka.auditid"] as $a | $a != null and ($ids | index([$a])))'

# alerts_of SCENARIO: the alerts (JSON lines) of the scenario's own requests.
alerts_of() { jq -c --argjson ids "$(scenario_ids "$1")" "$OF_IDS" "$ALERTS"; }

# has SCENARIO RULE JQ_FILTER: an alert of RULE from SCENARIO satisfies the filter.
has() {
	jq -ne --argjson ids "$(scenario_ids "$1")" --arg r "$2" \
		"[inputs | select(.rule == \$r) | $OF_IDS | select($3)] | length > 0" "$ALERTS" >/dev/null
}

# upstream RULE JQ_FILTER: an alert of RULE (any scenario) satisfies the
# filter (Falco's outputs carry no audit ID).
upstream() {
	jq -ne --arg r "$1" "[inputs | select(.rule == \$r) | select($2)] | length > 0" "$ALERTS" >/dev/null
}

# A check is "DESCRIPTION|COMMAND": evaluated until all pass or WAIT
# seconds after the capture ended, then reported.
declare -a CHECKS=()
check() { CHECKS+=("$1|$2"); }
run_checks() {
	local c all t
	while :; do
		all=1
		for c in "${CHECKS[@]}"; do eval "${c#*|}" || { all=0; break; }; done
		((all)) && break
		(($(date +%s%3N) - CAPTURE_END > WAIT * 1000)) && break
		sleep 0.2
	done
	t=$(elapsed "$CAPTURE_END")
	for c in "${CHECKS[@]}"; do
		if eval "${c#*|}"; then
			pass "[$PHASE] ${c%%|*}"
		else
			fail "[$PHASE] ${c%%|*} (not within ${WAIT} s of the capture's end)"
		fi
	done
	((all)) && log "[$PHASE] expected alerts checked $t after the last scenario"
	CHECKS=()
}

# expected SCENARIO: "REQUEST RULE" lines, from real.want and the committed
# capture (real.want names the firing event; map it to its request).
expected() {
	local f=$REAL/$1.jsonl line spec rule id
	local idlist
	idlist=$(ids "$f")
	grep -E "^$1\.jsonl:[0-9]+ " "$WANT" | while read -r line; do
		spec=${line%% *} rule=${line#* }
		id=$(sed -n "${spec#*:}p" "$f" | jq -r .auditID)
		jq -rn --argjson ids "$idlist" --arg id "$id" --arg r "$rule" '"\(($ids | index($id)) + 1) \($r)"'
	done | sort
}

# live SCENARIO: the same for the live alerts (default rules only: the
# ones that print ka.auditid).
live() {
	alerts_of "$1" | jq -r --argjson ids "$(scenario_ids "$1")" \
		'.output_fields["ka.auditid"] as $a | "\(($ids | index($a)) + 1) \(.rule)"' | sort
}

# tally: "RULE xN, ..." from "REQUEST RULE" lines.
tally() { sed 's/^[0-9]* //' | sort | uniq -c | awk '{c=$1; $1=""; printf "%s%s x%d", s, substr($0,2), c; s=", "}'; }

# compare_want SCENARIO...: live alerts per request equal real.want's.
compare_want() {
	local s exp got
	for s in "$@"; do
		exp=$(expected "$s") got=$(live "$s")
		if [[ $exp == "$got" ]]; then
			pass "[$PHASE] $s: live alerts match real.want ($(if [[ -z $got ]]; then echo none; else tally <<<"$got"; fi))"
		else
			fail "[$PHASE] $s: live alerts differ from real.want (request rule): $(diff <(echo "$exp") <(echo "$got") | grep '^[<>]' | sed 's/^</want/; s/^>/got/' | paste -sd';' -)"
		fi
	done
}

# note_setup_alerts: log the alerts raised by no scenario's own requests
# (capture.sh's unrecorded setup, run as vigil-admin).
note_setup_alerts() {
	local all
	all=$(cat "$CAPTURE"/*.ids | jq -sc add)
	log "[$PHASE] $(wc -l <"$ALERTS") alerts, $(jq -r 'select(.output_fields["ka.auditid"] == null) | .rule' "$ALERTS" | wc -l) of them from rules that print no audit ID (Falco's); outside the scenarios (capture.sh setup): $(jq -r --argjson ids "$all" \
		'select(.output_fields["ka.auditid"] as $a | $a != null and ($ids | index([$a]) | not)) | "\(.rule) (\(.output_fields["ka.user.name"]) \(.output_fields["ka.verb"]) \(.output_fields["ka.target.resource"] // "") \(.output_fields["ka.target.name"] // ""))"' \
		"$ALERTS" | tally)"
}

# check_latency: every alert reached the alerts file within MAX_LATENCY
# seconds of its audit event's stageTimestamp (same clock): batching in
# the apiserver (--audit-webhook-batch-max-wait=500ms), delivery, decoding,
# rules, output. Run after stop_and_count (the arrivals file is complete).
check_latency() {
	local stats n median max
	stats=$(jq -R -r 'split("\t") as [$t, $l] | ($l | fromjson | .time) as $at
		| ($t | tonumber) / 1e6 - (($at | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) + ($at | capture("(?<f>\\.[0-9]+)Z$").f | tonumber))' \
		"$WORK/$PHASE/arrivals.tsv" | sort -n | awk '{v[NR]=$1} END {if (NR) printf "%d %.2f %.2f", NR, v[int((NR+1)/2)], v[NR]}')
	read -r n median max <<<"$stats"
	if [[ -n $stats ]] && awk -v m="$max" -v l="$MAX_LATENCY" 'BEGIN {exit !(m <= l)}'; then
		pass "[$PHASE] latency: $n alerts written ${median} s (median), ${max} s (max) after their audit event (limit ${MAX_LATENCY} s)"
	else
		fail "[$PHASE] latency: $n alerts, median ${median:-?} s, max ${max:-?} s after their audit event (limit ${MAX_LATENCY} s)"
	fi
}

# check_replay: `vigil replay` of this phase's part of the apiserver's audit
# log file, with the same rules, yields the alerts the webhook did.
check_replay() {
	local d=$WORK/$PHASE
	sed -n "$((AUDIT_LINES0 + 1)),$((AUDIT_LINES0 + logged))p" "$VIGIL_K8S_STATE/audit.log" >"$d/audit.jsonl"
	if ! "$VIGIL" replay "${VIGIL_ARGS[@]}" "$d/audit.jsonl" >"$d/replay.jsonl" 2>"$d/replay.log"; then
		fail "[$PHASE] vigil replay of audit.log failed: $(tail -3 "$d/replay.log")"
		return
	fi
	if diff <(jq -c 'del(.hostname)' "$d/replay.jsonl" | sort) <(jq -c 'del(.hostname)' "$ALERTS" | sort) >"$d/replay.diff"; then
		pass "[$PHASE] vigil replay of the $logged audit.log events yields the same $(wc -l <"$ALERTS") alerts as the webhook"
	else
		fail "[$PHASE] vigil replay of audit.log differs from the webhook's alerts: $(grep -c '^<' "$d/replay.diff") only replayed, $(grep -c '^>' "$d/replay.diff") only live (see $d/replay.diff)"
	fi
}

# stop_and_count: stop the apiserver (its audit backends flush), then vigil;
# vigil must have evaluated exactly the events the apiserver logged.
stop_and_count() {
	"$CP" stop 2>/dev/null
	local evaluated
	logged=$(($(wc -l <"$VIGIL_K8S_STATE/audit.log") - AUDIT_LINES0))
	stop_vigil
	evaluated=$(grep -o 'msg=stopped .*' "$VLOG" | grep -o ' events=[0-9]*' | cut -d= -f2)
	if [[ -n $evaluated && $evaluated == "$logged" ]]; then
		pass "[$PHASE] webhook delivered every audited event: vigil evaluated $evaluated, audit.log has $logged"
	else
		fail "[$PHASE] vigil evaluated ${evaluated:-?} events, audit.log has $logged (rejected: $(grep -o 'rejected_requests=[0-9]*' "$VLOG"))"
	fi
}

# ------------------------------------------------------------------ run

log "state in $WORK (apiserver :$VIGIL_K8S_PORT, etcd :$VIGIL_ETCD_PORT)"
"$CP" build || die "controlplane.sh build failed"
REAL_SUM=$(cat "$REAL"/* | sha256sum)
mapfile -t SCENARIOS < <(grep -oE '^[a-z0-9_]+\.jsonl' "$WANT" | sed 's/\.jsonl$//' | sort -u)
((${#SCENARIOS[@]} > 0)) || die "no scenarios in $WANT"

# ---- phase 1: embedded default rules, the test policy
start_vigil default
start_plane "$HERE/audit-policy.yaml"
capture

SA=system:serviceaccount:$NS:sa-attacker
check "Service Account Read Secrets: get of secret db-credentials by $SA from 127.0.0.1, named in the output" \
	"has sa_token_read_secrets 'Service Account Read Secrets' '.output_fields[\"ka.verb\"] == \"get\" and (.output | contains(\"serviceaccount=$SA \") and contains(\"sourceips=(127.0.0.1) \") and contains(\"verb=get \") and contains(\"secret=db-credentials \"))'"
check "Service Account Read Secrets: list of secrets in $NS by $SA" \
	"has sa_token_read_secrets 'Service Account Read Secrets' '.output_fields[\"ka.verb\"] == \"list\" and (.output | contains(\"serviceaccount=$SA \") and contains(\"verb=list \") and contains(\"ns=$NS \"))'"
check "Service Account Read Secrets: X-Forwarded-For source IP 203.0.113.50 in the output" \
	"has sa_token_read_secrets 'Service Account Read Secrets' '.output | contains(\"sourceips=(203.0.113.50,127.0.0.1) \") and contains(\"secret=db-credentials \")'"
check "Service Account Denied Secrets Access: $SA listing kube-system secrets (403)" \
	"has sa_token_read_secrets 'Service Account Denied Secrets Access' '.output_fields[\"ka.target.namespace\"] == \"kube-system\" and .output_fields[\"ka.response.code\"] == \"403\"'"
check "Interactive Session Into Pod: alice exec into pod shell (command sh)" \
	"has pod_exec 'Interactive Session Into Pod' '.output | contains(\"user=alice \") and contains(\"pod=shell \") and contains(\"action=exec \") and contains(\"command=sh \")'"
check "Interactive Session Into Pod: alice attach to pod shell" \
	"has pod_attach 'Interactive Session Into Pod' '.output | contains(\"user=alice \") and contains(\"action=attach \")'"
check "Pod Created With Privileged Container: pod priv by alice" \
	"has pod_privileged 'Pod Created With Privileged Container' '.output | contains(\"user=alice \") and contains(\"pod=priv \") and contains(\"images=(nginx:1.27) \")'"
check "Cluster-Admin Role Bound: ClusterRoleBinding alice-cluster-admin by alice" \
	"has crb_cluster_admin 'Cluster-Admin Role Bound' '.output | contains(\"user=alice \") and contains(\"binding=alice-cluster-admin \") and contains(\"role=cluster-admin \")'"
check "Wildcard Role Created: ClusterRole vigil-everything by alice" \
	"has clusterrole_wildcard 'Wildcard Role Created' '.output | contains(\"user=alice \") and contains(\"role=vigil-everything \")'"
check "DaemonSet Changed In Kube-System: node-helper by alice" \
	"has daemonset_kube_system 'DaemonSet Changed In Kube-System' '.output | contains(\"user=alice \") and contains(\"daemonset=node-helper \") and contains(\"ns=kube-system \") and contains(\"image=busybox:1.36 \")'"
check "alerts carry MITRE tags (Service Account Read Secrets: T1552.007, mitre_credential_access)" \
	"has sa_token_read_secrets 'Service Account Read Secrets' '.tags | index([\"T1552.007\"]) and index([\"mitre_credential_access\"])'"
run_checks
stop_and_count
check_latency
check_replay
for s in pod_create_benign configmap_benign; do
	n=$(alerts_of $s | wc -l)
	if [[ $n == 0 ]]; then pass "[$PHASE] benign $s raised no alert"; else fail "[$PHASE] benign $s raised $n alerts: $(alerts_of $s | jq -r .rule | paste -sd, -)"; fi
done
compare_want "${SCENARIOS[@]}"
note_setup_alerts

# ---- phase 2: the shipped policy, default rules plus Falco's upstream rules
falco_args=()
if [[ -f $FALCO_RULES ]]; then
	falco_args=(-r "$(cd "$(dirname "$FALCO_RULES")" && pwd)/$(basename "$FALCO_RULES")")
fi
start_vigil deploy -r embedded: "${falco_args[@]}"
start_plane "$DEPLOY_POLICY" "$REPO/deploy/k8s/audit-webhook.kubeconfig"
DEPLOY_SCENARIOS=()
for s in "${SCENARIOS[@]}"; do [[ $s == anonymous_allowed ]] || DEPLOY_SCENARIOS+=("$s"); done
capture "${DEPLOY_SCENARIOS[@]}"
check "Service Account Read Secrets: get of db-credentials by $SA" \
	"has sa_token_read_secrets 'Service Account Read Secrets' '.output | contains(\"serviceaccount=$SA \") and contains(\"verb=get \") and contains(\"secret=db-credentials \")'"
check "Interactive Session Into Pod: alice exec into pod shell (ResponseStarted kept)" \
	"has pod_exec 'Interactive Session Into Pod' '.output | contains(\"user=alice \") and contains(\"action=exec \")'"
if ((${#falco_args[@]})); then
	check "Falco upstream Create Privileged Pod: pod priv by alice" \
		"upstream 'Create Privileged Pod' '.output_fields[\"ka.resp.name\"] == \"priv\" and .output_fields[\"ka.user.name\"] == \"alice\" and .priority == \"Warning\"'"
	check "Falco upstream Attach/Exec Pod: alice exec into pod shell" \
		"upstream 'Attach/Exec Pod' '.output_fields[\"ka.target.name\"] == \"shell\" and .output_fields[\"ka.target.subresource\"] == \"exec\" and .output_fields[\"ka.user.name\"] == \"alice\"'"
	check "Falco upstream Attach to cluster-admin Role: alice" \
		"upstream 'Attach to cluster-admin Role' '.output_fields[\"ka.user.name\"] == \"alice\"'"
	check "Falco upstream ClusterRole With Wildcard Created: vigil-everything" \
		"upstream 'ClusterRole With Wildcard Created' '.output_fields[\"ka.target.name\"] == \"vigil-everything\"'"
else
	skip "[$PHASE] Falco upstream rules: no $FALCO_RULES (set VIGIL_FALCO_K8S_RULES)"
fi
run_checks
stop_and_count
check_latency
check_replay
compare_want "${DEPLOY_SCENARIOS[@]}"
note_setup_alerts

if [[ $(cat "$REAL"/* | sha256sum) == "$REAL_SUM" ]]; then
	pass "ruleset/testdata/real/ left untouched"
else
	fail "ruleset/testdata/real/ changed during the run"
fi

summary="$PASSED passed, $FAILED failed"
((SKIPPED)) && summary+=", $SKIPPED skipped"
echo "e2e-k8s: $summary in $(elapsed "$T0")"
((FAILED == 0))
