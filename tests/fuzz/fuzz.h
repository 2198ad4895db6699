/*
 * fuzz.h - shared glue of the libFuzzer targets: the application
 * descriptor the platform library links against, Kore's memory set up
 * once, and the platform's log lines kept off the fuzzer's terminal.
 */

#ifndef __H_FUZZ_H
#define __H_FUZZ_H

#include <sys/types.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <kore/kore.h>

#include "svc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static const char *const	fuzz_no_calls[] = { NULL };
static const struct svc_grant	fuzz_no_grants[] = { { NULL, NULL } };

const struct svc_decl	svc_decl = {
	"fuzz", SVC_AUTH_NONE, 100, 200, fuzz_no_calls, fuzz_no_grants
};

const struct svc_app	svc_app = { NULL, NULL };

/*
 * Kore's memory, and stdout (log lines) to /dev/null; a target with more
 * to set up defines FUZZ_SETUP as its function before including this.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int		fd;

	(void)argc;
	(void)argv;

	kore_mem_init();
	if ((fd = open("/dev/null", O_WRONLY)) != -1) {
		(void)dup2(fd, STDOUT_FILENO);
		(void)close(fd);
	}
#if defined(FUZZ_SETUP)
	FUZZ_SETUP();
#endif

	return (0);
}

#endif
