/*
 * qemu-user.c - linked into the arm64 executables that the image tests run
 * under qemu-user on an amd64 machine (tests/images/images.mk), never into
 * an image.  qemu-user runs a guest's system calls as its own process's,
 * which leaves two things the services use that it cannot give a guest:
 *
 *   - a seccomp filter: the filter would judge qemu's own x86_64 calls by
 *     the guest's aarch64 numbers, so prctl(PR_SET_SECCOMP) fails with
 *     EINVAL, and Kore's workers and key manager exit on that failure;
 *   - robust futex lists: get_robust_list/set_robust_list are ENOSYS (the
 *     kernel cannot walk a list in guest memory when a thread dies), so
 *     musl refuses PTHREAD_MUTEX_ROBUST, and the platform's shared tables
 *     (platform/src/shm.c) cannot be set up.
 *
 * Linked with -Wl,--wrap=prctl,--wrap=pthread_mutexattr_setrobust, the
 * executable's calls come here: PR_SET_SECCOMP succeeds without installing
 * a filter, and a robust mutex attribute that the system cannot give is
 * left a plain process-shared one; everything else is passed on unchanged.
 * What this leaves unproven under emulation (the arm64 seccomp filter, and
 * the recovery of a lock whose holder died) runs on arm64 hardware:
 * IMAGES_TEST_ARM64_NATIVE=1 (tests/images/test_images.py).
 */

#include <sys/prctl.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>

int	__real_prctl(int, ...);
int	__wrap_prctl(int, ...);
int	__real_pthread_mutexattr_setrobust(pthread_mutexattr_t *, int);
int	__wrap_pthread_mutexattr_setrobust(pthread_mutexattr_t *, int);

int
__wrap_prctl(int option, ...)
{
	va_list		ap;
	unsigned long	a2, a3, a4, a5;

	va_start(ap, option);
	a2 = va_arg(ap, unsigned long);
	a3 = va_arg(ap, unsigned long);
	a4 = va_arg(ap, unsigned long);
	a5 = va_arg(ap, unsigned long);
	va_end(ap);

	if (option == PR_SET_SECCOMP)
		return (0);

	return (__real_prctl(option, a2, a3, a4, a5));
}

int
__wrap_pthread_mutexattr_setrobust(pthread_mutexattr_t *attr, int robust)
{
	int		r;

	if ((r = __real_pthread_mutexattr_setrobust(attr, robust)) == ENOSYS)
		return (0);

	return (r);
}
