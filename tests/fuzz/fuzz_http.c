/*
 * fuzz_http.c - Kore's request parser as the services run it (llhttp in
 * http.c, http-llhttp-parser.patch), with the platform's error hook: the
 * input arrives on one connection in reads of a size the input's first
 * byte chooses; every complete request is answered (which starts the next,
 * pipelined one), as a worker would.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

static void	fuzz_http_setup(void);
#define FUZZ_SETUP	fuzz_http_setup
#include "fuzz.h"
#include "respond.h"

static struct kore_server	srv;
static struct listener		lst;
static struct kore_domain	dom;
static struct kore_module_handle	hdlr;

static int	trace;

/* The peer reads everything at once (FUZZ_HTTP_TRACE=1: to stderr). */
static int
fuzz_write(struct connection *c, size_t len, size_t *written)
{
	if (trace)
		(void)write(STDERR_FILENO, c->snb->buf + c->snb->s_off, len);
	*written = len;
	return (KORE_RESULT_OK);
}

static void
fuzz_http_setup(void)
{
	trace = getenv("FUZZ_HTTP_TRACE") != NULL;
	/* Small limits, so that the fuzzer reaches them. */
	http_header_max = 512;
	http_body_max = 256;
	net_init();
	kore_connection_init();
	http_init();
	http_error_hook = svc_kore_error;

	TAILQ_INIT(&srv.domains);
	lst.server = &srv;
	dom.domain = "*";
	dom.server = &srv;
	TAILQ_INIT(&dom.handlers);
	TAILQ_INIT(&dom.redirects);
	TAILQ_INSERT_TAIL(&srv.domains, &dom, list);

	hdlr.path = "/x";
	hdlr.type = HANDLER_TYPE_STATIC;
	hdlr.methods = HTTP_METHOD_ALL;
	hdlr.dom = &dom;
	TAILQ_INSERT_TAIL(&dom.handlers, &hdlr, list);
}

/* Answers the complete requests; answering parses what followed. */
static void
fuzz_answer(struct connection *c)
{
	struct http_request	*req;
	u_int8_t		body[64];
	int			more;

	do {
		more = 0;
		TAILQ_FOREACH(req, &c->http_requests, olist) {
			if (req->flags & (HTTP_REQUEST_DELETE |
			    HTTP_REQUEST_SLEEPING))
				continue;
			if (!(req->flags & HTTP_REQUEST_COMPLETE))
				continue;
			while (http_body_read(req, body, sizeof(body)) > 0)
				;
			req->flags |= HTTP_REQUEST_DELETE;
			http_response(req, 200, "ok", 2);
			/* As http_process_request() does after a handler. */
			if (!net_send_flush(c))
				kore_connection_disconnect(c);
			more = 1;
			break;
		}
	} while (more && c->state != CONN_STATE_DISCONNECTING);

	http_process();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct connection	*c;
	size_t			pos, chunk, n;

	if (size < 1)
		return (0);
	chunk = (size_t)data[0] + 1;
	data++;
	size--;

	c = kore_connection_new(&lst);
	c->fd = -1;
	c->state = CONN_STATE_ESTABLISHED;
	c->proto = CONN_PROTO_HTTP;
	c->write = fuzz_write;
	c->evt.flags = KORE_EVENT_WRITE;
	TAILQ_INSERT_TAIL(&connections, c, list);
	http_connection_start(c);

	pos = 0;
	while (pos < size && c->state != CONN_STATE_DISCONNECTING) {
		if (c->rnb->buf == NULL)
			break;
		n = c->rnb->b_len - c->rnb->s_off;
		if (n > chunk)
			n = chunk;
		if (n > size - pos)
			n = size - pos;
		if (n == 0)
			break;
		memcpy(c->rnb->buf + c->rnb->s_off, data + pos, n);
		c->rnb->s_off += n;
		pos += n;
		(void)c->rnb->cb(c->rnb);
		if (c->state != CONN_STATE_DISCONNECTING)
			fuzz_answer(c);
	}

	if (c->state != CONN_STATE_DISCONNECTING)
		kore_connection_disconnect(c);
	kore_connection_prune(KORE_CONNECTION_PRUNE_DISCONNECT);
	http_process();

	return (0);
}
