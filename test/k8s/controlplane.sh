#!/usr/bin/env bash
# controlplane.sh: a real single-node Kubernetes control plane (etcd +
# kube-apiserver, no kubelet) on 127.0.0.1 for Vigil's k8s audit tests.
#
#   controlplane.sh build             install etcd-server (Debian), build kube-apiserver once
#   controlplane.sh start [WEBHOOK]   start etcd + kube-apiserver; audit to a file and,
#                                     when WEBHOOK is a URL, to that webhook (batch, ~1 s)
#   controlplane.sh stop              stop both, keep the state dir (audit log stays)
#   controlplane.sh env               print shell variables (eval "$(controlplane.sh env)")
#   controlplane.sh status            exit 0 when the apiserver is ready
#
# Environment:
#   VIGIL_CACHE        build cache, default /var/cache/vigil (binary: $VIGIL_CACHE/kube-apiserver/kube-apiserver)
#   VIGIL_K8S_STATE    state dir (certs, tokens, etcd data, logs), default ${TMPDIR:-/tmp}/vigil-k8s
#   VIGIL_K8S_PORT     apiserver secure port, default 36443
#   VIGIL_ETCD_PORT    etcd client port, default 32379 (peer port is +1)
#   VIGIL_AUDIT_POLICY audit policy file, default test/k8s/audit-policy.yaml
#   VIGIL_AUDIT_WEBHOOK_CONFIG  webhook kubeconfig to start from (e.g.
#                      deploy/k8s/audit-webhook.kubeconfig): its server: URL is
#                      replaced by WEBHOOK; default: a minimal one is generated
#   VIGIL_K8S_RESET=1  start from an empty etcd (default keeps the data of a previous run)
set -euo pipefail

K8S_VERSION=v1.37.2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${VIGIL_CACHE:-/var/cache/vigil}
BIN_DIR=$CACHE/kube-apiserver
APISERVER_BIN=$BIN_DIR/kube-apiserver
STATE=${VIGIL_K8S_STATE:-${TMPDIR:-/tmp}/vigil-k8s}
PORT=${VIGIL_K8S_PORT:-36443}
ETCD_PORT=${VIGIL_ETCD_PORT:-32379}
ETCD_PEER_PORT=$((ETCD_PORT + 1))
POLICY=${VIGIL_AUDIT_POLICY:-$HERE/audit-policy.yaml}
HOST=127.0.0.1
URL=https://$HOST:$PORT

log() { printf 'controlplane: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

now_ms() { date +%s%3N; }

build() {
	if ! command -v etcd >/dev/null; then
		log "installing etcd-server (Debian)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null \
			|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null; }
	fi
	for tool in openssl curl jq; do
		command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
	done
	# The binary is rebuilt only when the module's go.mod/go.sum/main.go change.
	local stamp
	stamp=$(cat "$HERE/apiserver/go.mod" "$HERE/apiserver/go.sum" "$HERE/apiserver/main.go" | sha256sum | cut -c1-16)
	if [[ -x $APISERVER_BIN && -f $BIN_DIR/stamp && $(cat "$BIN_DIR/stamp") == "$stamp" ]]; then
		log "kube-apiserver $K8S_VERSION up to date: $APISERVER_BIN"
		return
	fi
	mkdir -p "$BIN_DIR"
	log "building kube-apiserver $K8S_VERSION into $APISERVER_BIN (several minutes)"
	local t0 pkg=k8s.io/component-base/version
	t0=$(now_ms)
	(cd "$HERE/apiserver" && CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${K8S_VERSION#v1.} -X $pkg.gitTreeState=clean" \
		-o "$APISERVER_BIN.tmp" .)
	mv "$APISERVER_BIN.tmp" "$APISERVER_BIN"
	echo "$stamp" >"$BIN_DIR/stamp"
	log "built in $(( ($(now_ms) - t0) / 1000 )) s"
}

# gen_pki writes a CA, the apiserver serving cert, the service-account key
# pair and a static token file with random tokens. Kept across restarts.
gen_pki() {
	local d=$STATE/pki
	[[ -f $d/done ]] && return
	mkdir -p "$d"
	(
		cd "$d"
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
			-subj "/CN=vigil-test-ca" -keyout ca.key -out ca.crt 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj "/CN=kube-apiserver" -keyout apiserver.key -out apiserver.csr 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf
		openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
			-extfile ext.cnf -out apiserver.crt 2>/dev/null
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
		openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
		# token,user,uid,"group1,group2"
		local admin user viewer
		admin=$(openssl rand -hex 16) user=$(openssl rand -hex 16) viewer=$(openssl rand -hex 16)
		{
			echo "$admin,vigil-admin,uid-admin,\"system:masters\""
			echo "$user,alice,uid-alice,\"devs\""
			echo "$viewer,bob,uid-bob,\"viewers\""
		} >tokens.csv
		rm -f apiserver.csr ext.cnf
		touch ./done
	)
}

# write_webhook_kubeconfig URL writes the audit webhook kubeconfig.
write_webhook_kubeconfig() {
	if [[ -n ${VIGIL_AUDIT_WEBHOOK_CONFIG:-} ]]; then
		grep -qE '^[[:space:]]*server:' "$VIGIL_AUDIT_WEBHOOK_CONFIG" || die "no server: in $VIGIL_AUDIT_WEBHOOK_CONFIG"
		sed -E "s#^([[:space:]]*server:[[:space:]]*).*#\1$1#" "$VIGIL_AUDIT_WEBHOOK_CONFIG" >"$STATE/audit-webhook.kubeconfig"
		return
	fi
	cat >"$STATE/audit-webhook.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: vigil
  cluster:
    server: $1
    insecure-skip-tls-verify: $([[ $1 == https:* ]] && echo true || echo false)
contexts:
- name: vigil
  context: {cluster: vigil, user: apiserver}
users:
- name: apiserver
  user: {}
current-context: vigil
EOF
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

ready() { curl -sf --cacert "$STATE/pki/ca.crt" "$URL/readyz" >/dev/null 2>&1; }

start() {
	local webhook=${1:-}
	[[ -x $APISERVER_BIN ]] || die "no $APISERVER_BIN: run '$0 build' first"
	command -v etcd >/dev/null || die "no etcd: run '$0 build' first"
	[[ -f $POLICY ]] || die "no audit policy $POLICY"
	if pid_alive "$STATE/apiserver.pid" && ready && [[ $(cat "$STATE/webhook-url" 2>/dev/null) == "$webhook" ]]; then
		log "already running at $URL"
		return
	fi
	stop >/dev/null 2>&1 || true
	[[ ${VIGIL_K8S_RESET:-0} == 1 ]] && rm -rf "$STATE/etcd"
	mkdir -p "$STATE"
	gen_pki
	local t0
	t0=$(now_ms)

	# etcd: the Debian build of 3.4 needs no flags beyond addresses; plain
	# HTTP on loopback keeps it simple (the apiserver is the only client).
	setsid nohup etcd --name vigil --data-dir "$STATE/etcd" \
		--listen-client-urls "http://$HOST:$ETCD_PORT" --advertise-client-urls "http://$HOST:$ETCD_PORT" \
		--listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
		--initial-cluster "vigil=http://$HOST:$ETCD_PEER_PORT" \
		--listen-metrics-urls "http://$HOST:$((ETCD_PORT + 2))" \
		--quota-backend-bytes $((512 * 1024 * 1024)) --log-level warn \
		>"$STATE/etcd.log" 2>&1 </dev/null &
	echo $! >"$STATE/etcd.pid"
	for _ in $(seq 100); do
		curl -sf "http://$HOST:$ETCD_PORT/health" >/dev/null 2>&1 && break
		pid_alive "$STATE/etcd.pid" || die "etcd exited: $(tail -5 "$STATE/etcd.log")"
		sleep 0.1
	done

	local audit_webhook=()
	if [[ -n $webhook ]]; then
		write_webhook_kubeconfig "$webhook"
		audit_webhook=(
			--audit-webhook-config-file="$STATE/audit-webhook.kubeconfig"
			--audit-webhook-mode=batch
			--audit-webhook-batch-max-wait=500ms
			--audit-webhook-batch-max-size=100
			--audit-webhook-initial-backoff=1s
		)
	fi
	echo "$webhook" >"$STATE/webhook-url"
	local p=$STATE/pki
	setsid nohup "$APISERVER_BIN" \
		--bind-address=$HOST --advertise-address=$HOST --secure-port="$PORT" \
		--endpoint-reconciler-type=none \
		--etcd-servers="http://$HOST:$ETCD_PORT" \
		--tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
		--client-ca-file="$p/ca.crt" \
		--token-auth-file="$p/tokens.csv" \
		--anonymous-auth=true --allow-privileged=true \
		--authorization-mode=Node,RBAC \
		--kubelet-preferred-address-types=InternalIP \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
		--service-cluster-ip-range=10.96.0.0/16 \
		--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,DefaultStorageClass,ResourceQuota \
		--disable-admission-plugins=PodSecurity \
		--audit-policy-file="$POLICY" \
		--audit-log-path="$STATE/audit.log" --audit-log-format=json --audit-log-mode=blocking \
		--audit-log-maxsize=100 --audit-log-maxbackup=1 \
		"${audit_webhook[@]}" \
		--profiling=false --v=1 \
		>"$STATE/apiserver.log" 2>&1 </dev/null &
	echo $! >"$STATE/apiserver.pid"
	for _ in $(seq 600); do
		ready && break
		pid_alive "$STATE/apiserver.pid" || die "kube-apiserver exited: $(tail -20 "$STATE/apiserver.log")"
		sleep 0.2
	done
	ready || die "kube-apiserver not ready after 120 s: see $STATE/apiserver.log"
	log "ready at $URL in $(( $(now_ms) - t0 )) ms (state $STATE)"
}

stop_pid() {
	local f=$1 pid
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	fi
	rm -f "$f"
}

stop() {
	stop_pid "$STATE/apiserver.pid"
	stop_pid "$STATE/etcd.pid"
	log "stopped"
}

token() { awk -F, -v u="$1" '$2 == u {print $1}' "$STATE/pki/tokens.csv"; }

print_env() {
	[[ -f $STATE/pki/tokens.csv ]] || die "no state in $STATE: run '$0 start' first"
	cat <<EOF
APISERVER=$URL
K8S_CA=$STATE/pki/ca.crt
K8S_ADMIN_TOKEN=$(token vigil-admin)
K8S_USER_TOKEN=$(token alice)
K8S_VIEWER_TOKEN=$(token bob)
K8S_AUDIT_LOG=$STATE/audit.log
K8S_STATE=$STATE
EOF
}

case ${1:-} in
build) build ;;
start) start "${2:-}" ;;
stop) stop ;;
env) print_env ;;
status) ready ;;
*) die "usage: $0 build|start [WEBHOOK_URL]|stop|env|status" ;;
esac
