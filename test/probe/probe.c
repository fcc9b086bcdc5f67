/*
 * probe — a tiny static program run inside test containers (like crun's tests/init.c): it asks the
 * kernel directly and prints one line per question, so tests assert on facts, not on busybox output.
 *
 *   probe try SYSCALL      try one system call; prints "ok" or the errno name (EPERM, ...)
 *   probe memhog MIB       allocate and touch MIB mebibytes, then print "survived"
 *   probe forks N          fork N sleeping children; prints "forked K errno NAME"
 *   probe whoami           pid ppid uid gid hostname
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

static const char *ename(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EROFS: return "EROFS";
    case ESRCH: return "ESRCH";
    case ENOMEM: return "ENOMEM";
    case EBUSY: return "EBUSY";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: {
      static char buf[32];
      snprintf(buf, sizeof buf, "errno%d", e);
      return buf;
    }
  }
}

static int try(const char *what) {
  long r = -1;
  errno = 0;
  if (!strcmp(what, "sethostname")) r = sethostname("probe", 5);
  else if (!strcmp(what, "mount")) r = mount("none", "/tmp", "tmpfs", 0, NULL);
  else if (!strcmp(what, "chown")) r = chown("/tmp", 1234, 1234);
  else if (!strcmp(what, "raw-socket")) { r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP); if (r >= 0) close((int)r); }
  else if (!strcmp(what, "mkdir")) { r = mkdir("/tmp/probe-dir", 0755); if (r == 0) rmdir("/tmp/probe-dir"); }
  else if (!strcmp(what, "unshare-user")) r = unshare(CLONE_NEWUSER);
  else if (!strcmp(what, "unshare-net")) r = unshare(CLONE_NEWNET);
  else if (!strcmp(what, "personality")) r = personality(0xffffffff) == -1 ? -1 : 0;
  else if (!strcmp(what, "kill-host-1")) r = kill(1, 0) == 0 && getpid() != 1 ? 0 : kill(99999, 0);
  else if (!strcmp(what, "getpid")) r = getpid() > 0 ? 0 : -1;
  else { fprintf(stderr, "probe: unknown syscall %s\n", what); return 2; }
  puts(r < 0 ? ename(errno) : "ok");
  return 0;
}

static int memhog(long mib) {
  for (long i = 0; i < mib; i++) {
    char *p = malloc(1 << 20);
    if (!p) { puts("ENOMEM"); return 1; }
    memset(p, 1, 1 << 20);
  }
  puts("survived");
  return 0;
}

static int forks(int n) {
  int k = 0, err = 0;
  for (; k < n; k++) {
    pid_t p = fork();
    if (p < 0) { err = errno; break; }
    if (p == 0) { signal(SIGTERM, SIG_DFL); pause(); _exit(0); }
  }
  printf("forked %d errno %s\n", k, err ? ename(err) : "none");
  fflush(stdout);
  kill(0, SIGTERM);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "try")) return try(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "memhog")) return memhog(atol(argv[2]));
  if (argc >= 3 && !strcmp(argv[1], "forks")) { signal(SIGTERM, SIG_IGN); return forks(atoi(argv[2])); }
  if (argc >= 2 && !strcmp(argv[1], "whoami")) {
    char h[256] = "";
    gethostname(h, sizeof h);
    printf("%d %d %u %u %s\n", getpid(), getppid(), getuid(), getgid(), h);
    return 0;
  }
  fprintf(stderr, "usage: probe try SYSCALL | memhog MIB | forks N | whoami\n");
  return 2;
}
