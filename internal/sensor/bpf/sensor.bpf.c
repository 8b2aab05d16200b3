//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
//
// Vigil's runtime sensor. Tracepoints and BTF tracepoints only (no kprobes,
// no fentry, no LSM):
//
//   tp_btf/sched_process_exec  exec: exe path, argv, env, cwd, creds, tty
//   tp_btf/sched_process_fork  fork/clone of processes and threads
//   tp_btf/sched_process_exit  exit of a process (last thread)
//   tp_btf/sys_exit            every other system call, filtered in the
//                              kernel by the per-syscall table `syscalls`
//
// A system call is captured once, when it returns, with its arguments read
// back from the saved user registers (as Falco's modern probe does), its
// string arguments (paths) read from user memory (the kernel has faulted
// them in), the socket address argument, and the kernel's view of the file
// descriptor it concerns (inode, flags, socket tuple, path). Records have a
// fixed header and a variable tail (strings) and are copied into the BPF ring
// buffer; wake-ups are batched: user space is only woken once WAKEUP_BYTES
// are pending or for a lifecycle event, and polls with a short timeout.
// Every record that does not fit in the ring buffer is counted in the
// per-CPU `drops` array.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define COMM_LEN 16
#define STR_MAX 4096          // one string argument or path, NUL included
#define SCRATCH_SIZE 16384    // per-CPU record buffer
#define HDR_MASK 0x1fff       // bound for string offsets
#define MAX_PATH_DEPTH 48     // components of a path walked in the kernel
#define SOCKADDR_MAX 112      // sizeof(struct sockaddr_un) rounded up
#define NR_SYSCALLS 512
#define ARGS_MAX 4096         // argv bytes read at exec
#define ENV_MAX 2048          // environment bytes read at exec

#define AT_FDCWD -100
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define O_CLOEXEC_BIT 02000000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

enum event_kind {
	EVENT_KIND_EXEC = 1,
	EVENT_KIND_EXIT = 2,
	EVENT_KIND_SYSCALL = 3,
	EVENT_KIND_FORK = 4,
};

enum event_flag {
	EVENT_FLAG_FILENAME_TRUNCATED = 1,
	EVENT_FLAG_ARGS_TRUNCATED = 2,
	EVENT_FLAG_ARGS_UNREADABLE = 4,
	EVENT_FLAG_ENV_TRUNCATED = 8,
	EVENT_FLAG_EXE_UPPER_LAYER = 16,
	EVENT_FLAG_EXE_MEMFD = 32,
	EVENT_FLAG_IS_THREAD = 64,   // fork: the child is a thread
	EVENT_FLAG_FD_INFO = 128,    // syscall: fd_* fields are set
	EVENT_FLAG_SOCK_INFO = 256,  // syscall: sk_* fields are set
	EVENT_FLAG_PATH_TRUNCATED = 512,
	EVENT_FLAG_EXE_WRITABLE = 1024,
};

// Per-syscall capture descriptor, written by user space.
enum sc_flag {
	SC_ENABLED = 1,
	SC_FD_RET = 2,         // the return value is a new fd: describe it
	SC_FD_PATH = 4,        // walk the described fd's path in the kernel
	SC_SOCKADDR_LENPTR = 8,// the sockaddr length argument is a pointer (accept)
	SC_SKIP_SUCCESS = 16,  // only failures (execve: success comes from sched_process_exec)
	SC_PIPE = 32,          // arg0 is int[2] (pipe, pipe2): read both fds
};

struct sc_desc {
	__u8 flags;        // enum sc_flag
	__u8 str_mask;     // bit i: argument i is a user string
	__u8 fd_arg;       // 1 + index of the fd argument to describe, 0 for none
	__u8 sockaddr_arg; // 1 + index of a struct sockaddr * argument, 0 for none
	__u8 sockaddr_len; // 1 + index of its length argument
	__u8 _pad[3];
};

struct exec_event {
	__u32 kind;          // enum event_kind
	__u32 pid;           // thread id
	__u64 cgroup_id;     // cgroup v2 id (inode of the cgroup directory)
	__u64 start_time_ns; // task->start_boottime, ns since boot (CLOCK_BOOTTIME)
	__u64 ts;            // bpf_ktime_get_boot_ns()
	__u32 tgid;          // process id
	__u32 ppid;          // real_parent->tgid
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 loginuid;
	__u32 tty;           // (major << 20) | minor, as in /proc/PID/stat
	__u32 exit_code;     // raw wait status (exit events)
	__u32 flags;         // enum event_flag
	__u32 vpid;          // pid in the task's pid namespace
	__u32 sid;
	__u32 pgid;
	__u16 syscall_nr;    // execve or execveat
	__u16 filename_len;  // bytes in filename, NUL excluded
	__u16 args_len;      // bytes in args, NUL separators included
	__u16 env_len;
	__u16 exe_len;       // bytes of exe path (tail of exe_buf)
	__u16 cwd_len;
	__u64 cap_permitted;
	__u64 cap_effective;
	__u64 cap_inheritable;
	__u64 exe_ino;
	__u64 exe_ctime_ns;  // ns since the epoch
	__u64 exe_mtime_ns;
	__u64 pidns_init_start_ns;
	char comm[COMM_LEN];
	char filename[256];
	char args[ARGS_MAX];
	char env[ENV_MAX];
	char exe[STR_MAX + 256]; // path written backwards: the exe_len bytes before exe[STR_MAX]
	char cwd[STR_MAX + 256]; // same for the working directory
};

struct fork_event {
	__u32 kind;
	__u32 pid;           // parent thread
	__u64 cgroup_id;
	__u64 start_time_ns; // child's
	__u64 ts;
	__u32 tgid;          // parent process
	__u32 child_pid;
	__u32 child_tgid;
	__u32 flags;         // EVENT_FLAG_IS_THREAD
	__u32 child_vpid;
	__u32 _pad;
};

struct syscall_event {
	__u32 kind;          // EVENT_KIND_SYSCALL
	__u32 pid;
	__u64 cgroup_id;
	__u64 ts;
	__u32 tgid;
	__u32 uid;
	__u32 gid;
	__u32 flags;
	__s64 ret;
	__u64 args[6];
	__u16 nr;
	__u16 str_len[3];    // bytes of each string argument (NUL excluded), in str_mask order
	__u16 path_len;      // bytes of the described fd's path
	__u16 sockaddr_len;  // bytes of sockaddr
	__u16 fd_mode;       // i_mode of the described fd's inode
	__u16 sk_family;
	__u16 sk_type;
	__u16 sk_proto;
	__u16 sk_sport;      // host order
	__u16 sk_dport;
	__u32 fd_flags;      // f_flags
	__u32 fd_dev;
	__u64 fd_ino;
	__u32 pipe_fds[2];
	__u8 sk_saddr[16];
	__u8 sk_daddr[16];
	__u8 sockaddr[SOCKADDR_MAX];
	// Followed by the strings (str_len[0..2]) and the fd path (path_len),
	// each without NUL, back to back.
};

// Force BTF emission for bpf2go -type.
const struct exec_event *unused_exec_event __attribute__((unused));
const struct fork_event *unused_fork_event __attribute__((unused));
const struct syscall_event *unused_syscall_event __attribute__((unused));
const struct sc_desc *unused_sc_desc __attribute__((unused));
const enum event_kind *unused_event_kind __attribute__((unused));
const enum event_flag *unused_event_flag __attribute__((unused));
const enum sc_flag *unused_sc_flag __attribute__((unused));

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

// Per-CPU count of records submitted, for /metrics.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} submitted SEC(".maps");

// tgids whose events are discarded first thing (Vigil's own processes).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} ignore_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SYSCALLS);
	__type(key, __u32);
	__type(value, struct sc_desc);
} syscalls SEC(".maps");

// Room for one path walked backwards (ending at STR_MAX) and read back.
struct path_buf {
	char buf[2 * STR_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_buf);
} path_scratch SEC(".maps");

struct scratch {
	__u8 buf[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} exec_scratch SEC(".maps");

// Batching of wake-ups: user space sets wakeup_bytes (0: wake on every record).
volatile const __u64 wakeup_bytes = 0;
// Boot time offset is applied in user space.

// arm64's pt_regs, for CO-RE relocation against an arm64 kernel (vmlinux.h
// is generated on x86_64).
struct pt_regs___vigil_arm64 {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
	__u64 orig_x0;
	__s32 syscallno;
} __attribute__((preserve_access_index));

static __always_inline int ignored(__u32 tgid)
{
	return bpf_map_lookup_elem(&ignore_tgids, &tgid) != NULL;
}

static __always_inline void count(void *map)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(map, &zero);
	if (n)
		*n += 1;
}

static __always_inline __u64 wake_flags(int force)
{
	if (force || wakeup_bytes == 0)
		return BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline int output(void *data, __u64 len, int force)
{
	if (bpf_ringbuf_output(&events, data, len, wake_flags(force)) < 0) {
		count(&drops);
		return -1;
	}
	count(&submitted);
	return 0;
}

// Path walks run under bpf_loop so that the verifier checks one step once
// instead of every unrolled iteration. The walk state holds only scalars;
// the destination buffer is looked up by the step itself.
enum walk_dst {
	WALK_PATH_SCRATCH = 0, // path_scratch.buf
	WALK_EXEC_EXE = 1,     // exec_scratch.exe
	WALK_EXEC_CWD = 2,     // exec_scratch.cwd
};

struct walk_state {
	__u64 dentry;
	__u64 mnt; // struct mount *
	__u64 root_dentry;
	__u64 root_mnt; // struct vfsmount *
	__u32 off;
	__u32 dst;
	__u32 truncated;
	__u32 _pad;
};

static __always_inline char *walk_buf(__u32 dst)
{
	__u32 zero = 0;
	if (dst == WALK_PATH_SCRATCH) {
		struct path_buf *p = bpf_map_lookup_elem(&path_scratch, &zero);
		return p ? p->buf : NULL;
	}
	struct exec_event *e = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!e)
		return NULL;
	return dst == WALK_EXEC_EXE ? e->exe : e->cwd;
}

static long walk_step(__u64 index, void *ctx)
{
	struct walk_state *w = ctx;
	struct dentry *dentry = (struct dentry *)w->dentry;
	struct mount *mnt = (struct mount *)w->mnt;
	struct vfsmount *cur_vfs = &mnt->mnt;

	if (dentry == (struct dentry *)w->root_dentry && cur_vfs == (struct vfsmount *)w->root_mnt)
		return 1;
	struct dentry *mnt_root = BPF_CORE_READ(cur_vfs, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	int last = 0;
	if (dentry == mnt_root) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt)
			return 1; // the top of the tree
		w->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = (__u64)mnt_parent;
		return 0;
	}
	if (dentry == parent)
		last = 1; // a pseudo file (memfd, pipe...): its name is the whole path
	struct qstr name = BPF_CORE_READ(dentry, d_name);
	__u32 len = name.len;
	__u32 off = w->off;
	if (len == 0 || len > 255 || off > STR_MAX || len + 1 > off) {
		w->truncated = 1;
		return 1;
	}
	char *buf = walk_buf(w->dst);
	if (!buf)
		return 1;
	off -= len;
	if (bpf_probe_read_kernel(buf + (off & (STR_MAX - 1)), len & 255, name.name) < 0)
		return 1;
	off -= 1;
	buf[off & (STR_MAX - 1)] = '/';
	w->off = off;
	w->dentry = (__u64)parent;
	return last;
}

// path_walk writes the path of (mnt, dentry) as seen from the task's root
// backwards into the buffer dst, ending before buf[STR_MAX] (no NUL), and
// returns its length. It stops at the task's root, at the top of the mount
// tree, or after MAX_PATH_DEPTH components (the path is then marked
// truncated).
static __always_inline __u32 path_walk(struct vfsmount *vfsmnt, struct dentry *dentry,
				       struct task_struct *task, __u32 dst, __u32 *flags)
{
	struct path root = BPF_CORE_READ(task, fs, root);
	struct walk_state w = {
		.dentry = (__u64)dentry,
		.mnt = (__u64)container_of(vfsmnt, struct mount, mnt),
		.root_dentry = (__u64)root.dentry,
		.root_mnt = (__u64)root.mnt,
		.off = STR_MAX,
		.dst = dst,
	};
	long n = bpf_loop(MAX_PATH_DEPTH, walk_step, &w, 0);
	if (w.truncated || n >= MAX_PATH_DEPTH)
		*flags |= EVENT_FLAG_PATH_TRUNCATED;
	__u32 off = w.off;
	if (off >= STR_MAX) {
		char *buf = walk_buf(dst);
		if (!buf)
			return 0;
		buf[STR_MAX - 1] = '/';
		return 1;
	}
	return STR_MAX - off;
}

static __always_inline __u64 timespec_ns(__s64 sec, __u32 nsec)
{
	return (__u64)sec * 1000000000ULL + nsec;
}

static __always_inline __u32 task_tty(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	int major = BPF_CORE_READ(tty, driver, major);
	int minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	return ((__u32)major << 20) | (__u32)minor;
}

static __always_inline __u32 task_vpid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	return BPF_CORE_READ(pid, numbers[level & 31].nr);
}

static __always_inline unsigned long syscall_arg(struct pt_regs *regs, int i)
{
#if defined(__TARGET_ARCH_x86)
	switch (i) {
	case 0: return BPF_CORE_READ(regs, di);
	case 1: return BPF_CORE_READ(regs, si);
	case 2: return BPF_CORE_READ(regs, dx);
	case 3: return BPF_CORE_READ(regs, r10);
	case 4: return BPF_CORE_READ(regs, r8);
	case 5: return BPF_CORE_READ(regs, r9);
	}
#elif defined(__TARGET_ARCH_arm64)
	// x0 holds the return value at exit: the first argument is orig_x0.
	struct pt_regs___vigil_arm64 *r = (struct pt_regs___vigil_arm64 *)regs;
	if (i == 0)
		return BPF_CORE_READ(r, orig_x0);
	return BPF_CORE_READ(r, regs[i & 7]);
#endif
	return 0;
}

static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ((struct pt_regs___vigil_arm64 *)regs, syscallno);
#endif
	return -1;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (ignored(tgid))
		return 0;

	__u32 zero = 0;
	struct exec_event *e = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!e)
		return 0;

	__u64 uid_gid = bpf_get_current_uid_gid();
	e->kind = EVENT_KIND_EXEC;
	e->pid = (__u32)pid_tgid;
	e->tgid = tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->euid = BPF_CORE_READ(task, cred, euid.val);
	e->egid = BPF_CORE_READ(task, cred, egid.val);
	e->loginuid = BPF_CORE_READ(task, loginuid.val);
	e->cap_permitted = BPF_CORE_READ(task, cred, cap_permitted.val);
	e->cap_effective = BPF_CORE_READ(task, cred, cap_effective.val);
	e->cap_inheritable = BPF_CORE_READ(task, cred, cap_inheritable.val);
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->start_time_ns = BPF_CORE_READ(task, start_boottime);
	e->ts = bpf_ktime_get_boot_ns();
	e->exit_code = 0;
	e->flags = 0;
	e->tty = task_tty(task);
	e->vpid = task_vpid(task);
	e->sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID], numbers[0].nr);
	e->pgid = BPF_CORE_READ(task, signal, pids[PIDTYPE_PGID], numbers[0].nr);
	e->pidns_init_start_ns = 0;
	{
		struct pid *p = BPF_CORE_READ(task, thread_pid);
		unsigned int level = BPF_CORE_READ(p, level);
		struct pid_namespace *ns = BPF_CORE_READ(p, numbers[level & 31].ns);
		struct task_struct *reaper = BPF_CORE_READ(ns, child_reaper);
		if (reaper)
			e->pidns_init_start_ns = BPF_CORE_READ(reaper, start_boottime);
	}
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	e->syscall_nr = syscall_nr(regs);

	long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	e->filename_len = 0;
	if (n > 0) {
		e->filename_len = n - 1;
		if (n == sizeof(e->filename))
			e->flags |= EVENT_FLAG_FILENAME_TRUNCATED;
	}

	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	__u64 len = arg_end - arg_start;
	e->args_len = 0;
	if (arg_end > arg_start) {
		if (len > ARGS_MAX) {
			len = ARGS_MAX;
			e->flags |= EVENT_FLAG_ARGS_TRUNCATED;
		}
		__u32 l = len;
		if (l > ARGS_MAX)
			l = ARGS_MAX;
		if (bpf_probe_read_user(e->args, l, (const void *)arg_start) == 0)
			e->args_len = len;
		else
			e->flags |= EVENT_FLAG_ARGS_UNREADABLE;
	}

	unsigned long env_start = BPF_CORE_READ(task, mm, env_start);
	unsigned long env_end = BPF_CORE_READ(task, mm, env_end);
	len = env_end - env_start;
	e->env_len = 0;
	if (env_end > env_start) {
		if (len > ENV_MAX) {
			len = ENV_MAX;
			e->flags |= EVENT_FLAG_ENV_TRUNCATED;
		}
		__u32 l = len;
		if (l > ENV_MAX)
			l = ENV_MAX;
		if (bpf_probe_read_user(e->env, l, (const void *)env_start) == 0)
			e->env_len = len;
	}

	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	e->exe_len = 0;
	e->exe_ino = 0;
	e->exe_ctime_ns = 0;
	e->exe_mtime_ns = 0;
	if (exe) {
		struct inode *ino = BPF_CORE_READ(exe, f_inode);
		e->exe_ino = BPF_CORE_READ(ino, i_ino);
		e->exe_ctime_ns = timespec_ns(BPF_CORE_READ(ino, i_ctime_sec), BPF_CORE_READ(ino, i_ctime_nsec));
		e->exe_mtime_ns = timespec_ns(BPF_CORE_READ(ino, i_mtime_sec), BPF_CORE_READ(ino, i_mtime_nsec));
		if (BPF_CORE_READ(ino, i_nlink) == 0) {
			// An unlinked executable: a memfd (or a deleted file).
			struct qstr dn = BPF_CORE_READ(exe, f_path.dentry, d_name);
			char pfx[6] = {};
			bpf_probe_read_kernel(pfx, 6, dn.name);
			if (pfx[0] == 'm' && pfx[1] == 'e' && pfx[2] == 'm' && pfx[3] == 'f' && pfx[4] == 'd' && pfx[5] == ':')
				e->flags |= EVENT_FLAG_EXE_MEMFD;
		}
		unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);
		if (magic == OVERLAYFS_SUPER_MAGIC) {
			struct ovl_inode *oi = container_of(ino, struct ovl_inode, vfs_inode);
			struct dentry *upper = BPF_CORE_READ(oi, __upperdentry);
			struct ovl_entry *oe = BPF_CORE_READ(oi, oe);
			unsigned int nlower = oe ? BPF_CORE_READ(oe, __numlower) : 0;
			if (upper && nlower == 0)
				e->flags |= EVENT_FLAG_EXE_UPPER_LAYER;
		}
		__u32 pf = 0;
		e->exe_len = path_walk(BPF_CORE_READ(exe, f_path.mnt), BPF_CORE_READ(exe, f_path.dentry), task, WALK_EXEC_EXE, &pf);
		if (pf)
			e->flags |= EVENT_FLAG_FILENAME_TRUNCATED;
	}
	{
		__u32 pf = 0;
		struct path pwd = BPF_CORE_READ(task, fs, pwd);
		e->cwd_len = path_walk(pwd.mnt, pwd.dentry, task, WALK_EXEC_CWD, &pf);
	}

	// The per-CPU scratch is shared with any exec that preempted this one
	// on this CPU: if it did, the record is another exec's; drop ours
	// (counted) rather than emit a mix.
	if (e->pid != (__u32)pid_tgid || e->tgid != tgid) {
		count(&drops);
		return 0;
	}
	output(e, sizeof(*e), 1);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (ignored(tgid))
		return 0;
	struct fork_event e = {};
	e.kind = EVENT_KIND_FORK;
	e.pid = (__u32)pid_tgid;
	e.tgid = tgid;
	e.child_pid = BPF_CORE_READ(child, pid);
	e.child_tgid = BPF_CORE_READ(child, tgid);
	e.child_vpid = task_vpid(child);
	e.start_time_ns = BPF_CORE_READ(child, start_boottime);
	e.cgroup_id = bpf_get_current_cgroup_id();
	e.ts = bpf_ktime_get_boot_ns();
	if (e.child_pid != e.child_tgid)
		e.flags |= EVENT_FLAG_IS_THREAD;
	output(&e, sizeof(e), 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (ignored(tgid))
		return 0;
	// Report the process, not each thread: only the last live thread.
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	struct fork_event e = {};
	e.kind = EVENT_KIND_EXIT;
	e.pid = (__u32)pid_tgid;
	e.tgid = tgid;
	e.child_pid = BPF_CORE_READ(task, exit_code); // the wait status
	e.start_time_ns = BPF_CORE_READ(task, start_boottime);
	e.cgroup_id = bpf_get_current_cgroup_id();
	e.ts = bpf_ktime_get_boot_ns();
	output(&e, sizeof(e), 0);
	return 0;
}


static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

// describe_fd fills the fd_* and sk_* fields for fd; with want_path it also
// walks the file's path into the scratch tail at *off and returns its length.
static __always_inline void describe_fd(struct syscall_event *e, struct task_struct *task, long fd)
{
	struct file *f = fd_file(task, fd);
	if (!f)
		return;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	e->fd_mode = BPF_CORE_READ(ino, i_mode);
	e->fd_ino = BPF_CORE_READ(ino, i_ino);
	e->fd_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->fd_flags = BPF_CORE_READ(f, f_flags);
	{
		// close-on-exec lives in the fd table, not in f_flags: report
		// it as O_CLOEXEC so user space can drop the fd at exec.
		struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
		unsigned long *coe = BPF_CORE_READ(fdt, close_on_exec);
		unsigned long word = 0;
		bpf_probe_read_kernel(&word, sizeof(word), &coe[fd / 64]);
		if (word & (1UL << (fd % 64)))
			e->fd_flags |= O_CLOEXEC_BIT;
	}
	e->flags |= EVENT_FLAG_FD_INFO;
	if ((e->fd_mode & S_IFMT) != S_IFSOCK)
		return;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return;
	e->flags |= EVENT_FLAG_SOCK_INFO;
	e->sk_family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sk_type = BPF_CORE_READ(sk, sk_type);
	e->sk_proto = BPF_CORE_READ(sk, sk_protocol);
	if (e->sk_family == AF_INET) {
		bpf_probe_read_kernel(e->sk_saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_probe_read_kernel(e->sk_daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (e->sk_family == AF_INET6) {
		bpf_probe_read_kernel(e->sk_saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_probe_read_kernel(e->sk_daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	e->sk_sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->sk_dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = syscall_nr(regs);
	if (nr < 0 || nr >= NR_SYSCALLS)
		return 0;
	__u32 key = nr;
	struct sc_desc *d = bpf_map_lookup_elem(&syscalls, &key);
	if (!d || !(d->flags & SC_ENABLED))
		return 0;
	if ((d->flags & SC_SKIP_SUCCESS) && ret >= 0)
		return 0;

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (ignored(tgid))
		return 0;

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct syscall_event *e = (struct syscall_event *)s->buf;
	__builtin_memset(e, 0, sizeof(*e));

	__u64 uid_gid = bpf_get_current_uid_gid();
	e->kind = EVENT_KIND_SYSCALL;
	e->pid = (__u32)pid_tgid;
	e->tgid = tgid;
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ts = bpf_ktime_get_boot_ns();
	e->nr = nr;
	e->ret = ret;
	for (int i = 0; i < 6; i++)
		e->args[i] = syscall_arg(regs, i);

	__u8 flags = d->flags;
	__u8 str_mask = d->str_mask;
	__u8 fd_arg = d->fd_arg;
	__u8 sa_arg = d->sockaddr_arg;
	__u8 sa_len_arg = d->sockaddr_len;

	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	long fd = -1;
	if (flags & SC_FD_RET)
		fd = ret;
	else if (fd_arg > 0 && fd_arg <= 6)
		fd = (long)(int)e->args[(fd_arg - 1) & 7];
	if (fd >= 0)
		describe_fd(e, task, fd);

	if (flags & SC_PIPE && ret == 0)
		bpf_probe_read_user(e->pipe_fds, sizeof(e->pipe_fds), (void *)e->args[0]);

	if (sa_arg > 0 && sa_arg <= 6) {
		void *sa = (void *)e->args[(sa_arg - 1) & 7];
		__u64 salen = 0;
		if (sa_len_arg > 0 && sa_len_arg <= 6) {
			__u64 v = e->args[(sa_len_arg - 1) & 7];
			if (flags & SC_SOCKADDR_LENPTR) {
				__u32 l = 0;
				if (v)
					bpf_probe_read_user(&l, sizeof(l), (void *)v);
				salen = l;
			} else {
				salen = v;
			}
		}
		if (sa && salen > 0) {
			if (salen > SOCKADDR_MAX)
				salen = SOCKADDR_MAX;
			if (bpf_probe_read_user(e->sockaddr, salen & 127, sa) == 0)
				e->sockaddr_len = salen & 127;
		}
	}

	__u32 off = sizeof(*e);
	int slot = 0;
	for (int i = 0; i < 6; i++) {
		if (!(str_mask & (1 << i)))
			continue;
		if (slot >= 3)
			break;
		void *p = (void *)e->args[i];
		long n = 0;
		if (p) {
			n = bpf_probe_read_user_str(s->buf + (off & HDR_MASK), STR_MAX, p);
			if (n > 0)
				n -= 1; // drop the NUL
			else
				n = 0;
		}
		e->str_len[slot & 3] = n;
		off = (off & HDR_MASK) + n;
		slot++;
	}

	if ((flags & SC_FD_PATH) && (e->flags & EVENT_FLAG_FD_INFO) && (e->fd_mode & S_IFMT) != S_IFSOCK) {
		struct file *f = fd_file(task, fd);
		if (f) {
			// Walk into the per-CPU path buffer, then copy the path
			// after the strings.
			struct path_buf *x = bpf_map_lookup_elem(&path_scratch, &zero);
			if (x) {
				__u32 pf = 0;
				__u32 plen = path_walk(BPF_CORE_READ(f, f_path.mnt), BPF_CORE_READ(f, f_path.dentry), task, WALK_PATH_SCRATCH, &pf);
				if (plen > 0 && plen < STR_MAX) {
					__u32 o = off & HDR_MASK;
					bpf_probe_read_kernel(s->buf + o, plen & (STR_MAX - 1), x->buf + ((STR_MAX - plen) & (STR_MAX - 1)));
					e->path_len = plen & (STR_MAX - 1);
					off = o + e->path_len;
				}
				if (pf)
					e->flags |= EVENT_FLAG_PATH_TRUNCATED;
			}
		}
	}

	__u64 len = off;
	if (len > SCRATCH_SIZE)
		return 0;
	output(s->buf, len, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
