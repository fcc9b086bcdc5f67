/*
 * limits-probe — the limitations lesson's small static program (built by its lab with cc -static, as
 * scripts/build-shim.mjs builds the shim). It asks the kernel directly and prints one line per
 * question, so the lesson shows the kernel's answer, not a shell's guess:
 *
 *   limits-probe exec FILE...          execve(2) each FILE in a child: "FILE: ENOEXEC (Exec format
 *                                      error)", or "FILE: ran, exit N" where a binfmt_misc handler took it
 *   limits-probe module                init_module(2) with a few bytes that are no module, then
 *                                      finit_module(2) with this program's own file: the errno of each.
 *                                      Past the permission checks the kernel refuses the contents
 *                                      (ENOEXEC, ...), so nothing is ever loaded.
 *   limits-probe handle DIR            (on the host) name_to_handle_at(2) of DIR: "TYPE:HEX"
 *   limits-probe shocker TYPE:HEX PATH open_by_handle_at(2) with that handle, on the filesystem of
 *                                      this process's "/" (the "shocker" technique of 2014), then
 *                                      openat(2) PATH below the directory it gave, and print the file
 *   limits-probe autoclear DEVICE      (on the host) set LO_FLAGS_AUTOCLEAR on the loop DEVICE
 *                                      (LOOP_GET_STATUS64, then LOOP_SET_STATUS64 with the flag added:
 *                                      loop(4)): the kernel detaches it at its last close. losetup(8)
 *                                      has no option for it (only mount -o loop sets it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "E?";
}

static int do_exec(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
      char *args[] = {argv[i], NULL};
      char *env[] = {NULL};
      execve(argv[i], args, env);
      int e = errno;
      if (write(p[1], &e, sizeof e) < 0) _exit(2);
      _exit(127);
    }
    close(p[1]);
    int e = 0, status = 0;
    ssize_t got = read(p[0], &e, sizeof e);
    close(p[0]);
    waitpid(pid, &status, 0);
    if (got == sizeof e)
      printf("%s: %s (%s)\n", argv[i], ename(e), strerror(e));
    else if (WIFEXITED(status))
      printf("%s: ran, exit %d\n", argv[i], WEXITSTATUS(status));
    else
      printf("%s: ran, killed by signal %d\n", argv[i], WTERMSIG(status));
  }
  return 0;
}

static int do_module(void) {
  static const char junk[] = "not a module";
  long r = syscall(SYS_init_module, junk, sizeof junk, "");
  printf("init_module: %s\n", r == 0 ? "ok" : ename(errno));
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  r = fd < 0 ? -1 : syscall(SYS_finit_module, fd, "", 0);
  printf("finit_module: %s\n", r == 0 ? "ok" : ename(errno));
  return 0;
}

static int do_handle(const char *dir) {
  struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
  int mount_id;
  h->handle_bytes = MAX_HANDLE_SZ;
  if (name_to_handle_at(AT_FDCWD, dir, h, &mount_id, 0) < 0) {
    printf("name_to_handle_at: %s\n", ename(errno));
    return 1;
  }
  printf("%d:", h->handle_type);
  for (unsigned i = 0; i < h->handle_bytes; i++) printf("%02x", h->f_handle[i]);
  printf("\n");
  return 0;
}

static int do_shocker(const char *spec, const char *path) {
  struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
  char *hex = strchr(spec, ':');
  if (!hex || strlen(hex + 1) / 2 > MAX_HANDLE_SZ) return 2;
  h->handle_type = atoi(spec);
  h->handle_bytes = (unsigned)strlen(hex + 1) / 2;
  for (unsigned i = 0; i < h->handle_bytes; i++) sscanf(hex + 1 + 2 * i, "%2hhx", &h->f_handle[i]);
  /* Any fd on the filesystem names it for the kernel: here the container's own root directory. */
  int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int dir = open_by_handle_at(root, h, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    printf("open_by_handle_at: %s\n", ename(errno));
    return 1;
  }
  /* A directory outside the container's root: every lookup below it is outside too. */
  int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    printf("openat %s: %s\n", path, ename(errno));
    return 1;
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  printf("open_by_handle_at: ok; %s says: %s", path, buf);
  return 0;
}

static int do_autoclear(const char *device) {
  struct loop_info64 info;
  int fd = open(device, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ioctl(fd, LOOP_GET_STATUS64, &info) < 0) {
    printf("%s: %s\n", device, ename(errno));
    return 1;
  }
  info.lo_flags |= LO_FLAGS_AUTOCLEAR;
  if (ioctl(fd, LOOP_SET_STATUS64, &info) < 0) {
    printf("LOOP_SET_STATUS64: %s\n", ename(errno));
    return 1;
  }
  printf("autoclear: ok\n");
  return 0; /* this close is not the last one: the caller holds the device open */
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 3 && strcmp(argv[1], "exec") == 0) return do_exec(argc - 2, argv + 2);
  if (argc == 2 && strcmp(argv[1], "module") == 0) return do_module();
  if (argc == 3 && strcmp(argv[1], "handle") == 0) return do_handle(argv[2]);
  if (argc == 4 && strcmp(argv[1], "shocker") == 0) return do_shocker(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "autoclear") == 0) return do_autoclear(argv[2]);
  fprintf(stderr, "usage: limits-probe exec FILE... | module | handle DIR | shocker TYPE:HEX PATH | autoclear DEVICE\n");
  return 2;
}
