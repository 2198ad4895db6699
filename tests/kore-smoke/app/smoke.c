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
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "svc.h"

int	smoke_hello(struct http_request *);
int	smoke_probe(struct http_request *);
int	smoke_attack(struct http_request *);

static int	attack_errno(int);

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

/*
 * GET /attack: what a worker taken over would try against the key manager,
 * the one process that holds the private key: read its memory through
 * /proc/<pid>/mem, ptrace it (PTRACE_ATTACH, PTRACE_SEIZE), read its memory
 * with process_vm_readv(), and open the key file itself. Answers the errno
 * of each attempt (0: it worked) and the worker's own pid, which run.sh
 * checks is a worker under seccomp. Every attempt must fail, in both
 * profiles (CONTRACT §7).
 */
int
smoke_attack(struct http_request *req)
{
	struct kore_buf		buf;
	struct iovec		local, remote;
	pid_t			keymgr;
	char			path[PATH_MAX], key[PATH_MAX], peek[16];
	int			fd, e_mem, e_attach, e_seize, e_vm, e_key;

	keymgr = kore_worker_data(KORE_WORKER_KEYMGR_IDX)->pid;

	(void)snprintf(path, sizeof(path), "/proc/%d/mem", (int)keymgr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if ((e_mem = attack_errno(fd)) == 0)
		(void)close(fd);

	e_attach = attack_errno((int)ptrace(PTRACE_ATTACH, keymgr, NULL, NULL));
	e_seize = attack_errno((int)ptrace(PTRACE_SEIZE, keymgr, NULL, NULL));

	/* The key manager is a fork of the same image: same addresses. */
	local.iov_base = peek;
	local.iov_len = sizeof(peek);
	remote.iov_base = &keymgr_root_path;
	remote.iov_len = sizeof(peek);
	e_vm = attack_errno((int)process_vm_readv(keymgr, &local, 1,
	    &remote, 1, 0));

	/* certkey as the key manager opens it: inside keymgr_root. */
	if (primary_dom->certkey[0] == '/') {
		(void)snprintf(key, sizeof(key), "%s", primary_dom->certkey);
	} else {
		(void)snprintf(key, sizeof(key), "%s/%s", keymgr_root_path,
		    primary_dom->certkey);
	}
	fd = open(key, O_RDONLY | O_CLOEXEC);
	if ((e_key = attack_errno(fd)) == 0)
		(void)close(fd);

	kore_buf_init(&buf, 256);
	kore_buf_appendf(&buf, "{\"pid\":%d,\"keymgr\":%d,\"proc_mem\":%d,"
	    "\"ptrace_attach\":%d,\"ptrace_seize\":%d,"
	    "\"process_vm_readv\":%d,\"key_file\":%d}", (int)getpid(),
	    (int)keymgr, e_mem, e_attach, e_seize, e_vm, e_key);

	http_response_header(req, "content-type",
	    "application/json; charset=utf-8");
	http_response(req, HTTP_STATUS_OK, buf.data, buf.offset);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}

/* 0 when the call worked, else its errno. */
static int
attack_errno(int r)
{
	return (r == -1 ? errno : 0);
}
