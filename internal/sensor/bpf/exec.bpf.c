//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
//
// Process exec/exit sensor. Attaches tp_btf programs to sched_process_exec
// and sched_process_exit and emits fixed-size struct exec_event records into
// a BPF ring buffer whose size is set by user space before load. Every failed
// ring-buffer reservation is counted in the per-CPU drops array.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define COMM_LEN 16
#define FILENAME_LEN 256
#define ARGS_LEN 256

enum event_kind {
	EVENT_KIND_EXEC = 1,
	EVENT_KIND_EXIT = 2,
};

enum event_flag {
	EVENT_FLAG_FILENAME_TRUNCATED = 1,
	EVENT_FLAG_ARGS_TRUNCATED = 2,
	EVENT_FLAG_ARGS_UNREADABLE = 4,
};

struct exec_event {
	__u64 cgroup_id;     // cgroup v2 id (inode of the cgroup directory)
	__u64 start_time_ns; // task->start_time, monotonic ns since boot
	__u32 kind;          // enum event_kind
	__u32 pid;           // thread id
	__u32 tgid;          // process id
	__u32 ppid;          // real_parent->tgid
	__u32 uid;
	__u32 gid;
	__u32 exit_code;     // raw wait status (exit events)
	__u16 filename_len;  // bytes in filename, without the NUL
	__u16 args_len;      // bytes in args, NUL separators included
	__u32 flags;         // enum event_flag
	__u32 _pad;
	char comm[COMM_LEN];
	char filename[FILENAME_LEN];
	char args[ARGS_LEN];
};

// Force BTF emission for bpf2go -type.
const struct exec_event *unused_exec_event __attribute__((unused));
const enum event_kind *unused_event_kind __attribute__((unused));
const enum event_flag *unused_event_flag __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); // overridden from user space before load
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

// tgids whose events are discarded first thing (Vigil's own processes).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} ignore_tgids SEC(".maps");

static __always_inline int ignored(__u32 tgid)
{
	return bpf_map_lookup_elem(&ignore_tgids, &tgid) != NULL;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);
	if (n)
		*n += 1;
}

static __always_inline void fill_common(struct exec_event *e, struct task_struct *task, __u32 kind)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	e->kind = kind;
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->start_time_ns = BPF_CORE_READ(task, start_time);
	e->exit_code = 0;
	e->filename_len = 0;
	e->args_len = 0;
	e->flags = 0;
	e->_pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (ignored(tgid))
		return 0;

	struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_common(e, task, EVENT_KIND_EXEC);

	long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	if (n > 0) {
		e->filename_len = n - 1;
		if (n == sizeof(e->filename))
			e->flags |= EVENT_FLAG_FILENAME_TRUNCATED;
	} else {
		e->filename[0] = 0;
	}

	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	__u64 len = arg_end - arg_start;
	if (arg_end > arg_start) {
		if (len > ARGS_LEN) {
			len = ARGS_LEN;
			e->flags |= EVENT_FLAG_ARGS_TRUNCATED;
		}
		if (bpf_probe_read_user(e->args, len, (const void *)arg_start) == 0)
			e->args_len = len;
		else
			e->flags |= EVENT_FLAG_ARGS_UNREADABLE;
	}

	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (ignored(tgid))
		return 0;

	// Report the process, not each thread: only the last live thread.
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;

	struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_common(e, task, EVENT_KIND_EXIT);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
