/* nsx-tryas: makes one write as another process, for `nsx check security-modules`.
 *
 *   nsx-tryas PID PATH    prints "ok" when process PID could create the directory PATH, else the
 *                         errno name (EACCES...); exit 0 either way, 1 when it could not ask.
 *
 * A Landlock domain cannot be read from outside the process (landlock(7): no /proc field, no
 * /proc/PID/attr file), and an AppArmor profile is only a name there: the truthful test of "may this
 * process write there" is to make the write as that very process. This tool does what a debugger's
 * `call` does (ptrace(2)): it attaches (PTRACE_SEIZE), lets the process reach its next system call
 * (PTRACE_INTERRUPT, then PTRACE_SYSCALL to the syscall-enter stop), replaces that call by
 * mkdirat(AT_FDCWD, PATH, 0700) with PATH written below its stack pointer, reads the result at the
 * syscall-exit stop, then restores the registers and memory so the original call is made again, and
 * detaches. The kernel checks the mkdirat against the process's own credentials and LSM domains.
 * x86_64 and aarch64. Kept apart from the shim, as nsx-landlock is. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__aarch64__) && !defined(NT_ARM_SYSTEM_CALL)
#define NT_ARM_SYSTEM_CALL 0x404 /* elf.h: the syscall number at a syscall stop */
#endif
#if defined(__x86_64__)
typedef struct user_regs_struct regs_t;
#define SP(r) ((r).rsp)
#elif defined(__aarch64__)
typedef struct user_pt_regs regs_t;
#define SP(r) ((r).sp)
#else
#error "nsx-tryas: x86_64 or aarch64 only"
#endif

static pid_t pid;

static int getregs(regs_t *r) {
  struct iovec io = {r, sizeof *r};
  return (int)ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &io);
}
static int setregs(regs_t *r) {
  struct iovec io = {r, sizeof *r};
  return (int)ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &io);
}

/* Waits for the next stop; passes on signals meant for the process; 1 at a syscall stop. */
static int next_syscall_stop(void) {
  int sig = 0;
  for (;;) {
    if (ptrace(PTRACE_SYSCALL, pid, 0, (void *)(long)sig) != 0) return -1;
    int st;
    if (waitpid(pid, &st, __WALL) != pid || !WIFSTOPPED(st)) return -1;
    sig = 0;
    if (WSTOPSIG(st) == (SIGTRAP | 0x80)) return 1;
    if (st >> 16 == PTRACE_EVENT_STOP) continue; /* group-stop or the interrupt's stop */
    sig = WSTOPSIG(st);                          /* a signal for the process: deliver it */
  }
}

static const char *errname(int e) {
  switch (e) {
  case EACCES: return "EACCES";
  case EPERM: return "EPERM";
  case EROFS: return "EROFS";
  case EEXIST: return "EEXIST";
  case ENOENT: return "ENOENT";
  }
  static char other[16];
  snprintf(other, sizeof other, "errno %d", e);
  return other;
}

static void timeout(int s) {
  (void)s;
  /* The tracer's exit detaches the process (ptrace(2)); it was not changed while we waited. */
  fprintf(stderr, "nsx-tryas: process %d made no system call within 5 seconds\n", pid);
  _exit(1);
}

int main(int argc, char **argv) {
  if (argc != 3 || (pid = atoi(argv[1])) <= 0 || argv[2][0] != '/') {
    fprintf(stderr, "usage: nsx-tryas PID /ABSOLUTE/PATH\n");
    return 1;
  }
  size_t len = strlen(argv[2]) + 1;
  if (len > 1024) return 1;
  signal(SIGALRM, timeout);
  alarm(5);
  if (ptrace(PTRACE_SEIZE, pid, 0, (void *)PTRACE_O_TRACESYSGOOD) != 0) {
    fprintf(stderr, "nsx-tryas: ptrace(PTRACE_SEIZE, %d): %s\n", pid, strerror(errno));
    return 1;
  }
  int st;
  if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0 || waitpid(pid, &st, __WALL) != pid) return 1;
  if (next_syscall_stop() != 1) return 1; /* the enter stop of its next (or restarted) call */
  alarm(0);
  regs_t saved, r;
  if (getregs(&saved) != 0) return 1;
  r = saved;
  /* PATH goes 4 KiB below the stack pointer: past x86_64's 128-byte red zone, within the stack. */
  uintptr_t at = (SP(saved) - 4096 - len) & ~(uintptr_t)15;
  char old[1024];
  char memfile[64];
  snprintf(memfile, sizeof memfile, "/proc/%d/mem", pid);
  int mem = open(memfile, O_RDWR | O_CLOEXEC);
  int ok = mem >= 0 && pread(mem, old, len, (off_t)at) == (ssize_t)len && pwrite(mem, argv[2], len, (off_t)at) == (ssize_t)len;
  long result = -EIO;
  if (ok) {
#if defined(__x86_64__)
    r.orig_rax = SYS_mkdirat;
    r.rdi = (unsigned long)AT_FDCWD;
    r.rsi = at;
    r.rdx = 0700;
    ok = setregs(&r) == 0 && next_syscall_stop() == 1 && getregs(&r) == 0;
    if (ok) result = (long)r.rax;
    /* Back to the original call: the registers as they were, the instruction pointer back on the
     * 2-byte `syscall`, its number in rax (which the enter stop shows as -ENOSYS). */
    saved.rip -= 2;
    saved.rax = saved.orig_rax;
#else
    int nr = SYS_mkdirat;
    struct iovec io = {&nr, sizeof nr};
    r.regs[0] = (unsigned long)AT_FDCWD;
    r.regs[1] = at;
    r.regs[2] = 0700;
    ok = setregs(&r) == 0 && ptrace(PTRACE_SETREGSET, pid, (void *)NT_ARM_SYSTEM_CALL, &io) == 0 &&
         next_syscall_stop() == 1 && getregs(&r) == 0;
    if (ok) result = (long)r.regs[0];
    /* Back to the original call: its registers (x8 still holds its number), pc on the 4-byte svc. */
    saved.pc -= 4;
#endif
    pwrite(mem, old, len, (off_t)at);
  }
  if (setregs(&saved) != 0) fprintf(stderr, "nsx-tryas: could not restore process %d's registers\n", pid);
  ptrace(PTRACE_DETACH, pid, 0, 0);
  if (!ok) {
    fprintf(stderr, "nsx-tryas: could not make the call as process %d\n", pid);
    return 1;
  }
  printf("%s\n", result == 0 ? "ok" : errname((int)-result));
  return 0;
}
