/*
 * svc_log.c - JSON log lines on stdout, one write(2) per line.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kore/kore.h>

#include "fmt.h"
#include "json.h"
#include "svc_log.h"

#define LOG_LINE_MAX	2048

static const char	*log_service = "-";
static int		log_worker = -1;
static int		log_fd = STDOUT_FILENO;
static int		log_min = SVC_LOG_INFO;

static const char	*log_levels[] = { "debug", "info", "warn", "error" };

static void	log_head(struct json_writer *, int, const char *);
static void	log_write(struct kore_buf *);

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
	log_fd = fd;
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

static void
log_write(struct kore_buf *buf)
{
	size_t		off;
	ssize_t		r;

	kore_buf_append(buf, "\n", 1);

	off = 0;
	while (off < buf->offset) {
		r = write(log_fd, buf->data + off, buf->offset - off);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		off += (size_t)r;
	}
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

void
svc_log_format_request(struct kore_buf *buf, const char *request_id,
    const char *method, const char *route, int status, double duration_ms)
{
	struct json_writer	jw;

	jw_init(&jw, buf);
	log_head(&jw, status >= 500 ? SVC_LOG_ERROR : SVC_LOG_INFO,
	    request_id);
	jw_string(&jw, "method", method);
	jw_string(&jw, "route", route);
	jw_int(&jw, "status", status);
	kore_buf_appendf(buf, ",\"duration_ms\":%.3f", duration_ms);
	jw_object_close(&jw);
}

void
svc_log_request(const char *request_id, const char *method,
    const char *route, int status, double duration_ms)
{
	struct kore_buf		buf;

	kore_buf_init(&buf, 512);
	svc_log_format_request(&buf, request_id, method, route, status,
	    duration_ms);
	log_write(&buf);
	kore_buf_cleanup(&buf);
}
