/* nsx-landlock: the security-modules lesson's small Landlock tool, kept apart from the shim.
 *
 *   nsx-landlock --abi                       print the Landlock ABI version this kernel offers
 *   nsx-landlock [-w DIR]... -- COMMAND...   make everything read-only except beneath each DIR, then
 *                                            execute COMMAND in that sandbox
 *
 * Landlock (landlock(7); the kernel's Documentation/userspace-api/landlock.rst) lets any process,
 * without privilege, restrict itself: landlock_create_ruleset(2) makes a ruleset that "handles" a set
 * of access rights (those become denied by default), landlock_add_rule(2) allows some of them beneath
 * a directory, and landlock_restrict_self(2) enforces the ruleset on the calling thread, for good:
 * the domain is inherited by its children and kept across execve(2), and can only be narrowed.
 * landlock_restrict_self needs no_new_privs (or CAP_SYS_ADMIN in its user namespace), so this tool
 * sets it first (prctl(2), PR_SET_NO_NEW_PRIVS).
 *
 * The write rights handled depend on the ABI (landlock.rst, "Backward and forward compatibility"):
 * ABI 1 (Linux 5.13) has WRITE_FILE, REMOVE_*, MAKE_*; ABI 2 (5.19) adds REFER; ABI 3 (6.2) adds
 * TRUNCATE. Reading, executing and ABI 5's IOCTL_DEV (ioctl on devices, not a write) are not handled:
 * they stay allowed.
 * Debian 12's setpriv (util-linux 2.38) has no --landlock-access, busybox has no Landlock applet, and
 * Node.js cannot make these system calls: hence this tool. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset /* the same numbers on every architecture (asm-generic) */
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define FS(bit) (1ULL << (bit)) /* LANDLOCK_ACCESS_FS_*: bits 0..15 (linux/landlock.h) */

/* linux/landlock.h's ABI, spelled out so that older kernel headers build it too. */
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define LANDLOCK_RULE_PATH_BENEATH 1
struct ruleset_attr {
  uint64_t handled_access_fs;
};
struct path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

static int usage(void) {
  fprintf(stderr, "usage: nsx-landlock --abi | nsx-landlock [-w DIR]... -- COMMAND [ARG]...\n");
  return 2;
}

int main(int argc, char **argv) {
  int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (argc == 2 && strcmp(argv[1], "--abi") == 0) {
    if (abi < 0) {
      printf("none: %s\n", errno == EOPNOTSUPP ? "Landlock is built in but not enabled (lsm= boot parameter)"
                                                : "this kernel has no Landlock (CONFIG_SECURITY_LANDLOCK)");
      return 1;
    }
    printf("%d\n", abi);
    return 0;
  }
  int i = 1;
  while (i < argc && strcmp(argv[i], "--") != 0) {
    if (strcmp(argv[i], "-w") != 0 || i + 1 >= argc) return usage();
    i += 2;
  }
  if (i + 1 >= argc) return usage();
  if (abi < 0) {
    perror("nsx-landlock: landlock_create_ruleset (is Landlock enabled? cat /sys/kernel/security/lsm)");
    return 1;
  }
  /* Every write right this ABI knows: bits 1 and 4-12 (ABI 1), 13 REFER (2), 14 TRUNCATE (3). */
  uint64_t write = FS(1) | FS(4) | FS(5) | FS(6) | FS(7) | FS(8) | FS(9) | FS(10) | FS(11) | FS(12);
  if (abi >= 2) write |= FS(13);
  if (abi >= 3) write |= FS(14);
  struct ruleset_attr attr = {.handled_access_fs = write};
  int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr.handled_access_fs, 0);
  if (ruleset < 0) {
    perror("nsx-landlock: landlock_create_ruleset");
    return 1;
  }
  for (int j = 1; j < i; j += 2) {
    struct path_beneath_attr beneath = {.allowed_access = write};
    beneath.parent_fd = open(argv[j + 1], O_PATH | O_CLOEXEC);
    if (beneath.parent_fd < 0) {
      fprintf(stderr, "nsx-landlock: %s: %s\n", argv[j + 1], strerror(errno));
      return 1;
    }
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0) {
      fprintf(stderr, "nsx-landlock: landlock_add_rule %s: %s\n", argv[j + 1], strerror(errno));
      return 1;
    }
    close(beneath.parent_fd);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("nsx-landlock: prctl(PR_SET_NO_NEW_PRIVS)");
    return 1;
  }
  if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
    perror("nsx-landlock: landlock_restrict_self");
    return 1;
  }
  close(ruleset);
  execvp(argv[i + 1], argv + i + 1);
  fprintf(stderr, "nsx-landlock: %s: %s\n", argv[i + 1], strerror(errno));
  return 127;
}
