/*
 * smoke.c - the smallest Kore application built the way the services are
 * (static musl, generated symbol table, patched Kore, the platform
 * library): one handler that answers JSON. tests/kore-smoke/run.sh drives
 * it. Its handlers are plain Kore handlers; the platform's
 * kore_parent_configure() and kore_worker_configure() set Kore up as for
 * every service, its error hook (svc_kore_error()) included, so the errors
 * Kore's HTTP layer raises are rendered as the services render them.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <string.h>

#include <libpq-fe.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "svc.h"

int	smoke_hello(struct http_request *);
int	smoke_probe(struct http_request *);

/* Not a service of the one list (apps/NAME/service.decl): its own. */
static const char *const	smoke_calls[] = { NULL };
static const struct svc_grant	smoke_grants[] = { { NULL, NULL } };

const struct svc_decl	svc_decl = {
	.name = "kore-smoke",
	.auth = SVC_AUTH_NONE,
	.default_rate = 100,
	.default_burst = 200,
	.calls = smoke_calls,
	.grants = smoke_grants,
};

const struct svc_app	svc_app = { NULL, NULL };

int
smoke_hello(struct http_request *req)
{
	static const char	body[] =
	    "{\"status\":\"ok\",\"service\":\"kore-smoke\"}";

	/*
	 * Kore read an oversized body away (its request parser,
	 * http-llhttp-parser.patch); the answer is ours, bodiless, so the
	 * error hook renders it in the contract's shape.
	 */
	if (req->flags & HTTP_REQUEST_BODY_DISCARD) {
		http_response(req, 413, NULL, 0);
		return (KORE_RESULT_OK);
	}

	http_response_header(req, "content-type",
	    "application/json; charset=utf-8");
	http_response(req, HTTP_STATUS_OK, body, sizeof(body) - 1);

	return (KORE_RESULT_OK);
}

/*
 * GET /probe: what the services do in a worker - resolve a name with
 * musl's resolver, connect with libpq, and make a request through Kore's
 * asynchronous curl layer - so run.sh can prove none of it trips the
 * seccomp filter. The targets are closed ports: only the system calls
 * matter, not success.
 */
struct probe {
	struct kore_curl	curl;
	int			gai;
	int			pgbad;
};

static void
probe_free(struct http_request *req)
{
	struct probe	*p = http_state_get(req);

	kore_curl_cleanup(&p->curl);
}

int
smoke_probe(struct http_request *req)
{
	int			i;
	struct kore_buf		buf;
	PGconn			*pg;
	struct probe		*p;
	struct addrinfo		hints, *res;

	if (!http_state_exists(req)) {
		p = http_state_create(req, sizeof(*p), probe_free);

		/* Grow a buffer well past malloc's mmap threshold. */
		kore_buf_init(&buf, 1024);
		for (i = 0; i < 512; i++)
			kore_buf_appendf(&buf, "%04096d", i);
		kore_buf_cleanup(&buf);

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		p->gai = getaddrinfo("crm-smoke.invalid", "5432", &hints, &res);
		if (p->gai == 0)
			freeaddrinfo(res);

		pg = PQconnectdb("host=127.0.0.1 port=1 user=smoke "
		    "dbname=smoke connect_timeout=2 sslmode=disable");
		p->pgbad = (PQstatus(pg) == CONNECTION_BAD);
		PQfinish(pg);

		if (!kore_curl_init(&p->curl, "http://crm-smoke.invalid:1/",
		    KORE_CURL_ASYNC)) {
			http_response(req, HTTP_STATUS_INTERNAL_ERROR, NULL, 0);
			return (KORE_RESULT_OK);
		}

		kore_curl_bind_request(&p->curl, req);
		kore_curl_run(&p->curl);
		return (KORE_RESULT_RETRY);
	}

	p = http_state_get(req);

	kore_buf_init(&buf, 256);
	kore_buf_appendf(&buf, "{\"dns\":%d,\"pgsql\":%d,\"curl\":%d}",
	    p->gai, p->pgbad, (int)p->curl.result);

	http_response_header(req, "content-type",
	    "application/json; charset=utf-8");
	http_response(req, HTTP_STATUS_OK, buf.data, buf.offset);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}
