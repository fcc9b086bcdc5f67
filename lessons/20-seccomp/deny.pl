#!/usr/bin/perl
# deny.pl: run a command under a seccomp filter of your own that fails one system call with EPERM.
#   perl deny.pl mkdir sleep 600        (a name from the table below, or a number: perl deny.pl 83 ...)
# Perl because perl-base is on every Debian system, minimal ones too; no compiler, no nsx.
# The filter is seven classic BPF instructions, the same shape as the top of the one nsx compiles
# (seccomp(2), "Seccomp-specific BPF details"; Documentation/userspace-api/seccomp_filter.rst).
use strict;
use warnings;
use POSIX ();

# Numbers from the kernel's tables (arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/
# unistd.h for aarch64, which has no mkdir: only mkdirat). AUDIT_ARCH_* from include/uapi/linux/audit.h.
my %ARCH = (
  x86_64  => { audit => 0xc000003e, prctl => 157, nr => { mkdir => 83, mkdirat => 258, keyctl => 250, uname => 63, unshare => 272, chdir => 80 } },
  aarch64 => { audit => 0xc00000b7, prctl => 167, nr => { mkdirat => 34, keyctl => 219, uname => 160, unshare => 97, chdir => 49 } },
);
my $arch = $ARCH{ (POSIX::uname())[4] } or die "deny.pl: this helper knows x86_64 and aarch64 only\n";
my ($syscall, @command) = @ARGV;
die "usage: perl deny.pl SYSCALL COMMAND [ARG...]   (SYSCALL: a number, or one of: "
  . join(', ', sort keys %{ $arch->{nr} }) . ")\n" unless defined $syscall && @command;
my $nr = $syscall =~ /^\d+$/ ? $syscall : $arch->{nr}{$syscall};
die "deny.pl: no number for \"$syscall\" here; give its number instead\n" unless defined $nr;

# struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } (linux/filter.h), in the machine's byte order.
sub insn { pack('S C C L', @_) }
my ($LD_W_ABS, $JEQ_K, $RET_K) = (0x20, 0x15, 0x06);
my ($RET_ALLOW, $RET_ERRNO, $EPERM) = (0x7fff0000, 0x00050000, 1);
my $prog = join '',
  insn($LD_W_ABS, 0, 0, 4),                    # A = seccomp_data.arch
  insn($JEQ_K, 1, 0, $arch->{audit}),          # this machine's ABI? then skip the next one
  insn($RET_K, 0, 0, $RET_ALLOW),              # another ABI: not this filter's business
  insn($LD_W_ABS, 0, 0, 0),                    # A = seccomp_data.nr
  insn($JEQ_K, 0, 1, $nr),                     # the denied call?
  insn($RET_K, 0, 0, $RET_ERRNO | $EPERM),     #   yes: fail it with EPERM
  insn($RET_K, 0, 0, $RET_ALLOW);              #   no: let it run

# prctl(2): no_new_privs first, or installing a filter needs CAP_SYS_ADMIN (seccomp(2), EACCES).
syscall($arch->{prctl}, 38, 1, 0, 0, 0) == 0 or die "deny.pl: prctl(PR_SET_NO_NEW_PRIVS): $!\n";
# struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the length, padding, a pointer.
my $fprog = pack('S x![P] P', length($prog) / 8, $prog);
# prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog): seccomp(2)'s SECCOMP_SET_MODE_FILTER, older name.
syscall($arch->{prctl}, 22, 2, $fprog, 0, 0) == 0 or die "deny.pl: prctl(PR_SET_SECCOMP): $!\n";
# The filter stays across execve(2) and is inherited by every child (seccomp(2)).
exec { $command[0] } @command or die "deny.pl: $command[0]: $!\n";
