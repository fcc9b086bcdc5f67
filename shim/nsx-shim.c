/*
 * nsx-shim — the small, single-threaded C half of namespace-explorer's runtime.
 *
 * Why C at all: a multi-threaded process (Node is one) cannot unshare(CLONE_NEWUSER) (unshare(2):
 * "CLONE_NEWUSER requires that the calling process is not threaded"), and a new PID namespace applies
 * only to children created after unshare(CLONE_NEWPID) (pid_namespaces(7); runc's
 * libcontainer/nsenter/README.md says the same). So the TypeScript runtime starts this
 * program and sends it one kernel operation at a time; the process sits blocked in read(2) between
 * two operations, so anyone can inspect it (ls -l /proc/PID/ns, nsenter) while it is half built.
 *
 * All policy lives in TypeScript: what to apply, in what order, which mounts, which capabilities, the
 * seccomp program. This file only executes instructions and says exactly which syscall failed.
 *
 * Wire format, both directions: "<decimal length>\n" then that many bytes of NUL-separated fields.
 * Replies: "ok" [fields...] or "err" <errno> <syscall> <detail> <stage>; exactly one per instruction
 * (a message over MAX_MSG too: "err" EMSGSIZE "recv"). Buffers are the message's own size.
 *
 * Three processes, like runc's stages:
 *   supervisor  the process nsx starts. It forks the worker at once and stays behind in the host's
 *               namespaces and cgroup, as a child subreaper: fd 4 is its channel ("worker PID" on
 *               start, "exit code|signal N" at the end; it takes "kill SIG", "cleanup_dir DIR" and
 *               "resize ROWS COLS"). EOF on fd 4 means nsx died: it kills the container, removes the
 *               cleanup dirs, exits. With a terminal (the "console" instruction) it holds the pty's
 *               master and copies between it and its own fd 0 and fd 1, as a container's console
 *               socket holder does for runc.
 *   worker      reads instructions on fd 3 and applies them to itself (unshare, ...). On "fork" it
 *               forks PID 1 of the new PID namespace, replies with its host PID and exits.
 *   init        the child: reads the remaining instructions on fd 3 (mounts, pivot_root, ... exec).
 *               fd 3 is close-on-exec, so the runtime sees EOF when the container's command starts.
 *
 * docker exec uses the same three processes: the worker joins a running container's namespaces
 * ("setns PID") instead of creating new ones, then forks into its PID namespace.
 *
 * Stages (named in every error): "setup" in the worker, "init" in PID 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CMD_FD 3
#define SUP_FD 4
/* The largest message taken. The kernel refuses far less itself: execve(2)'s strings may use at most a
 * quarter of the stack limit and never more than 3/4 of _STK_LIM (6 MiB; fs/exec.c), so a command
 * the kernel would run always fits; a bigger message is answered EMSGSIZE, never taken for EOF. */
#define MAX_MSG ((size_t)256 << 20)
#define MAX_CLEANUP 16

static const char *stage = "setup";
static int to_supervisor = -1; /* worker and init → supervisor: PID 1's host PID, a pty master */
static char *cleanup_dirs[MAX_CLEANUP];
static int n_cleanup;

/* ---------- wire format ---------- */

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Send fields joined by NUL, prefixed by their total length. Nothing is cut: the buffer is the message's size.
 * Length and fields go in one write(2): nsx wakes once per message, not once for each part. */
static void send_fields(int fd, int n, const char **fields) {
  size_t len = 0;
  for (int i = 0; i < n; i++) len += strlen(fields[i]) + (i + 1 < n);
  char head[32];
  int h = snprintf(head, sizeof head, "%zu\n", len);
  char *buf = malloc((size_t)h + len + 1);
  if (!buf) _exit(125);
  memcpy(buf, head, (size_t)h);
  size_t at = (size_t)h;
  for (int i = 0; i < n; i++) {
    size_t l = strlen(fields[i]);
    memcpy(buf + at, fields[i], l);
    at += l;
    if (i + 1 < n) buf[at++] = '\0';
  }
  if (write_all(fd, buf, at) < 0) _exit(125);
  free(buf);
}

static void reply_ok(int n, const char **fields) {
  const char *all[16] = {"ok"};
  for (int i = 0; i < n && i < 15; i++) all[i + 1] = fields[i];
  send_fields(CMD_FD, n + 1, all);
}

static void reply_err(const char *syscall_name, const char *detail) {
  char num[16], where[64];
  snprintf(num, sizeof num, "%d", errno);
  snprintf(where, sizeof where, "%s", stage);
  const char *f[] = {"err", num, syscall_name, detail ? detail : "", where};
  send_fields(CMD_FD, 5, f);
}

/* Read one message: its number of fields, 0 at EOF, -1 with errno EMSGSIZE for a message over MAX_MSG
 * (read off and dropped, so the next message is read whole) or ENOMEM. The fields point into a buffer
 * of the message's own size, valid until the next call. */
static int recv_fields(int fd, char ***fields) {
  static char *buf;
  static char **f;
  free(buf);
  free(f);
  buf = NULL;
  f = NULL;
  char head[32];
  size_t h = 0;
  for (;;) {
    ssize_t n = read(fd, head + h, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    if (head[h] == '\n') break;
    if (++h >= sizeof head - 1) return 0; /* not this protocol: nothing more can be read in step */
  }
  head[h] = '\0';
  size_t len = strtoul(head, NULL, 10);
  buf = len > MAX_MSG ? NULL : malloc(len + 1);
  if (!buf) {
    int why = len > MAX_MSG ? EMSGSIZE : ENOMEM;
    char skip[65536];
    for (size_t left = len; left > 0;) {
      size_t k = left < sizeof skip ? left : sizeof skip;
      if (read_all(fd, skip, k) < 0) return 0;
      left -= k;
    }
    errno = why;
    return -1;
  }
  if (read_all(fd, buf, len) < 0) return 0;
  buf[len] = '\0';
  int n = 1;
  for (size_t i = 0; i < len; i++) n += buf[i] == '\0';
  f = malloc(((size_t)n + 1) * sizeof *f);
  if (!f) {
    errno = ENOMEM;
    return -1;
  }
  n = 0;
  f[n++] = buf;
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '\0') f[n++] = buf + i + 1;
  f[n] = NULL;
  *fields = f;
  return n;
}

static unsigned long long num(const char *s) { return strtoull(s, NULL, 0); }
static const char *nullable(const char *s) { return s[0] ? s : NULL; }

/* ---------- one function per instruction ---------- */

static int mkdir_p(const char *path, mode_t mode) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

/* The runc trick, see pivot_root(2) "pivot_root(".", ".")": pivot_root stacks the old root on top of
 * the new one at /; umount2(".", MNT_DETACH) then detaches it, so no put_old directory is needed
 * and no path leads back to the host's tree. */
static int do_pivot_root(const char *dir) {
  if (chdir(dir) < 0) return reply_err("chdir", dir), -1;
  if (syscall(SYS_pivot_root, ".", ".") < 0) return reply_err("pivot_root", dir), -1;
  if (umount2(".", MNT_DETACH) < 0) return reply_err("umount2", "old root"), -1;
  if (chdir("/") < 0) return reply_err("chdir", "/"), -1;
  return 0;
}

static int do_chroot(const char *dir) {
  if (chdir(dir) < 0) return reply_err("chdir", dir), -1;
  if (chroot(".") < 0) return reply_err("chroot", dir), -1;
  if (chdir("/") < 0) return reply_err("chdir", "/"), -1;
  return 0;
}

/* A new network namespace has only lo, and it is down (ip-netns(8): "ip link set lo up"). */
static int loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return reply_err("socket", "AF_INET"), -1;
  struct ifreq ifr = {0};
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return close(s), reply_err("ioctl", "SIOCGIFFLAGS lo"), -1;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return close(s), reply_err("ioctl", "SIOCSIFFLAGS lo"), -1;
  close(s);
  return 0;
}

static int do_capset(unsigned long long eff, unsigned long long perm, unsigned long long inh) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
      {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0) return reply_err("capset", NULL), -1;
  return 0;
}

/* A program compiled in TypeScript arrives as hex: decoded into a malloc'd buffer of whole `unit`-
 * sized instructions. NULL (the error replied, naming `syscall_name` and `what`) when it is empty,
 * not whole instructions, or memory runs out. */
static unsigned char *from_hex(const char *hex, size_t unit, size_t *len, const char *syscall_name, const char *what) {
  *len = strlen(hex) / 2;
  if (*len == 0 || *len % unit != 0) {
    errno = EINVAL;
    return reply_err(syscall_name, what), NULL;
  }
  unsigned char *bytes = malloc(*len);
  if (!bytes) return reply_err("malloc", NULL), NULL;
  for (size_t i = 0; i < *len; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    bytes[i] = (unsigned char)v;
  }
  return bytes;
}

/* The filter arrives as hex of struct sock_filter[] in host byte order, compiled in TypeScript. */
static int load_seccomp(unsigned flags, const char *hex) {
  size_t len;
  unsigned char *bytes = from_hex(hex, sizeof(struct sock_filter), &len, "seccomp", "malformed filter");
  if (!bytes) return -1;
  struct sock_fprog prog = {(unsigned short)(len / sizeof(struct sock_filter)), (struct sock_filter *)bytes};
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  int saved = errno;
  free(bytes);
  errno = saved;
  if (r < 0) return reply_err("seccomp", "SECCOMP_SET_MODE_FILTER"), -1;
  return 0;
}

/* Cgroup v2's device controller has no files: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE,
 * attached to the cgroup, answers every mknod(2) and open(2) of a device node by its processes (1
 * allows, 0 fails it with EPERM; Documentation/admin-guide/cgroup-v2.rst "Device controller"). The
 * program (hex of struct bpf_insn[]) is compiled in TypeScript (src/runtime/devices/ebpf.ts); it calls
 * no helper, so no GPL-only one: any license string loads (bpf(2), BPF_PROG_LOAD). Before Linux 5.11
 * programs were charged to RLIMIT_MEMLOCK (EPERM when over it): raise it, retry once, put it back so
 * the container does not inherit it. BPF_F_ALLOW_MULTI (linux/bpf.h): programs attached with it to
 * the cgroup's ancestors run as well, and any one returning 0 refuses the access. The attachment
 * lives with the cgroup (the kernel detaches it when the cgroup is removed), so both fds are closed
 * here. Replies the instruction count. */
static int cgroup_device_filter(const char *dir, const char *hex) {
  size_t len;
  unsigned char *insns = from_hex(hex, sizeof(struct bpf_insn), &len, "bpf", "malformed program");
  if (!insns) return -1;
  int cg = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (cg < 0) return free(insns), reply_err("open", dir), -1;
  union bpf_attr load;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t)(uintptr_t)insns;
  load.insn_cnt = (uint32_t)(len / sizeof(struct bpf_insn));
  load.license = (uint64_t)(uintptr_t)"MIT";
  int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
  if (prog < 0 && errno == EPERM) {
    struct rlimit old, inf = {RLIM_INFINITY, RLIM_INFINITY};
    if (getrlimit(RLIMIT_MEMLOCK, &old) == 0 && setrlimit(RLIMIT_MEMLOCK, &inf) == 0) {
      prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
      int saved = errno;
      setrlimit(RLIMIT_MEMLOCK, &old);
      errno = saved;
    } else {
      errno = EPERM; /* the load's error, not setrlimit's */
    }
  }
  free(insns);
  if (prog < 0) return close(cg), reply_err("bpf", "BPF_PROG_LOAD"), -1;
  union bpf_attr attach;
  memset(&attach, 0, sizeof attach);
  attach.target_fd = (uint32_t)cg;
  attach.attach_bpf_fd = (uint32_t)prog;
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  char what[PATH_MAX + 32];
  snprintf(what, sizeof what, "BPF_PROG_ATTACH %s", dir);
  long r = syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach);
  int saved = errno;
  close(prog);
  close(cg);
  errno = saved;
  if (r < 0) return reply_err("bpf", what), -1;
  char count[16];
  snprintf(count, sizeof count, "%u", load.insn_cnt);
  const char *f[] = {count};
  reply_ok(1, f);
  return 0;
}

/* execve with PATH search in the container's own PATH, as runc does after pivot_root.
 * Exit codes follow the shell and docker: 127 not found, 126 found but not executable. */
static void do_exec(char **f, int n) {
  int argc = (int)num(f[1]);
  if (argc < 1 || 2 + argc > n) {
    errno = EINVAL;
    reply_err("execve", "no command");
    _exit(125);
  }
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  for (int i = 0; i < argc; i++) argv[i] = f[2 + i];
  int envc = n - 2 - argc;
  char **envp = calloc((size_t)envc + 1, sizeof *envp);
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int i = 0; i < envc; i++) {
    envp[i] = f[2 + argc + i];
    if (strncmp(envp[i], "PATH=", 5) == 0) path = envp[i] + 5;
  }
  /* Die with the supervisor (prctl(2) PR_SET_PDEATHSIG): were it killed (kill -9 of its process
   * group, a service manager's SIGKILL), the container would otherwise run on with nobody to end it
   * or clean up after it. The parent-death signal goes with the parent at the time it is set, and
   * until the worker exits that is the worker: so wait for the supervisor's word that the worker is
   * gone. It is set here, after the last credential change, which would clear it; execve keeps it
   * (for a set-user-ID or file-capability binary the kernel clears it: best effort). A filter that
   * forbids recv or prctl leaves it unset. */
  char gone;
  if (to_supervisor >= 0 && recv(to_supervisor, &gone, 1, 0) == 1 && gone == 'w') prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* Every fd from 3 up, the instruction socket included, closes on exec: its EOF tells the runtime
   * the exec succeeded. */
  syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  int err = ENOENT;
  if (strchr(argv[0], '/')) {
    execve(argv[0], argv, envp);
    err = errno;
  } else {
    char cand[PATH_MAX];
    const char *p = path;
    while (*p) {
      const char *end = strchrnul(p, ':');
      snprintf(cand, sizeof cand, "%.*s/%s", (int)(end - p), p, argv[0]);
      execve(cand, argv, envp);
      if (errno != ENOENT && errno != ENOTDIR) err = errno;
      p = *end ? end + 1 : end;
    }
  }
  /* A file the kernel has no loader for (ENOEXEC: another architecture's ELF, a PE, a Mach-O) passes
   * runc's checks before start (exec.LookPath sees only a regular file with an x bit), so docker
   * reports it from inside the started container: runc's init prints "exec PATH: exec format error"
   * on the container's stderr and exits 255 (runc >= 1.2, libcontainer/init_linux.go Init(); 1
   * before). The same here: PID 1 closes the instruction socket as an exec would (the runtime sees
   * the command started), says so on fd 2 and exits 255. */
  if (err == ENOEXEC) {
    dprintf(2, "exec %s: exec format error\n", argv[0]);
    _exit(255);
  }
  errno = err;
  reply_err("execve", argv[0]);
  _exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

static int do_observe(void) {
  char pid[16], ppid[16], uid[16], gid[16], host[HOST_NAME_MAX + 1] = "", dom[256] = "", cwd[PATH_MAX] = "";
  snprintf(pid, sizeof pid, "%d", getpid());
  snprintf(ppid, sizeof ppid, "%d", getppid());
  snprintf(uid, sizeof uid, "%u", getuid());
  snprintf(gid, sizeof gid, "%u", getgid());
  gethostname(host, sizeof host);
  getdomainname(dom, sizeof dom);
  if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "?");
  /* Network interfaces of this network namespace and whether they are up: "lo:up,eth0:down". */
  char links[1024] = "";
  struct if_nameindex *ifs = if_nameindex();
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (struct if_nameindex *i = ifs; ifs && s >= 0 && i->if_index; i++) {
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", i->if_name);
    int up = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
    size_t used = strlen(links);
    snprintf(links + used, sizeof links - used, "%s%s:%s", used ? "," : "", i->if_name, up ? "up" : "down");
  }
  if (s >= 0) close(s);
  if (ifs) if_freenameindex(ifs);
  const char *f[] = {pid, ppid, uid, gid, host, dom, cwd, links};
  reply_ok(8, f);
  return 0;
}

/* A terminal for the container (docker run -t), made in the container's own devpts instance so that
 * ttyname(3) inside names /dev/pts/N (pts(4), devpts "newinstance"): open its ptmx, unlock, open the
 * peer, make the peer this process's stdin, stdout, stderr and controlling terminal (PID 1 leads its
 * own session), and hand the master to the supervisor (SCM_RIGHTS, unix(7)), which copies it to and
 * from nsx. runc does the same through its --console-socket. */
static int do_console(const char *ptmx) {
  int master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return reply_err("open", ptmx), -1;
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) return close(master), reply_err("ioctl", "TIOCSPTLCK"), -1;
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) return close(master), reply_err("ioctl", "TIOCGPTPEER"), -1;
  unsigned ptn = 0;
  ioctl(master, TIOCGPTN, &ptn);
  char one = 'c';
  struct iovec iov = {&one, 1};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (sendmsg(to_supervisor, &msg, 0) < 0) return close(master), close(slave), reply_err("sendmsg", "pty master to the supervisor"), -1;
  close(master);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) return reply_err("dup2", "pty"), -1;
  if (slave > 2) close(slave);
  if (ioctl(0, TIOCSCTTY, 0) < 0) return reply_err("ioctl", "TIOCSCTTY"), -1;
  char name[32];
  snprintf(name, sizeof name, "/dev/pts/%u", ptn);
  const char *f[] = {name};
  reply_ok(1, f);
  return 0;
}

/* docker exec: join a running container's namespaces, in nsenter(1)'s order (the user namespace
 * first: it owns the others), skipping those this process is already in (setns(2) refuses to re-enter
 * its own user namespace). All are opened before any is entered: after the mount namespace /proc is
 * the container's. Entering a mount namespace sets the root to the namespace's root mount; the
 * container's own root (a chroot, for the chroot lesson) is taken from /proc/PID/root, as nsenter -r.
 * The PID namespace applies only to the children created afterwards (setns(2)): fork follows.
 * The time namespace is joined at once (timens_install() sets time_ns and time_ns_for_children). */
static int do_setns(const char *pid) {
  static const char *names[] = {"user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt"};
  enum { N = sizeof names / sizeof *names };
  int fds[N];
  char path[64], joined[128] = "";
  for (int i = 0; i < N; i++) {
    fds[i] = -1;
    snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, names[i]);
    struct stat theirs, mine;
    if (stat(path, &theirs) < 0) {
      if (errno == ENOENT && strcmp(names[i], "time") == 0) continue; /* a kernel before 5.6 */
      for (int k = 0; k < i; k++) if (fds[k] >= 0) close(fds[k]);
      return reply_err("open", path), -1;
    }
    char self[64];
    snprintf(self, sizeof self, "/proc/self/ns/%s", names[i]);
    if (stat(self, &mine) == 0 && mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev) continue;
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) return reply_err("open", path), -1;
  }
  snprintf(path, sizeof path, "/proc/%s/root", pid);
  int root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return reply_err("open", path), -1;
  for (int i = 0; i < N; i++) {
    if (fds[i] < 0) continue;
    if (setns(fds[i], 0) < 0) {
      snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, names[i]);
      return reply_err("setns", path), -1;
    }
    close(fds[i]);
    size_t used = strlen(joined);
    snprintf(joined + used, sizeof joined - used, "%s%s", used ? "," : "", names[i]);
  }
  if (fchdir(root) < 0) return reply_err("fchdir", "/proc/PID/root"), -1;
  if (chroot(".") < 0) return reply_err("chroot", "/proc/PID/root"), -1;
  close(root);
  if (chdir("/") < 0) return reply_err("chdir", "/"), -1;
  const char *f[] = {joined};
  reply_ok(1, f);
  return 0;
}

/* ---------- the supervisor ---------- */

/* Remove the directories (the container's cgroups) the runtime registered; their processes are
 * gone, but a dying PID namespace takes a moment to be reaped, hence the EBUSY retries. */
static void remove_cleanup_dirs(void) {
  for (int i = 0; i < n_cleanup; i++)
    for (int tries = 0; tries < 50 && rmdir(cleanup_dirs[i]) < 0 && errno == EBUSY; tries++) usleep(20000);
}

/* Returns -1 when nsx is no longer there to hear it. */
static int report_exit(int status) {
  char kind[16], val[16];
  if (WIFSIGNALED(status)) {
    strcpy(kind, "signal");
    snprintf(val, sizeof val, "%d", WTERMSIG(status));
  } else {
    strcpy(kind, "code");
    snprintf(val, sizeof val, "%d", WEXITSTATUS(status));
  }
  char msg[64];
  size_t body = (size_t)snprintf(msg, sizeof msg, "exit%c%s%c%s", 0, kind, 0, val);
  char head[16];
  int h = snprintf(head, sizeof head, "%zu\n", body);
  return write_all(SUP_FD, head, (size_t)h) < 0 || write_all(SUP_FD, msg, body) < 0 ? -1 : 0;
}

/* After the report, nsx reads the cgroup's counters (an OOM kill?) and removes the cgroup itself,
 * then closes fd 4. Wait for that close, then remove whatever is left: if nsx died in between, the
 * directories would otherwise stay behind. */
static void finish_after_report(int reported) {
  if (reported == 0) {
    char **f;
    while (recv_fields(SUP_FD, &f) != 0) {}
  }
  remove_cleanup_dirs();
  _exit(0);
}

/* From the worker or PID 1: "p<pid>" (PID 1's host PID), or a pty master passed as SCM_RIGHTS.
 * Returns -1 at the end (the command was executed, closing PID 1's end). */
static int from_child(int sock, pid_t *init, int *master) {
  char buf[32] = "";
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl;
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
  ssize_t r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (r < 0 && errno == EINTR) return 0;
  if (r <= 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(master, CMSG_DATA(c), sizeof(int));
  else if (buf[0] == 'p') *init = (pid_t)atoi(buf + 1);
  return 0;
}

static void set_winsize(int master, unsigned rows, unsigned cols) {
  struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
  if (master >= 0 && rows && cols) ioctl(master, TIOCSWINSZ, &ws);
}

/* Copies what the container wrote to its terminal to fd 1: 1 when it copied some, 0 when there is
 * nothing now, -1 once nothing more can come (read(2) on a master whose every slave is closed fails
 * with EIO). */
static int pump_master(int master) {
  char buf[16384];
  ssize_t n = read(master, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) return -1;
  write_all(1, buf, (size_t)n);
  return 1;
}

/* The supervisor stays in the host's namespaces and cgroup for the container's whole life. It is a
 * child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), so when the worker forks PID 1 and exits, PID 1
 * becomes the supervisor's child. It reports how the container ended, obeys "kill SIG", and when
 * the runtime dies (EOF on fd 4) at any step, kills what it has and removes the cleanup dirs. With
 * a terminal it also copies fd 0 to the pty master and the master to fd 1. */
static void supervise(pid_t worker, int from_worker) {
  stage = "supervisor";
  pid_t init = 0;
  int master = -1, in_open = 1;
  unsigned rows = 0, cols = 0;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  for (;;) {
    struct pollfd p[5] = {{SUP_FD, POLLIN, 0}, {sfd, POLLIN, 0}, {from_worker, POLLIN, 0}, {master, POLLIN, 0}, {master >= 0 && in_open ? 0 : -1, POLLIN, 0}};
    if (poll(p, 5, -1) < 0 && errno != EINTR) break;
    /* The runtime's messages first, all of them, then its EOF: when nsx dies, the worker sees EOF on
     * fd 3 and exits too, and the "cleanup_dir"s still queued here must not be lost to that exit. */
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char **f;
      int n = recv_fields(SUP_FD, &f);
      if (n == 0) break; /* the runtime is gone: take the container with us */
      if (n < 0) continue; /* nothing nsx sends here is that big: ignore it */
      if (strcmp(f[0], "kill") == 0 && n > 1) kill(init ? init : worker, (int)num(f[1]));
      else if (strcmp(f[0], "cleanup_dir") == 0 && n > 1 && n_cleanup < MAX_CLEANUP) cleanup_dirs[n_cleanup++] = strdup(f[1]);
      else if (strcmp(f[0], "resize") == 0 && n > 2) set_winsize(master, rows = (unsigned)num(f[1]), cols = (unsigned)num(f[2]));
      continue;
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      int had = master;
      if (from_child(from_worker, &init, &master) < 0) { close(from_worker); from_worker = -1; }
      if (had < 0 && master >= 0) set_winsize(master, rows, cols);
    }
    if (p[3].revents & (POLLIN | POLLHUP | POLLERR) && pump_master(master) < 0) { close(master); master = -1; }
    if (p[4].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n = read(0, buf, sizeof buf);
      if (n > 0) write_all(master, buf, (size_t)n);
      else if (n == 0 || errno != EINTR) in_open = 0; /* the input closed: a terminal has no EOF of its own */
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) < 0) { /* drained; waitpid decides */ }
    }
    int status;
    pid_t w;
    while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
      if (w == init || (w == worker && init == 0)) { /* the container (or, before fork, the worker) ended */
        if (master >= 0) { /* what it wrote last is still in the terminal: pass it on first */
          fcntl(master, F_SETFL, O_NONBLOCK);
          while (pump_master(master) > 0) {}
        }
        finish_after_report(report_exit(status));
      }
      /* The worker is gone and PID 1 is the supervisor's child now: tell PID 1, which then asks to
       * die with the supervisor (do_exec). */
      if (w == worker && from_worker >= 0 && write(from_worker, "w", 1) < 0) { /* PID 1 already executed: nothing to tell */ }
    }
  }
  if (init) kill(init, SIGKILL);
  kill(worker, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0) {}
  remove_cleanup_dirs();
  _exit(0);
}

/* ---------- the instruction loop ---------- */

/* One branch per instruction. The TypeScript side names the same set, with their fields, in
 * src/runtime/shim-ops.ts (ShimOp); test/unit/shim-ops.test.ts fails if the two disagree. */
static int run(char **f, int n) {
  const char *op = f[0];
#define NEED(k) do { if (n < (k) + 1) { errno = EINVAL; reply_err(op, "missing arguments"); return 1; } } while (0)
#define CHECK(call, name, detail) do { if ((call) < 0) { reply_err(name, detail); return 1; } } while (0)
  if (strcmp(op, "unshare") == 0) { NEED(1); CHECK(unshare((int)num(f[1])), "unshare", f[1]); }
  else if (strcmp(op, "fork") == 0) {
    pid_t pid = fork();
    if (pid < 0) { reply_err("fork", NULL); return 1; }
    if (pid > 0) { /* the worker's job ends here: PID 1 carries on, adopted by the supervisor */
      char p[16], msg[17];
      snprintf(p, sizeof p, "%d", pid);
      snprintf(msg, sizeof msg, "p%s", p);
      if (write_all(to_supervisor, msg, strlen(msg)) < 0) _exit(125);
      const char *r[] = {p};
      reply_ok(1, r);
      _exit(0);
    }
    stage = "init"; /* to_supervisor stays open (close-on-exec) for a console's pty master */
    /* A session of its own, as runc's init does: the container's kill(0, sig) or a hang-up of its
     * terminal must not reach nsx or the learner's shell (credentials(7), setsid(2)). */
    if (setsid() < 0) _exit(125); /* cannot fail: a new child leads no process group */
    return 2; /* the child answers nothing: the worker already replied with its pid */
  }
  else if (strcmp(op, "mount") == 0) {
    NEED(5);
    CHECK(mount(nullable(f[1]), f[2], nullable(f[3]), num(f[4]), nullable(f[5])), "mount", f[2]);
  }
  else if (strcmp(op, "mkdir") == 0) { NEED(2); CHECK(mkdir_p(f[1], (mode_t)num(f[2])), "mkdir", f[1]); }
  else if (strcmp(op, "touch") == 0) {
    NEED(1);
    int fd = open(f[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd, "open", f[1]);
    close(fd);
  }
  else if (strcmp(op, "symlink") == 0) {
    NEED(2);
    if (symlink(f[1], f[2]) < 0 && errno != EEXIST) { reply_err("symlink", f[2]); return 1; }
  }
  else if (strcmp(op, "write") == 0) {
    NEED(2);
    int fd = open(f[1], O_WRONLY | O_CLOEXEC);
    CHECK(fd, "open", f[1]);
    ssize_t w = write(fd, f[2], strlen(f[2]));
    int saved = errno;
    close(fd);
    errno = saved;
    CHECK(w, "write", f[1]);
  }
  else if (strcmp(op, "pivot_root") == 0) { NEED(1); if (do_pivot_root(f[1]) < 0) return 1; }
  else if (strcmp(op, "chroot") == 0) { NEED(1); if (do_chroot(f[1]) < 0) return 1; }
  else if (strcmp(op, "chdir") == 0) { NEED(1); CHECK(chdir(f[1]), "chdir", f[1]); }
  else if (strcmp(op, "sethostname") == 0) { NEED(1); CHECK(sethostname(f[1], strlen(f[1])), "sethostname", f[1]); }
  else if (strcmp(op, "setdomainname") == 0) { NEED(1); CHECK(setdomainname(f[1], strlen(f[1])), "setdomainname", f[1]); }
  else if (strcmp(op, "loopback_up") == 0) { if (loopback_up() < 0) return 1; }
  else if (strcmp(op, "no_new_privs") == 0) { CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl", "PR_SET_NO_NEW_PRIVS"); }
  else if (strcmp(op, "keep_caps") == 0) { NEED(1); CHECK(prctl(PR_SET_KEEPCAPS, num(f[1]), 0, 0, 0), "prctl", "PR_SET_KEEPCAPS"); }
  else if (strcmp(op, "bset_drop") == 0) {
    for (int i = 1; i < n; i++) CHECK(prctl(PR_CAPBSET_DROP, num(f[i]), 0, 0, 0), "prctl", "PR_CAPBSET_DROP");
  }
  else if (strcmp(op, "capset") == 0) { NEED(3); if (do_capset(num(f[1]), num(f[2]), num(f[3])) < 0) return 1; }
  else if (strcmp(op, "setgroups") == 0) {
    gid_t g[64];
    int k = 0;
    for (int i = 1; i < n && k < 64; i++) g[k++] = (gid_t)num(f[i]);
    CHECK(setgroups((size_t)k, g), "setgroups", NULL);
  }
  else if (strcmp(op, "setresgid") == 0) { NEED(1); gid_t g = (gid_t)num(f[1]); CHECK(setresgid(g, g, g), "setresgid", f[1]); }
  else if (strcmp(op, "setresuid") == 0) { NEED(1); uid_t u = (uid_t)num(f[1]); CHECK(setresuid(u, u, u), "setresuid", f[1]); }
  else if (strcmp(op, "seccomp") == 0) { NEED(2); if (load_seccomp((unsigned)num(f[1]), f[2]) < 0) return 1; }
  else if (strcmp(op, "cgroup_device_filter") == 0) { NEED(2); return cgroup_device_filter(f[1], f[2]) < 0 ? 1 : 0; }
  else if (strcmp(op, "observe") == 0) return do_observe();
  else if (strcmp(op, "console") == 0) { NEED(1); return do_console(f[1]) < 0 ? 1 : 0; }
  else if (strcmp(op, "setns") == 0) { NEED(1); return do_setns(f[1]) < 0 ? 1 : 0; }
  else if (strcmp(op, "exec") == 0) { NEED(1); do_exec(f, n); }
  else { errno = ENOSYS; reply_err(op, "unknown instruction"); return 1; }
  reply_ok(0, NULL);
  return 0;
}

int main(void) {
  /* The runtime, not the terminal, decides when we stop: Ctrl-C goes to nsx, which cleans up. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTSTP, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL); /* SIGCHLD is read through a signalfd by the supervisor */
  if (fcntl(CMD_FD, F_SETFD, FD_CLOEXEC) < 0 || fcntl(SUP_FD, F_SETFD, FD_CLOEXEC) < 0) {
    fprintf(stderr, "nsx-shim: fds 3 and 4 must be open; this program is started by nsx, not by hand\n");
    return 125;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    perror("nsx-shim: prctl(PR_SET_CHILD_SUBREAPER)");
    return 125;
  }
  int pipefd[2]; /* [0] the supervisor's end, [1] the worker's (and PID 1's): records, fds */
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pipefd) < 0) {
    perror("nsx-shim: socketpair");
    return 125;
  }
  pid_t supervisor = getpid();
  pid_t worker = fork();
  if (worker < 0) {
    perror("nsx-shim: fork");
    return 125;
  }
  if (worker > 0) {
    close(pipefd[1]);
    close(CMD_FD);
    char w[16];
    snprintf(w, sizeof w, "%d", worker);
    const char *hello[] = {"worker", w};
    send_fields(SUP_FD, 2, hello);
    supervise(worker, pipefd[0]); /* never returns */
  }
  /* The worker: every instruction, in the namespaces it creates, until fork hands over to PID 1. */
  stage = "setup";
  close(pipefd[0]);
  close(SUP_FD);
  to_supervisor = pipefd[1];
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != supervisor) _exit(125); /* the supervisor died before PDEATHSIG was armed */
  char **f;
  int n;
  /* Instructions may arrive pipelined (non-stepped runs send many at once). After the first failure
   * nothing more is executed: every later instruction is answered ECANCELED, so a failed pivot_root
   * can never be followed by operations meant for the container's root. */
  int failed = 0;
  while ((n = recv_fields(CMD_FD, &f)) != 0) {
    if (n < 0) { /* too big to take: answered like any failed instruction, never read as EOF */
      reply_err("recv", errno == EMSGSIZE ? "message over the shim's 256 MiB limit" : "message");
      failed = 1;
      continue;
    }
    if (failed) {
      errno = ECANCELED;
      reply_err(f[0], "not run: an earlier instruction failed");
      continue;
    }
    if (run(f, n) == 1) failed = 1;
  }
  /* EOF: the runtime is gone (or closed the channel) before an exec. The command did not run, so
   * this is never status 0 (docker's 125: the runtime failed); the supervisor cleans up. */
  _exit(125);
}
