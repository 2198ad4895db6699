/*
 * svc_log.c - JSON log lines on stdout.
 *
 * Outside a worker (the parent, tests) every line is one write(2).  In a
 * worker, svc_log_batch() turns on batching: request lines collect in a
 * buffer that is written with one write(2) when it is full or at the
 * latest SVC_LOG_BATCH_MS after its first line (svc.c arms a timer from
 * kore_worker_loop_hook, Kore's worker-loop-hook.patch): one system call,
 * and one wake-up of whatever reads the pipe (podman's conmon in a
 * container, which otherwise cost a quarter of the service's own CPU per
 * /healthz request), for up to ~19 requests instead of one per loop
 * iteration.
 *   - Never interleaved: a batch holds whole lines only and at most
 *     PIPE_BUF bytes, so its write is atomic on a pipe (containers) as on
 *     an O_APPEND file; a longer line goes out alone, as before.
 *   - Never reordered: an event line (svc_log) flushes the batch first
 *     and is written at once, so errors are never delayed.
 *   - Not lost on a crash: exit() (Kore's fatal() included) flushes via
 *     atexit, and a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 *     SIGABRT) writes the complete pending lines before the default
 *     action runs.  Only a SIGKILL or a seccomp kill loses them, at most
 *     the last SVC_LOG_BATCH_MS of request lines (the parent logs the
 *     death).
 */

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kore/kore.h>

#include "fmt.h"
#include "json_writer.h"
#include "svc_log.h"

#define LOG_LINE_MAX	2048
#define LOG_BATCH_MAX	PIPE_BUF	/* atomic write(2) on a pipe */

static const char	*log_service = "-";
static int		log_worker = -1;
static int		log_fd = STDOUT_FILENO;
static int		log_min = SVC_LOG_INFO;

static const char	*log_levels[] = { "debug", "info", "warn", "error" };

/* The batch: whole lines only; log_len moves past a line once complete. */
static int			log_batching;
static char			log_batch[LOG_BATCH_MAX];
static volatile sig_atomic_t	log_len;

/* The "time" prefix up to the seconds, formatted once per second. */
static time_t		log_sec = -1;
static char		log_when[FMT_RFC3339_LEN];
static size_t		log_when_len;

static void	log_head(struct json_writer *, int, const char *);
static void	log_write_raw(const char *, size_t);
static void	log_write(struct kore_buf *);
static void	log_emit(const char *, size_t);
static void	log_time(struct kore_buf *);
static void	log_str(struct kore_buf *, const char *);
static void	log_uint(struct kore_buf *, u_int64_t);
static void	log_atexit(void);
static void	log_fatal_signal(int);

void
svc_log_init(const char *service, int min_level)
{
	log_service = service != NULL ? service : "-";
	log_min = min_level;
}

void
svc_log_set_worker(int id)
{
	log_worker = id;
}

void
svc_log_set_fd(int fd)
{
	svc_log_flush();
	log_fd = fd;
}

void
svc_log_batch(void)
{
	struct sigaction	sa;
	static const int	sigs[] = {
		SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT
	};
	size_t			i;

	if (log_batching)
		return;
	log_batching = 1;

	if (atexit(log_atexit) != 0)
		fatal("svc_log_batch: atexit");

	/* Handled once, then the default action (a core, the exit status). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = log_fatal_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) == -1)
			fatal("svc_log_batch: sigaction: %s", errno_s);
	}
}

int
svc_log_pending(void)
{
	return (log_len > 0);
}

void
svc_log_flush(void)
{
	size_t		len;

	if ((len = (size_t)log_len) == 0)
		return;

	log_write_raw(log_batch, len);
	log_len = 0;
}

static void
log_atexit(void)
{
	svc_log_flush();
}

/* Async-signal-safe: write(2) of the lines completed so far. */
static void
log_fatal_signal(int sig)
{
	size_t		len, off;
	ssize_t		r;

	(void)sig;

	len = (size_t)log_len;
	off = 0;
	while (off < len) {
		r = write(log_fd, log_batch + off, len - off);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	log_len = 0;

	/* Returning re-raises a fault; abort() raises again itself. */
}

static void
log_write_raw(const char *d, size_t len)
{
	size_t		off;
	ssize_t		r;

	off = 0;
	while (off < len) {
		r = write(log_fd, d + off, len - off);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		off += (size_t)r;
	}
}

/* A complete line (with its newline) into the batch, or out at once. */
static void
log_emit(const char *line, size_t len)
{
	if (!log_batching || len > sizeof(log_batch)) {
		svc_log_flush();
		log_write_raw(line, len);
		return;
	}

	if ((size_t)log_len + len > sizeof(log_batch))
		svc_log_flush();

	memcpy(log_batch + log_len, line, len);
	log_len += len;
}

static void
log_write(struct kore_buf *buf)
{
	kore_buf_append(buf, "\n", 1);

	/* Event lines keep their order and are never held back. */
	svc_log_flush();
	log_write_raw((const char *)buf->data, buf->offset);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ", the seconds part cached per second. */
static void
log_time(struct kore_buf *buf)
{
	struct timespec	ts;
	char		ms[5];
	long		m;

	(void)clock_gettime(CLOCK_REALTIME, &ts);

	if (ts.tv_sec != log_sec) {
		fmt_rfc3339_ms(log_when, sizeof(log_when), &ts);
		/* Up to the '.' of the milliseconds. */
		log_when_len = strcspn(log_when, ".");
		log_sec = ts.tv_sec;
	}

	m = ts.tv_nsec / 1000000;
	ms[0] = '.';
	ms[1] = (char)('0' + m / 100);
	ms[2] = (char)('0' + (m / 10) % 10);
	ms[3] = (char)('0' + m % 10);
	ms[4] = 'Z';

	kore_buf_append(buf, "\"", 1);
	kore_buf_append(buf, log_when, log_when_len);
	kore_buf_append(buf, ms, sizeof(ms));
	kore_buf_append(buf, "\"", 1);
}

/* A JSON string; plain printable ASCII is copied as is. */
static void
log_str(struct kore_buf *buf, const char *s)
{
	size_t		i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
		    s[i] == '"' || s[i] == '\\') {
			jw_escape(buf, s, strlen(s));
			return;
		}
	}

	kore_buf_append(buf, "\"", 1);
	kore_buf_append(buf, s, i);
	kore_buf_append(buf, "\"", 1);
}

static void
log_uint(struct kore_buf *buf, u_int64_t v)
{
	char		d[20];
	size_t		n;

	n = sizeof(d);
	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n > 0);

	kore_buf_append(buf, d + n, sizeof(d) - n);
}

static void
log_head(struct json_writer *jw, int level, const char *request_id)
{
	struct timespec	ts;
	char		when[FMT_RFC3339_LEN];

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	fmt_rfc3339_ms(when, sizeof(when), &ts);

	if (level < SVC_LOG_DEBUG || level > SVC_LOG_ERROR)
		level = SVC_LOG_ERROR;

	jw_object_open(jw, NULL);
	jw_string(jw, "time", when);
	jw_string(jw, "level", log_levels[level]);
	jw_string(jw, "service", log_service);
	jw_int(jw, "worker", log_worker);
	jw_string(jw, "request_id", request_id);
}

void
svc_log(int level, const char *request_id, const char *fmt, ...)
{
	struct kore_buf		buf;
	struct json_writer	jw;
	char			msg[LOG_LINE_MAX];
	va_list			args;

	if (level < log_min)
		return;

	va_start(args, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);

	kore_buf_init(&buf, 512);
	jw_init(&jw, &buf);
	log_head(&jw, level, request_id);
	jw_string(&jw, "message", msg);
	jw_object_close(&jw);
	log_write(&buf);
	kore_buf_cleanup(&buf);
}

/*
 * The request line is the one written for every request: built without
 * printf or the generic writer (the same fields and escaping), which was
 * a quarter of a /healthz request's instructions.
 */
void
svc_log_format_request(struct kore_buf *buf, const char *request_id,
    const char *method, const char *route, const char *caller, int status,
    double duration_ms)
{
	u_int64_t	us;
	char		frac[4];
	int		level;

	level = status >= 500 ? SVC_LOG_ERROR : SVC_LOG_INFO;
	us = duration_ms > 0 ? (u_int64_t)(duration_ms * 1000.0 + 0.5) : 0;

	kore_buf_append(buf, "{\"time\":", 8);
	log_time(buf);
	kore_buf_append(buf, ",\"level\":", 9);
	log_str(buf, log_levels[level]);
	kore_buf_append(buf, ",\"service\":", 11);
	log_str(buf, log_service);
	kore_buf_append(buf, ",\"worker\":", 10);
	if (log_worker < 0)
		kore_buf_append(buf, "-", 1);
	log_uint(buf, (u_int64_t)(log_worker < 0 ? -(int64_t)log_worker :
	    log_worker));
	kore_buf_append(buf, ",\"request_id\":", 14);
	if (request_id != NULL)
		log_str(buf, request_id);
	else
		kore_buf_append(buf, "null", 4);
	kore_buf_append(buf, ",\"method\":", 10);
	log_str(buf, method != NULL ? method : "-");
	kore_buf_append(buf, ",\"route\":", 9);
	log_str(buf, route != NULL ? route : "-");
	kore_buf_append(buf, ",\"status\":", 10);
	if (status < 0)
		kore_buf_append(buf, "-", 1);
	log_uint(buf, (u_int64_t)(status < 0 ? -(int64_t)status : status));

	/* Milliseconds with three decimals. */
	kore_buf_append(buf, ",\"duration_ms\":", 15);
	log_uint(buf, us / 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + (us / 100) % 10);
	frac[2] = (char)('0' + (us / 10) % 10);
	frac[3] = (char)('0' + us % 10);
	kore_buf_append(buf, frac, sizeof(frac));

	/* The credential's name only: who called, never with what. */
	if (caller != NULL) {
		kore_buf_append(buf, ",\"caller\":", 10);
		log_str(buf, caller);
	}
	kore_buf_append(buf, "}", 1);
}

void
svc_log_request(const char *request_id, const char *method,
    const char *route, const char *caller, int status, double duration_ms)
{
	static struct kore_buf	*buf;

	/* One buffer per process, reused: no allocation per request. */
	if (buf == NULL)
		buf = kore_buf_alloc(512);
	kore_buf_reset(buf);

	svc_log_format_request(buf, request_id, method, route, caller, status,
	    duration_ms);
	kore_buf_append(buf, "\n", 1);
	log_emit((const char *)buf->data, buf->offset);
}
