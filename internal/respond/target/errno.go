package target

import "syscall"

// errSrch is what reading /proc/PID of a process that just exited returns.
var errSrch = syscall.ESRCH
