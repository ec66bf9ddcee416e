// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * HTTPS (P2): examples/ktls-fileserver with ktlsd against nginx with
 * kTLS (spawn.c starts both), under the same load client: threads of
 * non-blocking GnuTLS connections.
 */
#include <stdarg.h>
#include <sys/epoll.h>

#include "bench.h"

/* The files both servers serve: WORK/www/1m and WORK/www/1k. */
static void make_www(const struct opts *o)
{
	static const struct { const char *name; size_t len; } files[] = {
		{ "1m", 1u << 20 }, { "1k", 1024 },
	};
	static unsigned char block[1u << 20];
	char path[PATH_MAX];
	size_t i;
	int fd;

	fmt(path, sizeof(path), "%s/www", o->dir);
	mkdir(path, 0755);
	fill_pattern(block, sizeof(block), 4243, 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fmt(path, sizeof(path), "%s/www/%s", o->dir, files[i].name);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write_full(fd, block, files[i].len) < 0 || close(fd))
			die("writing %s: %s", path, strerror(errno));
	}
}

/* The load client: threads of non-blocking GnuTLS connections. */
enum { H_HANDSHAKE, H_SEND, H_HEAD, H_BODY };

struct hconn {
	int fd;
	gnutls_session_t gs;
	int st;
	char head[8192];
	size_t hlen;
	long long left;
};

struct http_thread {
	const struct opts *o;
	pthread_t tid;
	struct sockaddr_in addr;
	gnutls_certificate_credentials_t cred;
	struct window *win;
	atomic_ulong *finished;		/* responses, all threads */
	unsigned n;
	struct hconn *c;
	int ep;
	char req[256];
	size_t req_len;
	unsigned long long bytes;	/* body bytes inside the window */
	unsigned long responses;	/* completed inside the window */
	unsigned long errors;
	char info[200], first_error[300];
};

static int in_window(const struct http_thread *t)
{
	double x = now();

	return x >= atomic_load(&t->win->t0) && x < atomic_load(&t->win->t1);
}

static void hconn_open(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];

	c->fd = connect_to(&t->addr, -1, NULL);
	nodelay(c->fd);
	set_nonblock(c->fd);
	c->gs = client_session(t->cred, c->fd);
	c->st = H_HANDSHAKE;
	c->hlen = 0;
	ep_set(t->ep, EPOLL_CTL_ADD, c->fd, EPOLLOUT, i);
}

static void hconn_close(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];

	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	gnutls_deinit(c->gs);
	close(c->fd);
	c->fd = -1;
}

static void http_fail(struct http_thread *t, unsigned i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void http_fail(struct http_thread *t, unsigned i, const char *fmt, ...)
{
	va_list ap;

	t->errors++;
	if (!t->first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(t->first_error, sizeof(t->first_error), fmt, ap);
		va_end(ap);
	}
	hconn_close(t, i);
	hconn_open(t, i);
}

/* The head is complete at end (after its blank line): check it. */
static int parse_head(struct hconn *c, size_t end)
{
	const char *cl;

	c->head[end - 1] = 0;
	if (strncmp(c->head, "HTTP/1.1 200 ", 13))
		return -1;
	cl = strcasestr(c->head, "\r\nContent-Length:");
	if (!cl)
		return -1;
	c->left = strtoll(cl + 17, NULL, 10);
	return 0;
}

/*
 * The steps of a connection: each returns 1 to go on at once, 0 when the
 * connection waits for epoll (or has just been opened again).
 */
static int hconn_handshake(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];
	int ret = gnutls_handshake(c->gs);

	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		ep_set(t->ep, EPOLL_CTL_MOD, c->fd,
		       gnutls_record_get_direction(c->gs) ? EPOLLOUT : EPOLLIN, i);
		return 0;
	}
	if (ret < 0) {
		http_fail(t, i, "handshake: %s", gnutls_strerror(ret));
		return 0;
	}
	if (!t->info[0])
		snprintf(t->info, sizeof(t->info), "group=%s cipher=%s",
			 gnutls_group_get_name(gnutls_group_get(c->gs)),
			 gnutls_cipher_get_name(gnutls_cipher_get(c->gs)));
	c->st = H_SEND;
	return 1;
}

static int hconn_send(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];
	int ret = gnutls_record_send(c->gs, t->req, t->req_len);

	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		ep_set(t->ep, EPOLL_CTL_MOD, c->fd, EPOLLOUT, i);
		return 0;
	}
	if (ret != (int)t->req_len) {
		http_fail(t, i, "sending the request: %s",
			  ret < 0 ? gnutls_strerror(ret) : "short");
		return 0;
	}
	ep_set(t->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, i);
	c->st = H_HEAD;
	c->hlen = 0;
	return 1;
}

static int hconn_head(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];
	ssize_t n;
	char *e;

	n = gnutls_record_recv(c->gs, c->head + c->hlen,
			       sizeof(c->head) - 1 - c->hlen);
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
		return 0;
	if (n <= 0) {
		http_fail(t, i, "reading the response head: %s",
			  n ? gnutls_strerror(n) : "closed");
		return 0;
	}
	c->hlen += n;
	c->head[c->hlen] = 0;
	e = strstr(c->head, "\r\n\r\n");
	if (!e) {
		if (c->hlen == sizeof(c->head) - 1) {
			http_fail(t, i, "response head too long");
			return 0;
		}
		return 1;
	}
	n = c->head + c->hlen - (e + 4);	/* body bytes here */
	if (parse_head(c, e + 4 - c->head)) {
		http_fail(t, i, "bad response: %.60s", c->head);
		return 0;
	}
	c->left -= n;
	if (in_window(t))
		t->bytes += n;
	c->st = H_BODY;
	return 1;
}

static int hconn_body(struct http_thread *t, unsigned i)
{
	static __thread unsigned char scratch[BENCH_CHUNK];
	struct hconn *c = &t->c[i];
	ssize_t n;

	if (c->left > 0) {
		n = gnutls_record_recv(c->gs, scratch,
				       c->left < (long long)sizeof(scratch) ?
				       (size_t)c->left : sizeof(scratch));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return 0;
		if (n <= 0) {
			http_fail(t, i, "reading the body: %s",
				  n ? gnutls_strerror(n) : "closed");
			return 0;
		}
		c->left -= n;
		if (in_window(t))
			t->bytes += n;
		return 1;
	}
	if (c->left < 0) {
		http_fail(t, i, "more body than Content-Length");
		return 0;
	}
	if (in_window(t))
		t->responses++;
	atomic_fetch_add(t->finished, 1);
	if (t->o->close) {
		hconn_close(t, i);
		hconn_open(t, i);
		return 0;
	}
	c->st = H_SEND;
	return 1;
}

/* Run connection i as far as it goes without waiting. */
static void hconn_step(struct http_thread *t, unsigned i)
{
	int more = 1;

	while (more) {
		switch (t->c[i].st) {
		case H_HANDSHAKE:
			more = hconn_handshake(t, i);
			break;
		case H_SEND:
			more = hconn_send(t, i);
			break;
		case H_HEAD:
			more = hconn_head(t, i);
			break;
		case H_BODY:
			more = hconn_body(t, i);
			break;
		}
	}
}

static void *http_main(void *arg)
{
	struct http_thread *t = arg;
	struct epoll_event ev[64];
	unsigned i;
	int n;

	for (i = 0; i < t->n; i++)
		hconn_open(t, i);
	while (!window_over(t->win)) {
		n = epoll_wait(t->ep, ev, 64, 50);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int k = 0; k < n; k++)
			hconn_step(t, (unsigned)ev[k].data.u64);
	}
	for (i = 0; i < t->n; i++)
		hconn_close(t, i);
	return NULL;
}

void http_get(const struct opts *o)
{
	struct http_thread *t = xcalloc(o->workers, sizeof(*t));
	struct daemon d = { 0 };
	struct window win;
	atomic_ulong finished = 0;
	unsigned long long bytes = 0;
	unsigned long responses = 0, errors = 0;
	long long tx0, tx1;
	double cpu;
	pid_t server;
	unsigned i;
	int port, ktls = !strcmp(o->server, "ktls");
	int shim = !strcmp(o->server, "nginx-preload");
	int acc = !strcmp(o->server, "ktls-accept");

	side = "http-get";
	if (!ktls && !shim && !acc && strcmp(o->server, "nginx"))
		die("--server takes ktls, ktls-accept, nginx or nginx-preload");
	if (!o->file)
		die("--file missing");
	need_nofile(4 * o->clients + 1024);
	make_www(o);
	port = free_port();
	if (port < 0)
		die("no free port");
	tx0 = tls_stat("TlsTxSw");
	server = ktls ? fileserver_start(o, &d, port) :
		 acc ? fileserver_accept_start(o, &d, port) :
		 shim ? nginx_preload_start(o, &d, port) : nginx_start(o, port);
	window_init(&win);
	for (i = 0; i < o->workers; i++) {
		t[i].o = o;
		t[i].cred = client_cred(o, "ec");
		t[i].addr.sin_family = AF_INET;
		t[i].addr.sin_port = htons(port);
		t[i].addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		t[i].win = &win;
		t[i].finished = &finished;
		t[i].n = o->clients / o->workers + (i < o->clients % o->workers);
		t[i].c = xcalloc(t[i].n, sizeof(*t[i].c));
		t[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if (t[i].ep < 0)
			die("epoll_create1: %s", strerror(errno));
		t[i].req_len = snprintf(t[i].req, sizeof(t[i].req),
					"GET /%s HTTP/1.1\r\nHost: localhost\r\n%s\r\n",
					o->file, o->close ? "Connection: close\r\n" : "");
		start_thread(&t[i].tid, http_main, &t[i]);
	}
	/* Every connection's first response is in before the window. */
	cpu = run_window(&win, o, &finished, o->clients, 0);
	for (i = 0; i < o->workers; i++) {
		pthread_join(t[i].tid, NULL);
		bytes += t[i].bytes;
		responses += t[i].responses;
		errors += t[i].errors;
		if (t[i].first_error[0])
			fprintf(stderr, "bench: http-get: %lu errors, the first: %s\n",
				t[i].errors, t[i].first_error);
	}
	stop(server, SIGTERM, 30);
	if (ktls || shim || acc)
		daemon_stop(&d);
	tx1 = tls_stat("TlsTxSw");
	if (o->close)
		printf("http-get value=%.2f unit=conn/s", responses / o->seconds);
	else
		printf("http-get value=%.3f unit=MiB/s",
		       bytes / o->seconds / (1 << 20));
	/* The load client's own CPU: what it leaves the server. */
	printf(" seconds=%.2f server=%s responses=%lu mib=%.1f client_cpu_s=%.2f "
	       "errors=%lu ktls_tx_sockets=%lld %s\n", o->seconds, o->server,
	       responses, bytes / (double)(1 << 20), cpu, errors,
	       tx0 >= 0 && tx1 >= 0 ? tx1 - tx0 : -1LL,
	       t[0].info[0] ? t[0].info : "group=? cipher=?");
	for (i = 0; i < o->workers; i++) {
		gnutls_certificate_free_credentials(t[i].cred);
		free(t[i].c);
		close(t[i].ep);
	}
	free(t);
}
