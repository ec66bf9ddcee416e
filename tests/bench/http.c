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
enum { H_HANDSHAKE, H_SEND, H_HEAD, H_BODY, H_PARKED };

/*
 * --versus: both servers up at once, their turns alternating every
 * o->phase seconds (phase k is A's when k is even). A side's connections
 * start requests only in its turns; its bytes and responses count from
 * the moment the other side has nothing in flight (counted_from[k]) to
 * the turn's end, so that in every counted stretch one server alone
 * works and both see the same host.
 */
#define MAX_PHASES	4096

struct alt {
	int on;
	double origin, phase;
	atomic_int inflight[2];
	_Atomic double counted_from[MAX_PHASES];	/* 0: not yet */
	atomic_ullong counted[MAX_PHASES];	/* bytes, or responses */
};

struct hconn {
	int fd;
	int side;		/* 0: A (--server), 1: B (--versus) */
	gnutls_session_t gs;
	int st;
	char head[8192];
	size_t hlen;
	long long left;
};

struct http_thread {
	const struct opts *o;
	pthread_t tid;
	struct sockaddr_in addr[2];	/* A's and B's */
	struct alt *alt;
	long seen_phase;
	gnutls_certificate_credentials_t cred;
	struct window *win;
	atomic_ulong *finished;		/* responses, all threads */
	unsigned n;
	struct hconn *c;
	int ep;
	char req[256];
	size_t req_len;
	unsigned long long bytes[2];	/* body bytes counted, by side */
	unsigned long responses[2];	/* completed and counted */
	unsigned long errors;
	char info[200], first_error[300];
};

static long phase_at(const struct alt *a, double x)
{
	return (long)((x - a->origin) / a->phase);
}

static int side_now(const struct http_thread *t)
{
	return t->alt->on ? phase_at(t->alt, now()) % 2 : 0;
}

/* The other side's last request in this turn is done: counting starts. */
static void mark_quiet(struct alt *a, int which)
{
	double x = now(), zero = 0;
	long k = phase_at(a, x);

	if (a->on && k % 2 != which && k < MAX_PHASES &&
	    !atomic_load(&a->inflight[which]))
		atomic_compare_exchange_strong(&a->counted_from[k], &zero, x);
}

/* Do bytes of this side received now count? */
static int counts(const struct http_thread *t, int which)
{
	double x = now(), from;
	long k;

	if (x < atomic_load(&t->win->t0) || x >= atomic_load(&t->win->t1))
		return 0;
	if (!t->alt->on)
		return 1;
	k = phase_at(t->alt, x);
	if (k % 2 != which || k >= MAX_PHASES)
		return 0;
	from = atomic_load(&t->alt->counted_from[k]);
	return from > 0 && x >= from;
}

/* Per turn too (--versus), for the log. */
static void count_turn(struct http_thread *t, unsigned long long n)
{
	long k = phase_at(t->alt, now());

	if (t->alt->on && k < MAX_PHASES)
		atomic_fetch_add(&t->alt->counted[k], n);
}

static void count_bytes(struct http_thread *t, int which, size_t n)
{
	t->bytes[which] += n;
	if (!t->o->close)
		count_turn(t, n);
}

/*
 * Each side's counted seconds inside the window [t0, t1), and each turn's
 * own rate into turns ("A" or "B", counted seconds, rate in the row's
 * unit: scale bytes or responses to it) to show how steady a side is.
 */
static void counted_seconds(struct alt *a, double t0, double t1,
			    double out[2], double scale, char *turns,
			    size_t size)
{
	size_t len = 0;
	long k;

	out[0] = out[1] = 0;
	turns[0] = 0;
	for (k = 0; k < MAX_PHASES; k++) {
		double from = atomic_load(&a->counted_from[k]);
		double end = a->origin + (k + 1) * a->phase;
		int n;

		if (from <= 0)
			continue;
		from = from > t0 ? from : t0;
		end = end < t1 ? end : t1;
		if (end <= from)
			continue;
		out[k % 2] += end - from;
		n = snprintf(turns + len, size - len, "%s%c%.2f:%.1f",
			     len ? "," : "", k % 2 ? 'B' : 'A', end - from,
			     atomic_load(&a->counted[k]) / scale / (end - from));
		if (n > 0 && (size_t)n < size - len)
			len += n;
	}
}

static void hconn_open(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];

	c->fd = connect_to(&t->addr[c->side], -1, NULL);
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

	if (c->fd < 0)
		return;
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
	if (counts(t, c->side))
		count_bytes(t, c->side, n);
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
		if (counts(t, c->side))
			count_bytes(t, c->side, n);
		return 1;
	}
	if (c->left < 0) {
		http_fail(t, i, "more body than Content-Length");
		return 0;
	}
	if (counts(t, c->side)) {
		t->responses[c->side]++;
		if (t->o->close)
			count_turn(t, 1);
	}
	atomic_fetch_add(t->finished, 1);
	if (t->o->close)
		hconn_close(t, i);
	if (side_now(t) != c->side) {
		/* Not this side's turn: it waits, nothing in flight. */
		if (c->fd >= 0)
			ep_set(t->ep, EPOLL_CTL_MOD, c->fd, 0, i);
		c->st = H_PARKED;
		atomic_fetch_sub(&t->alt->inflight[c->side], 1);
		mark_quiet(t->alt, c->side);
		return 0;
	}
	if (t->o->close) {
		hconn_open(t, i);
		return 0;
	}
	c->st = H_SEND;
	return 1;
}

static void hconn_step(struct http_thread *t, unsigned i);

/* Its side's turn: a parked connection's next request. */
static void hconn_resume(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];

	atomic_fetch_add(&t->alt->inflight[c->side], 1);
	if (c->fd < 0) {
		hconn_open(t, i);
		return;
	}
	c->st = H_SEND;
	hconn_step(t, i);
}

/* A new turn: this thread's parked connections of its side go on. */
static void turn(struct http_thread *t)
{
	long k = phase_at(t->alt, now());
	unsigned i;

	if (k == t->seen_phase)
		return;
	t->seen_phase = k;
	/* Nothing of the other side in flight at all: count from now. */
	mark_quiet(t->alt, !(k % 2));
	for (i = 0; i < t->n; i++)
		if (t->c[i].st == H_PARKED && t->c[i].side == k % 2)
			hconn_resume(t, i);
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
		case H_PARKED:
			more = 0;
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

	t->seen_phase = -1;
	for (i = 0; i < t->n; i++) {
		t->c[i].fd = -1;
		t->c[i].st = H_PARKED;
		t->c[i].side = t->alt->on ? i % 2 : 0;
	}
	while (!window_over(t->win)) {
		if (t->alt->on)
			turn(t);
		else if (t->seen_phase < 0)
			for (t->seen_phase = 0, i = 0; i < t->n; i++)
				hconn_resume(t, i);
		n = epoll_wait(t->ep, ev, 64, t->alt->on ? 5 : 50);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int k = 0; k < n; k++)
			hconn_step(t, (unsigned)ev[k].data.u64);
	}
	for (i = 0; i < t->n; i++)
		hconn_close(t, i);
	return NULL;
}

/*
 * WORK/versus: B's work directory, its certificates and files those of
 * WORK (links), so that two ktlsds or two nginxes keep their sockets,
 * configurations and logs apart.
 */
static const char *versus_dir(const struct opts *o, char *dir, size_t size)
{
	static const char *const shared[] = {
		"ec.pem", "ec.key", "rsa.pem", "rsa.key", "www",
	};
	char from[PATH_MAX], abs[PATH_MAX], to[PATH_MAX];
	size_t i;

	fmt(dir, size, "%s/versus", o->dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		die("%s: %s", dir, strerror(errno));
	for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		fmt(from, sizeof(from), "%s/%s", o->dir, shared[i]);
		fmt(to, sizeof(to), "%s/%s", dir, shared[i]);
		if (!realpath(from, abs)) {
			if (errno == ENOENT)
				continue;
			die("%s: %s", from, strerror(errno));
		}
		if (symlink(abs, to) && errno != EEXIST)
			die("linking %s: %s", to, strerror(errno));
	}
	return dir;
}

/* A server by name, listening on port; d for ktlsd when it uses one. */
static pid_t server_start(const struct opts *o, const char *name,
			  struct daemon *d, int port, int *uses_ktlsd)
{
	*uses_ktlsd = strcmp(name, "nginx") != 0;
	if (!strcmp(name, "ktls"))
		return fileserver_start(o, d, port);
	if (!strcmp(name, "ktls-accept"))
		return fileserver_accept_start(o, d, port);
	if (!strcmp(name, "nginx-preload"))
		return nginx_preload_start(o, d, port);
	if (!strcmp(name, "nginx"))
		return nginx_start(o, port);
	die("--server and --versus take ktls, ktls-accept, nginx or "
	    "nginx-preload");
}

void http_get(const struct opts *o)
{
	struct http_thread *t = xcalloc(o->workers, sizeof(*t));
	struct alt *alt = xcalloc(1, sizeof(*alt));
	struct daemon d[2] = { { 0 }, { 0 } };
	char dir_b[PATH_MAX];
	struct window win;
	atomic_ulong finished = 0;
	unsigned long long bytes[2] = { 0, 0 };
	unsigned long responses[2] = { 0, 0 }, errors = 0;
	double secs[2] = { o->seconds, 0 }, value[2], cpu;
	char turns[1024];
	long long tx0, tx1;
	pid_t server[2] = { 0, 0 };
	unsigned i, per = o->versus ? 2 : 1;
	int port[2] = { free_port(), -1 }, ktlsd[2] = { 0, 0 };

	side = "http-get";
	if (!o->file)
		die("--file missing");
	need_nofile(4 * per * o->clients + 1024);
	make_www(o);
	for (i = 0; o->versus && i < 10 && (port[1] < 0 || port[1] == port[0]);
	     i++)
		port[1] = free_port();
	if (port[0] < 0 || (o->versus && (port[1] < 0 || port[1] == port[0])))
		die("no free port");
	tx0 = tls_stat("TlsTxSw");
	server[0] = server_start(o, o->server, &d[0], port[0], &ktlsd[0]);
	if (o->versus) {
		/* B's files (ktlsd's, nginx's) in a directory of its own. */
		struct opts ob = *o;

		ob.dir = versus_dir(o, dir_b, sizeof(dir_b));
		server[1] = server_start(&ob, o->versus, &d[1], port[1],
					 &ktlsd[1]);
		alt->on = 1;
		alt->phase = o->phase;
		alt->origin = now();
	}
	window_init(&win);
	for (i = 0; i < o->workers; i++) {
		t[i].o = o;
		t[i].alt = alt;
		t[i].cred = client_cred(o, "ec");
		for (unsigned k = 0; k < 2; k++) {
			t[i].addr[k].sin_family = AF_INET;
			t[i].addr[k].sin_port = htons(port[k]);
			t[i].addr[k].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		}
		t[i].win = &win;
		t[i].finished = &finished;
		t[i].n = per * (o->clients / o->workers + (i < o->clients % o->workers));
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
	cpu = run_window(&win, o, &finished, per * o->clients, 0);
	for (i = 0; i < o->workers; i++) {
		pthread_join(t[i].tid, NULL);
		for (unsigned k = 0; k < 2; k++) {
			bytes[k] += t[i].bytes[k];
			responses[k] += t[i].responses[k];
		}
		errors += t[i].errors;
		if (t[i].first_error[0])
			fprintf(stderr, "bench: http-get: %lu errors, the first: %s\n",
				t[i].errors, t[i].first_error);
	}
	for (i = 0; i < per; i++) {
		stop(server[i], SIGTERM, 30);
		if (ktlsd[i])
			daemon_stop(&d[i]);
	}
	tx1 = tls_stat("TlsTxSw");
	if (alt->on)
		counted_seconds(alt, atomic_load(&win.t0), atomic_load(&win.t1),
				secs, o->close ? 1 : 1 << 20, turns,
				sizeof(turns));
	for (i = 0; i < 2; i++)
		value[i] = secs[i] <= 0 ? 0 : o->close ? responses[i] / secs[i] :
			   bytes[i] / secs[i] / (1 << 20);
	printf("http-get value=%.3f unit=%s seconds=%.2f server=%s "
	       "responses=%lu mib=%.1f", value[0],
	       o->close ? "conn/s" : "MiB/s", o->seconds, o->server,
	       responses[0], bytes[0] / (double)(1 << 20));
	if (alt->on)
		printf(" b_value=%.3f versus=%s b_responses=%lu b_mib=%.1f "
		       "counted_s=%.2f b_counted_s=%.2f phase_s=%.2f turns=%s",
		       value[1], o->versus, responses[1],
		       bytes[1] / (double)(1 << 20), secs[0], secs[1],
		       o->phase, turns[0] ? turns : "none");
	/* The load client's own CPU: what is left for the servers. */
	printf(" client_cpu_s=%.2f errors=%lu ktls_tx_sockets=%lld %s\n", cpu,
	       errors,
	       tx0 >= 0 && tx1 >= 0 ? tx1 - tx0 : -1LL,
	       t[0].info[0] ? t[0].info : "group=? cipher=?");
	for (i = 0; i < o->workers; i++) {
		gnutls_certificate_free_credentials(t[i].cred);
		free(t[i].c);
		close(t[i].ep);
	}
	free(t);
	free(alt);
}
