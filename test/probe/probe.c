/*
 * probe — a tiny static program run inside test containers (like crun's tests/init.c): it asks the
 * kernel directly and prints one line per question, so tests assert on facts, not on busybox output.
 *
 *   probe try SYSCALL      try one system call; prints "ok" or the errno name (EPERM, ...)
 *   probe memhog MIB       allocate and touch MIB mebibytes, then print "survived"
 *   probe forks N          fork N sleeping children; prints "forked K errno NAME"
 *   probe whoami           pid ppid uid gid hostname
 *   probe climb            the chroot climb (mkdir x; chroot x; chdir ../..; chroot .): prints
 *                          "escaped" when "/" is then another directory than before, else "contained"
 *
 * The syscalls of `try` that busybox cannot make (the escape suite, test/integration/escape.test.ts):
 *   keyctl             keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING) (keyctl(2))
 *   finit_module       finit_module(fd of /probe, "", 0): /probe is no module, so past the permission
 *                      checks the kernel refuses its contents (ENOEXEC...) instead of EPERM (init_module(2))
 *   open_by_handle_at  name_to_handle_at("/") then open_by_handle_at (open_by_handle_at(2), the
 *                      "shocker" breakout of 2014)
 *   clock_settime      clock_settime(CLOCK_REALTIME, the time it just read) (clock_settime(2))
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
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
      const char *n = strerrorname_np(e);
      if (n) return n;
      snprintf(buf, sizeof buf, "errno%d", e);
      return buf;
    }
  }
}

/* A handle for "/" from name_to_handle_at, opened again by handle; -1 with errno from whichever failed. */
static long by_handle(void) {
  struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
  int mount_id, fd;
  long r;
  h->handle_bytes = MAX_HANDLE_SZ;
  if (name_to_handle_at(AT_FDCWD, "/", h, &mount_id, 0) < 0) {
    /* Without a real handle, a made-up one: the permission checks come before it is decoded. */
    h->handle_bytes = 8;
    h->handle_type = 1;
    memset(h->f_handle, 0, 8);
  }
  fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  r = fd < 0 ? -1 : open_by_handle_at(fd, h, O_RDONLY | O_CLOEXEC);
  if (r >= 0) close((int)r);
  return r;
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
  else if (!strcmp(what, "keyctl")) r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
  else if (!strcmp(what, "finit_module")) {
    int fd = open("/probe", O_RDONLY | O_CLOEXEC);
    r = fd < 0 ? -1 : syscall(SYS_finit_module, fd, "", 0);
  } else if (!strcmp(what, "open_by_handle_at")) r = by_handle();
  else if (!strcmp(what, "clock_settime")) {
    struct timespec t;
    r = clock_gettime(CLOCK_REALTIME, &t) < 0 ? -1 : clock_settime(CLOCK_REALTIME, &t);
  }
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

/* The classic chroot(2) escape: chroot into a subdirectory without entering it, so the working
 * directory stays outside the new root, climb with "..", and make that the root. It works after
 * chroot(2) (the old root is still in the mount namespace), not after pivot_root(2) + umount of the old
 * root: ".." of the namespace's root is itself (path_resolution(7)). */
static int climb(void) {
  struct stat before, after;
  if (stat("/", &before) < 0 || (mkdir("/tmp/climb", 0755) < 0 && errno != EEXIST)) { printf("setup %s\n", ename(errno)); return 1; }
  if (chroot("/tmp/climb") < 0) { printf("chroot %s\n", ename(errno)); return 0; }
  for (int i = 0; i < 64; i++) if (chdir("..") < 0) { printf("chdir %s\n", ename(errno)); return 1; }
  if (chroot(".") < 0) { printf("chroot . %s\n", ename(errno)); return 1; }
  if (stat("/", &after) < 0) { printf("stat %s\n", ename(errno)); return 1; }
  puts(before.st_dev == after.st_dev && before.st_ino == after.st_ino ? "contained" : "escaped");
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
  if (argc >= 2 && !strcmp(argv[1], "climb")) return climb();
  fprintf(stderr, "usage: probe try SYSCALL | memhog MIB | forks N | whoami | climb\n");
  return 2;
}
