// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * P9: client-profile handoffs through ktlsd, resumed (resumption = yes)
 * or full (the same profile without it). The server is libktls in this
 * process, with tickets, one thread per client serving one connection at
 * a time; each client connects, hands its socket to ktlsd (profile "cli"),
 * reads the byte the server sends after the handshake (its TLS 1.3
 * ticket comes first, and libktls sends it back to ktlsd), and closes.
 */
#include "bench.h"

#define PAIRS_MAX	16

struct rpair {
	struct ktls_config *scfg;
	struct sockaddr_in addr;
	const char *sock;
	double t0, t1;			/* the counted window */
	int lfd;
	pthread_t srv, cli;
	unsigned long ok, resumed, errors;
	char first_error[256];
};

static void *serve(void *arg)
{
	struct rpair *p = arg;
	struct ktls_session *s;
	char b;
	int fd;

	while ((fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		s = NULL;
		if (!ktls_session_new(&s, p->scfg, fd) &&
		    !ktls_session_handshake(s) && ktls_send(s, "x", 1, 0) == 1)
			(void)ktls_recv(s, &b, 1, 0, NULL);	/* until it closes */
		ktls_session_free(s);
		close(fd);
	}
	return NULL;
}

/* One handoff: 0 with *resumed, or a negative error (why in p). */
static int one(struct rpair *p, struct ktls_handoff *h, int *resumed)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "cli" };
	struct ktls_session *s = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;
	char b;

	if (fd < 0 || connect(fd, (struct sockaddr *)&p->addr, sizeof(p->addr)))
		die("connect: %s", strerror(errno));
	ret = ktls_handoff(h, fd, &req, &s);
	if (!ret) {
		*resumed = ktls_session_info(s)->resumed;
		if (ktls_recv(s, &b, 1, 0, NULL) != 1)
			ret = -EIO;
	}
	if (ret && !p->first_error[0])
		snprintf(p->first_error, sizeof(p->first_error), "%s: %s",
			 ktls_strerror(ret), ktls_handoff_error(h));
	ktls_session_free(s);
	close(fd);
	return ret;
}

static void *client(void *arg)
{
	struct rpair *p = arg;
	struct ktls_handoff *h;
	double t;
	int ret, resumed = 0;

	ret = ktls_handoff_open(&h, p->sock);
	if (ret)
		die("ktls_handoff_open %s: %s", p->sock, ktls_strerror(ret));
	while ((t = now()) < p->t1) {
		ret = one(p, h, &resumed);
		if (t < p->t0 || now() > p->t1)
			continue;
		if (ret) {
			p->errors++;
		} else {
			p->ok++;
			p->resumed += resumed;
		}
	}
	ktls_handoff_close(h);
	return NULL;
}

static struct ktls_config *server_config(const struct opts *o)
{
	char cert[PATH_MAX], key[PATH_MAX];
	struct ktls_config *c;

	fmt(cert, sizeof(cert), "%s/%s.pem", o->dir, o->cert);
	fmt(key, sizeof(key), "%s/%s.key", o->dir, o->cert);
	if (ktls_config_new(&c, KTLS_SERVER) ||
	    ktls_config_add_cert(c, cert, key) ||
	    ktls_config_set_versions(c, KTLS_TLS13, KTLS_TLS13) ||
	    ktls_config_set_tickets(c, 1))
		die("the server's configuration (%s) failed", cert);
	return c;
}

void hs_client(const struct opts *o, int resume)
{
	unsigned i, n = o->clients < PAIRS_MAX ? o->clients : PAIRS_MAX;
	struct rpair *p = xcalloc(n, sizeof(*p));
	struct ktls_config *scfg;
	unsigned long ok = 0, res = 0, errors = 0;
	struct daemon d = { 0 };
	char more[1024];
	const char *err = "";
	double t0;

	side = resume ? "hs-resumed" : "hs-full";
	fmt(more, sizeof(more), "\n[profile cli]\nrole = client\n"
	    "ca = %s/%s.pem\nserver_name = localhost\nversions = 1.3\n"
	    "resumption = %s\n", o->dir, o->cert, resume ? "yes" : "no");
	daemon_start_more(&d, o, 4 * n + 64, 60000, more);
	scfg = server_config(o);
	t0 = now() + o->warmup;
	for (i = 0; i < n; i++) {
		p[i].scfg = scfg;
		p[i].sock = d.sock;
		p[i].t0 = t0;
		p[i].t1 = t0 + o->seconds;
		p[i].lfd = listener(&p[i].addr);
		start_thread(&p[i].srv, serve, &p[i]);
		start_thread(&p[i].cli, client, &p[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(p[i].cli, NULL);
		shutdown(p[i].lfd, SHUT_RDWR);	/* its server's accept ends */
		pthread_join(p[i].srv, NULL);
		close(p[i].lfd);
		ok += p[i].ok;
		res += p[i].resumed;
		errors += p[i].errors;
		if (!err[0])
			err = p[i].first_error;
	}
	daemon_stop(&d);
	if (err[0])
		fprintf(stderr, "bench: %s: %lu errors, the first: %s\n", side,
			errors, err);
	printf("%s value=%.2f unit=hs/s seconds=%.2f count=%lu resumed=%lu "
	       "errors=%lu clients=%u\n", side, ok / o->seconds, o->seconds,
	       ok, res, errors, n);
	ktls_config_free(scfg);
	free(p);
}
