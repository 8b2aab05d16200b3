package container

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	idA = "a92c4ee7dab8c01e961324ee216e499f7f85ca6d3b0550c2cf1f653dc6eae73f"
	idB = "3f1a9d0c2b7e4f5a6b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"
)

func TestParseCgroupPath(t *testing.T) {
	tests := []struct {
		name, path string
		runtime    string
		id         string
		ok         bool
	}{
		// Docker.
		{"docker cgroupfs", "/docker/" + idA, RuntimeDocker, idA, true},
		{"docker cgroupfs trailing slash", "/docker/" + idA + "/", RuntimeDocker, idA, true},
		{"docker systemd", "/system.slice/docker-" + idA + ".scope", RuntimeDocker, idA, true},
		{"docker in docker", "/docker/" + idA + "/docker/" + idB, RuntimeDocker, idB, true},
		{"docker sub-cgroup of container", "/docker/" + idA + "/init.scope", RuntimeDocker, idA, true},
		// containerd outside Kubernetes.
		{"containerd default namespace", "/default/" + idA, RuntimeContainerd, idA, true},
		{"containerd other namespace", "/buildkit/" + idA, RuntimeContainerd, idA, true},
		{"containerd systemd", "/system.slice/default-" + idA + ".scope", RuntimeContainerd, idA, true},
		// Kubernetes, cgroupfs driver: the runtime is not in the path.
		{"kubepods besteffort", "/kubepods/besteffort/pod0f2c3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b/" + idA, "", idA, true},
		{"kubepods guaranteed", "/kubepods/pod0f2c3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b/" + idA, "", idA, true},
		{"kubepods crio cgroupfs", "/kubepods/burstable/pod0f2c3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b/crio-" + idA, RuntimeCRIO, idA, true},
		// Kubernetes, systemd driver.
		{"kubepods systemd cri-containerd", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f2c3a4e_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-" + idA + ".scope", RuntimeContainerd, idA, true},
		{"kubepods systemd crio", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f2c3a4e_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/crio-" + idA + ".scope", RuntimeCRIO, idA, true},
		{"kubepods systemd docker", "/kubepods.slice/kubepods-pod0f2c3a4e_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/docker-" + idA + ".scope", RuntimeDocker, idA, true},
		{"kubepods systemd unknown prefix", "/kubepods.slice/kubepods-pod0f2c3a4e_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/other-" + idA + ".scope", "", idA, true},
		{"kind node nested", "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1.slice/cri-containerd-" + idA + ".scope", RuntimeContainerd, idA, true},
		// Podman.
		{"podman cgroupfs", "/libpod_parent/libpod-" + idA, RuntimePodman, idA, true},
		{"podman cgroupfs ctr sub-cgroup", "/libpod_parent/libpod-" + idA + "/ctr", RuntimePodman, idA, true},
		{"podman pod cgroupfs", "/libpod_parent/" + idB + "/libpod-" + idA, RuntimePodman, idA, true},
		{"podman systemd", "/machine.slice/libpod-" + idA + ".scope", RuntimePodman, idA, true},
		{"podman systemd container sub-cgroup", "/machine.slice/libpod-" + idA + ".scope/container", RuntimePodman, idA, true},
		{"podman rootless", "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + idA + ".scope", RuntimePodman, idA, true},
		// Host processes and runtime helpers.
		{"root", "/", "", "", false},
		{"empty", "", "", "", false},
		{"machine process_api", "/process_api/bf970dcf09ecde2f5e8cdc417ff09d60", "", "", false},
		{"machine process_api 64 hex", "/process_api/" + idA, "", "", false},
		{"systemd service", "/system.slice/ssh.service", "", "", false},
		{"init scope", "/init.scope", "", "", false},
		{"user session", "/user.slice/user-0.slice/session-3.scope", "", "", false},
		{"docker parent only", "/docker", "", "", false},
		{"pod level cgroupfs", "/kubepods/besteffort/pod0f2c3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "", "", false},
		{"pod level systemd", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f2c3a4e_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice", "", "", false},
		{"crio conmon", "/kubepods.slice/kubepods-pod1.slice/crio-conmon-" + idA + ".scope", "", "", false},
		{"libpod conmon", "/machine.slice/libpod-conmon-" + idA + ".scope", "", "", false},
		{"short id", "/docker/a92c4ee7dab8", "", "", false},
		{"uppercase id", "/docker/" + strings.ToUpper(idA), "", "", false},
		{"63 hex", "/docker/" + idA[:63], "", "", false},
		{"65 hex", "/docker/" + idA + "0", "", "", false},
		{"non-hex", "/docker/" + idA[:63] + "g", "", "", false},
		{"service with id-like suffix", "/system.slice/docker-" + idA[:40] + ".service", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, id, ok := ParseCgroupPath(tt.path)
			require.Equal(t, tt.ok, ok, "ok")
			require.Equal(t, tt.runtime, rt, "runtime")
			require.Equal(t, tt.id, id, "id")
		})
	}
}

func TestParseProcCgroup(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    ProcCgroup
		wantErr string
	}{
		{
			name: "host of this machine: v1 memory in /process_api",
			data: "9:name=systemd:/\n4:memory:/process_api/bf970dcf09ecde2f5e8cdc417ff09d60\n1:cpu:/\n0::/\n",
			want: ProcCgroup{V2Path: "/"},
		},
		{
			name: "docker hybrid",
			data: "4:memory:/docker/" + idA + "\n0::/docker/" + idA + "\n",
			want: ProcCgroup{V2Path: "/docker/" + idA, Path: "/docker/" + idA, Runtime: RuntimeDocker, ID: idA},
		},
		{
			name: "v1 only container, v2 at root",
			data: "4:memory:/process_api/bf970dcf09ecde2f5e8cdc417ff09d60\n3:pids:/docker/" + idA + "\n0::/\n",
			want: ProcCgroup{V2Path: "/", Path: "/docker/" + idA, Runtime: RuntimeDocker, ID: idA},
		},
		{
			name: "pure v2",
			data: "0::/system.slice/docker-" + idA + ".scope\n",
			want: ProcCgroup{V2Path: "/system.slice/docker-" + idA + ".scope", Path: "/system.slice/docker-" + idA + ".scope", Runtime: RuntimeDocker, ID: idA},
		},
		{
			name: "no trailing newline, pure v1",
			data: "2:cpu,cpuacct:/kubepods/besteffort/pod1/" + idA,
			want: ProcCgroup{Path: "/kubepods/besteffort/pod1/" + idA, ID: idA},
		},
		{name: "garbage", data: "0::/\nnonsense\n", wantErr: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcCgroup([]byte(tt.data))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseCgroupPath(f *testing.F) {
	f.Add("/docker/" + idA)
	f.Add("/kubepods.slice/kubepods-pod1.slice/crio-" + idA + ".scope")
	f.Add("/process_api/x")
	f.Fuzz(func(t *testing.T, p string) {
		rt, id, ok := ParseCgroupPath(p)
		if ok {
			require.True(t, isContainerID(id), id)
			require.Contains(t, p, id)
		} else {
			require.Empty(t, rt+id)
		}
	})
}

func BenchmarkParseCgroupPath(b *testing.B) {
	paths := []string{
		"/docker/" + idA,
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f2c3a4e_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-" + idA + ".scope",
		"/process_api/bf970dcf09ecde2f5e8cdc417ff09d60",
		"/user.slice/user-0.slice/session-3.scope",
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range paths {
			ParseCgroupPath(p)
		}
	}
}
