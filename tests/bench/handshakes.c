// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Handshakes (P1): full TLS 1.3 handshakes through ktlsd's handoff, driven
 * by the client threads of an hs_pool (bench.h; footprint.c uses them
 * too), against the floor: GnuTLS client and server in one process. In
 * accept mode (P1a) the same clients dial ktlsd's own listener and the
 * thread's handle is a subscriber.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <sys/epoll.h>

#include "bench.h"
#include "keyproc.h"

#define EP_HANDOFF	UINT64_MAX

static void hs_error(struct hs_thread *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void hs_error(struct hs_thread *t, const char *fmt, ...)
{
	va_list ap;

	t->errors++;
	if (t->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->first_error, sizeof(t->first_error), fmt, ap);
	va_end(ap);
}

static void handoff_events(struct hs_thread *t)
{
	int want = EPOLLIN | (t->n_queue ? EPOLLOUT : 0);

	if (want != t->h_events) {
		ep_set(t->ep, EPOLL_CTL_MOD, ktls_handoff_fd(t->h), want,
		       EP_HANDOFF);
		t->h_events = want;
	}
}

/* Submit s's accepted end: 0, or -EAGAIN while the connection is full. */
static int hs_submit_one(struct hs_thread *t, struct slot *s)
{
	uint64_t id;
	int ret;

	s->t_submit = now();
	ret = ktls_handoff_submit(t->h, s->sfd, &t->req, &id);
	if (ret && ret != -EAGAIN)
		die("ktls_handoff_submit: %s (%s)", ktls_strerror(ret),
		    ktls_handoff_error(t->h));
	return ret;
}

/* Submit slot i's accepted end, or queue it until the connection drains. */
static void hs_submit(struct hs_thread *t, unsigned i)
{
	struct slot *s = &t->slots[i];

	if (!t->n_queue && !hs_submit_one(t, s))
		return;
	s->queued = 1;
	t->queue[t->n_queue++] = i;
	handoff_events(t);
}

static void hs_flush_queue(struct hs_thread *t)
{
	unsigned done = 0;

	while (done < t->n_queue) {
		struct slot *s = &t->slots[t->queue[done]];

		if (hs_submit_one(t, s))
			break;
		s->queued = 0;
		done++;
	}
	memmove(t->queue, t->queue + done, (t->n_queue - done) * sizeof(*t->queue));
	t->n_queue -= done;
	handoff_events(t);
}

static void slot_free(struct hs_thread *t, struct slot *s)
{
	if (s->gs)
		gnutls_deinit(s->gs);
	if (s->cfd >= 0)
		close_reset(s->cfd);
	if (s->sfd >= 0)
		close_reset(s->sfd);
	s->gs = NULL;
	s->cfd = s->sfd = -1;
	s->busy = 0;
	atomic_fetch_add(&t->run->finished, 1);
}

static void slot_done(struct hs_thread *t, struct slot *s)
{
	double end = now();

	t->ok++;
	rec_add(&t->recs, end, (s->t_reply - s->t_submit) * 1000);
	slot_free(t, s);
}

static void client_step(struct hs_thread *t, unsigned i)
{
	struct slot *s = &t->slots[i];
	int ret;

	if (s->cdone || s->cfail)
		return;
	ret = gnutls_handshake(s->gs);
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		ep_set(t->ep, EPOLL_CTL_MOD, s->cfd,
		       gnutls_record_get_direction(s->gs) ? EPOLLOUT : EPOLLIN, i);
		return;
	}
	if (ret < 0) {
		/* Freed when ktlsd's reply comes, so the fd is not reused. */
		hs_error(t, "client handshake: %s", gnutls_strerror(ret));
		s->cfail = 1;
		epoll_ctl(t->ep, EPOLL_CTL_DEL, s->cfd, NULL);
		/* Accept mode: ktlsd delivers no failed handshake. */
		if (t->run->accept)
			slot_free(t, s);
		return;
	}
	s->cdone = 1;
	/* Nothing more comes to the client: ktlsd sends no tickets. */
	epoll_ctl(t->ep, EPOLL_CTL_DEL, s->cfd, NULL);
	if (s->sdone)
		slot_done(t, s);
}

/* The client of one handshake: certificate-verifying, or with the PSK. */
static gnutls_session_t hs_client_session(const struct hs_run *r, int fd)
{
	gnutls_session_t gs;

	if (!r->psk)
		return client_session(r->cred, fd);
	if (gnutls_init(&gs, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) ||
	    gnutls_priority_set(gs, r->psk_prio) ||
	    gnutls_credentials_set(gs, GNUTLS_CRD_PSK, r->psk))
		die("GnuTLS PSK client setup failed");
	gnutls_transport_set_int(gs, fd);
	return gs;
}

static int may_start(struct hs_run *r)
{
	if (atomic_load(&r->stop))
		return 0;
	if (r->windowed)
		return 1;
	if (atomic_fetch_add(&r->started, 1) < atomic_load(&r->limit))
		return 1;
	atomic_fetch_sub(&r->started, 1);
	return 0;
}

static void slot_start(struct hs_thread *t, unsigned i)
{
	struct slot *s = &t->slots[i];

	if (!may_start(t->run))
		return;
	memset(s, 0, sizeof(*s));
	s->busy = 1;
	s->sfd = -1;
	s->cfd = connect_to(&t->addr, t->lfd, &s->sfd);
	nodelay(s->cfd);
	set_nonblock(s->cfd);
	s->gs = hs_client_session(t->run, s->cfd);
	if (t->run->accept) {
		struct sockaddr_in me;
		socklen_t len = sizeof(me);

		if (getsockname(s->cfd, (struct sockaddr *)&me, &len))
			die("getsockname: %s", strerror(errno));
		s->cport = ntohs(me.sin_port);
		s->t_submit = now();	/* from the connect to the delivery */
	} else {
		nodelay(s->sfd);
		hs_submit(t, i);
	}
	ep_set(t->ep, EPOLL_CTL_ADD, s->cfd, EPOLLOUT, i);
	client_step(t, i);
}

/*
 * The slot a reply is for: by its socket, or in accept mode by the port
 * (NULL: a client that gave up already).
 */
static struct slot *hs_slot_of(struct hs_thread *t, int fd)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	unsigned i;

	if (!t->run->accept) {
		for (i = 0; i < t->n; i++)
			if (t->slots[i].busy && t->slots[i].sfd == fd)
				return &t->slots[i];
		die("a handoff reply for an unknown socket (fd %d)", fd);
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &len))
		die("a delivered socket without a peer: %s", strerror(errno));
	for (i = 0; i < t->n; i++)
		if (t->slots[i].busy && t->slots[i].sfd < 0 &&
		    t->slots[i].cport == ntohs(peer.sin_port)) {
			t->slots[i].sfd = fd;
			return &t->slots[i];
		}
	return NULL;
}

static void hs_results(struct hs_thread *t)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	int ret;

	while ((ret = ktls_handoff_result(t->h, &r)) == 1) {
		struct slot *s = hs_slot_of(t, r.fd);

		if (!s) {
			ktls_session_free(r.session);
			close_reset(r.fd);
			continue;
		}
		s->t_reply = now();
		if (r.status || s->cfail) {
			if (!s->cfail) {
				hs_error(t, "ktlsd: %s (%s)",
					 ktls_strerror(r.status),
					 ktls_handoff_error(t->h));
				if (!s->cdone)
					epoll_ctl(t->ep, EPOLL_CTL_DEL, s->cfd, NULL);
			}
			ktls_session_free(r.session);
			slot_free(t, s);
			continue;
		}
		if (!t->group[0]) {
			const struct ktls_info *in = ktls_session_info(r.session);

			/* A PSK handshake has no signature, psk_ke no group. */
			snprintf(t->group, sizeof(t->group), "%s",
				 !in || !in->group ? "?" : in->group[0] ?
				 in->group : "none");
			snprintf(t->sigalg, sizeof(t->sigalg), "%s",
				 !in || !in->sigalg ? "?" : in->sigalg[0] ?
				 in->sigalg : "none");
			snprintf(t->cipher, sizeof(t->cipher), "%s",
				 in && in->cipher_name ? in->cipher_name : "?");
		}
		ktls_session_free(r.session);
		s->sdone = 1;
		if (s->cdone)
			slot_done(t, s);
	}
	if (ret < 0)
		die("the handoff connection failed: %s (%s)", ktls_strerror(ret),
		    ktls_handoff_error(t->h));
}

static void *hs_thread_main(void *arg)
{
	struct hs_thread *t = arg;
	struct hs_run *r = t->run;
	struct epoll_event ev[64];
	unsigned i;
	int n;

	for (;;) {
		if (atomic_load(&r->stop) || (r->windowed && window_over(&r->win)))
			break;
		for (i = 0; i < t->n; i++)
			if (!t->slots[i].busy)
				slot_start(t, i);
		n = epoll_wait(t->ep, ev, 64, 50);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int k = 0; k < n; k++) {
			if (ev[k].data.u64 == EP_HANDOFF) {
				if (ev[k].events & EPOLLOUT)
					hs_flush_queue(t);
				hs_results(t);
			} else {
				i = (unsigned)ev[k].data.u64;
				if (t->slots[i].busy)
					client_step(t, i);
			}
		}
	}
	/* Whatever is in flight is dropped: ktlsd sees the clients go. */
	for (i = 0; i < t->n; i++)
		if (t->slots[i].busy)
			slot_free(t, &t->slots[i]);
	return NULL;
}

static void hs_thread_init(struct hs_thread *t, struct hs_run *r, unsigned n)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->run = r;
	t->n = n;
	t->slots = xcalloc(n, sizeof(*t->slots));
	t->queue = xcalloc(n, sizeof(*t->queue));
	for (unsigned i = 0; i < n; i++)
		t->slots[i].cfd = t->slots[i].sfd = -1;
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep < 0)
		die("epoll_create1: %s", strerror(errno));
	t->lfd = -1;
	if (r->accept)
		t->addr = r->accept_addr;
	else
		t->lfd = listener(&t->addr);
	ret = ktls_handoff_open(&t->h, r->sock);
	if (ret)
		die("ktls_handoff_open %s: %s", r->sock, ktls_strerror(ret));
	if (r->accept) {
		uint64_t id;

		ret = ktls_handoff_subscribe(t->h, r->profile, &id);
		if (ret)
			die("subscribing to %s: %s (%s)", r->profile,
			    ktls_strerror(ret), ktls_handoff_error(t->h));
	}
	t->req.size = sizeof(t->req);
	t->req.profile = r->profile;
	t->h_events = EPOLLIN;
	ep_set(t->ep, EPOLL_CTL_ADD, ktls_handoff_fd(t->h), EPOLLIN, EP_HANDOFF);
}

static void hs_thread_free(struct hs_thread *t)
{
	ktls_handoff_close(t->h);
	if (t->lfd >= 0)
		close(t->lfd);
	close(t->ep);
	free(t->slots);
	free(t->queue);
	free(t->recs.v);
}

void hs_pool_start(struct hs_pool *p, const struct daemon *d,
		   const struct opts *o, unsigned threads, int windowed)
{
	unsigned i;

	p->run.sock = d->sock;
	p->run.profile = p->run.accept ? "acc" : o->cert;
	p->run.windowed = windowed;
	if (!strncmp(o->cert, "psk", 3)) {
		gnutls_datum_t key = { (unsigned char *)PSK_KEY_HEX,
				       sizeof(PSK_KEY_HEX) - 1 };

		if (!p->run.accept)
			p->run.profile = "psk";
		/* Parsed once: this client is to cost little next to ktlsd. */
		if (gnutls_priority_init(&p->run.psk_prio, strcmp(o->cert, "psk") ?
					 PSK_DHE_PRIORITY : PSK_PRIORITY, NULL) ||
		    gnutls_psk_allocate_client_credentials(&p->run.psk) ||
		    gnutls_psk_set_client_credentials(p->run.psk, PSK_IDENTITY,
						      &key, GNUTLS_PSK_KEY_HEX))
			die("GnuTLS PSK client credentials failed");
	} else {
		p->run.cred = client_cred(o, o->cert);
	}
	p->n = threads;
	for (i = 0; i < threads; i++)
		hs_thread_init(&p->t[i], &p->run,
			       o->clients / threads + (i < o->clients % threads));
	for (i = 0; i < threads; i++)
		start_thread(&p->t[i].tid, hs_thread_main, &p->t[i]);
}

/* Join the threads (they end at t1, or when told to stop) and sum up. */
void hs_pool_join(struct hs_pool *p, struct hs_sum *sum)
{
	unsigned i;

	atomic_store(&p->run.stop, !p->run.windowed);
	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < p->n; i++) {
		struct hs_thread *t = &p->t[i];

		pthread_join(t->tid, NULL);
		sum->ok += t->ok;
		sum->errors += t->errors;
		recs_merge(&sum->recs, &t->recs);
		if (!sum->info[0] && t->group[0])
			snprintf(sum->info, sizeof(sum->info),
				 "group=%s sigalg=%s cipher=%s", t->group,
				 t->sigalg, t->cipher);
		if (!sum->first_error[0] && t->first_error[0])
			snprintf(sum->first_error, sizeof(sum->first_error),
				 "%s", t->first_error);
		hs_thread_free(t);
	}
	if (p->run.cred)
		gnutls_certificate_free_credentials(p->run.cred);
	if (p->run.psk)
		gnutls_psk_free_client_credentials(p->run.psk);
	if (p->run.psk_prio)
		gnutls_priority_deinit(p->run.psk_prio);
}


static void hs_print(const char *name, const struct opts *o,
		     const struct recs *r, struct window *w, double cpu,
		     unsigned long errors, const char *info,
		     const char *first_error)
{
	double p50, p99;
	unsigned long n = in_window_stats(r, w, &p50, &p99);

	if (first_error[0])
		fprintf(stderr, "bench: %s: %lu errors, the first: %s\n", name,
			errors, first_error);
	printf("%s value=%.2f unit=hs/s seconds=%.2f count=%lu p50_ms=%.2f "
	       "p99_ms=%.2f cpu_ms_per_hs=%.2f errors=%lu %s\n", name,
	       n / o->seconds, o->seconds, n, p50, p99,
	       n ? cpu * 1000 / n : 0.0, errors,
	       info[0] ? info : "group=? sigalg=? cipher=?");
}

/*
 * A windowed run of pool p's client threads against d, which it stops;
 * its result line under the measure's name (side), and p freed.
 */
static void pool_window(struct hs_pool *p, struct daemon *d,
			const struct opts *o, unsigned threads)
{
	struct hs_sum sum;
	double cpu;

	window_init(&p->run.win);
	hs_pool_start(p, d, o, threads, 1);
	/* The first round of clients all start at once: let it pass. */
	cpu = run_window(&p->run.win, o, &p->run.finished, o->clients, d->pid);
	hs_pool_join(p, &sum);
	daemon_stop(d);
	hs_print(side, o, &sum.recs, &p->run.win, cpu, sum.errors, sum.info,
		 sum.first_error);
	free(sum.recs.v);
	free(p);
}

void hs_handoff(const struct opts *o)
{
	struct daemon d = { 0 };
	struct hs_pool *p = xcalloc(1, sizeof(*p));

	side = "hs-handoff";
	if (o->workers == 1)
		pin_cpu(0);	/* ktlsd and its clients share one CPU */
	need_nofile(4 * o->clients + 1024);
	daemon_start(&d, o, o->clients * 2 + 64, 60000);
	pool_window(p, &d, o, o->workers);
}

/*
 * Accept mode: ktlsd listens for a profile "acc" with --cert's
 * credentials; one client thread (the subscriber must see every
 * connection its clients make: subscribers of a profile take turns).
 */
void hs_accept(const struct opts *o)
{
	struct daemon d = { 0 };
	struct hs_pool *p = xcalloc(1, sizeof(*p));
	char more[PATH_MAX * 2 + 256];
	int port = free_port();

	side = "hs-accept";
	if (port < 0)
		die("no free port");
	if (!strncmp(o->cert, "psk", 3))
		die("hs-accept takes --cert ec or rsa");
	if (o->workers == 1)
		pin_cpu(0);
	need_nofile(4 * o->clients + 1024);
	fmt(more, sizeof(more), "\n[profile acc]\nrole = server\n"
	    "certificate = %s/%s.pem\nkey = %s/%s.key\nversions = 1.3\n"
	    "ciphers = aes-128-gcm\nhandshake_timeout = 60000\n"
	    "listen = 127.0.0.1:%d\n", o->dir, o->cert, o->dir, o->cert, port);
	daemon_start_more(&d, o, o->clients * 2 + 64, 60000, more);
	p->run.accept = 1;
	p->run.accept_addr = (struct sockaddr_in){ .sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	pool_window(p, &d, o, 1);
}

/* ---- The floor: client and server in one process, no daemon ---- */

struct floor_thread {
	const struct opts *o;
	pthread_t tid;
	gnutls_certificate_credentials_t scred, ccred;
	gnutls_certificate_credentials_t scred_mem;	/* --alternate */
	struct window *win;
	atomic_ulong *finished;
	struct recs recs, recs_mem;
	char info[200];
};

static void *floor_main(void *arg)
{
	struct floor_thread *f = arg;
	unsigned long k;

	for (k = 0; !window_over(f->win); k++) {
		gnutls_session_t c, s;
		int sv[2], cdone = 0, sdone = 0, ret, spins = 0;
		double start = now(), end;
		/* --alternate: odd blocks sign in this process's memory. */
		int mem = f->o->alternate && (k / f->o->alternate) % 2;

		if (f->o->tcp) {
			ret = tcp_pair(sv);
			if (ret)
				die("loopback TCP pair: %s", strerror(-ret));
			nodelay(sv[0]);
			nodelay(sv[1]);
			set_nonblock(sv[0]);
			set_nonblock(sv[1]);
		} else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				      SOCK_NONBLOCK, 0, sv)) {
			die("socketpair: %s", strerror(errno));
		}
		c = client_session(f->ccred, sv[0]);
		/* As libktls sets a server up: no tickets, no client certificate. */
		if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK |
				GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS) ||
		    gnutls_priority_set_direct(s, HS_PRIORITY, NULL) ||
		    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
					   mem ? f->scred_mem : f->scred))
			die("GnuTLS server setup failed");
		gnutls_transport_set_int(s, sv[1]);
		while (!cdone || !sdone) {
			if (!cdone) {
				ret = gnutls_handshake(c);
				if (!ret)
					cdone = 1;
				else if (gnutls_error_is_fatal(ret))
					die("floor client: %s", gnutls_strerror(ret));
			}
			if (!sdone) {
				ret = gnutls_handshake(s);
				if (!ret)
					sdone = 1;
				else if (gnutls_error_is_fatal(ret))
					die("floor server: %s", gnutls_strerror(ret));
			}
			if (++spins > 10000)
				die("floor handshake makes no progress");
		}
		end = now();
		rec_add(mem ? &f->recs_mem : &f->recs, end,
			(end - start) * 1000);
		atomic_fetch_add(f->finished, 1);
		if (!f->info[0])
			snprintf(f->info, sizeof(f->info),
				 "group=%s sigalg=%s cipher=%s",
				 gnutls_group_get_name(gnutls_group_get(s)),
				 gnutls_sign_get_name(gnutls_sign_algorithm_get(s)),
				 gnutls_cipher_get_name(gnutls_cipher_get(s)));
		gnutls_deinit(c);
		gnutls_deinit(s);
		if (f->o->tcp) {
			close_reset(sv[0]);
			close_reset(sv[1]);
		} else {
			close(sv[0]);
			close(sv[1]);
		}
	}
	return NULL;
}

/*
 * --keyproc: the server's key in a key process of ktlsd's, as ktlsd's
 * profiles have it; everything else as in the floor. The ratio of the two
 * is the key process's own cost, and needs no kTLS: it runs on any kernel.
 */
static struct keyproc *floor_keyproc(gnutls_certificate_credentials_t cred,
				     const char *cert, const char *key)
{
	gnutls_pcert_st pcert[8];
	unsigned n = 8;
	struct kp_loaded loaded;
	struct keyproc *kp;
	gnutls_privkey_t pk;
	char abs[PATH_MAX];
	int ret;

	if (!realpath(key, abs))
		die("%s: %s", key, strerror(errno));
	ret = keyproc_spawn(&kp);
	if (!ret)
		ret = keyproc_load(kp, KP_SRC_FILE, abs, &loaded);
	if (!ret)
		ret = keyproc_seal(kp);
	if (!ret)
		ret = keyproc_privkey(kp, &loaded, 0, &pk);
	if (ret)
		die("the key process with %s: %s", abs, strerror(-ret));
	if (gnutls_pcert_list_import_x509_file(pcert, &n, cert,
					       GNUTLS_X509_FMT_PEM, NULL, NULL,
					       0) < 0 ||
	    gnutls_certificate_set_key(cred, NULL, 0, pcert, n, pk) < 0)
		die("cannot load %s", cert);
	return kp;
}

/*
 * Handshakes per second of busy time: in-window records over the sum of
 * their own durations (--alternate: the time of the other half's blocks
 * does not count against either).
 */
static double busy_rate(const struct recs *r, struct window *w,
			unsigned long *count)
{
	double t0 = atomic_load(&w->t0), t1 = atomic_load(&w->t1), ms = 0;
	size_t i;

	*count = 0;
	for (i = 0; i < r->n; i++)
		if (r->v[i].end >= t0 && r->v[i].end < t1) {
			ms += r->v[i].ms;
			(*count)++;
		}
	return ms > 0 ? *count * 1000 / ms : 0;
}

void hs_floor(const struct opts *o)
{
	struct floor_thread f[MAX_THREADS];
	gnutls_certificate_credentials_t scred, ccred, smem = NULL;
	struct window win;
	atomic_ulong finished = 0;
	struct recs recs = { 0 }, recs_mem = { 0 };
	char cert[PATH_MAX], key[PATH_MAX];
	struct keyproc *kp = NULL;
	double cpu;
	unsigned i;

	side = "hs-floor";
	if (!strncmp(o->cert, "psk", 3))
		die("the floor takes --cert ec or rsa");
	if (o->workers == 1)
		pin_cpu(0);
	fmt(cert, sizeof(cert), "%s/%s.pem", o->dir, o->cert);
	fmt(key, sizeof(key), "%s/%s.key", o->dir, o->cert);
	if (gnutls_certificate_allocate_credentials(&scred))
		die("out of memory");
	if (o->alternate && (!o->keyproc || o->workers != 1))
		die("--alternate takes --keyproc and --workers 1");
	if (o->control && !o->alternate)
		die("--control takes --alternate");
	if (o->alternate &&
	    (gnutls_certificate_allocate_credentials(&smem) ||
	     gnutls_certificate_set_x509_key_file(smem, cert, key,
						  GNUTLS_X509_FMT_PEM) < 0))
		die("cannot load %s and %s", cert, key);
	if (o->keyproc)
		kp = floor_keyproc(scred, cert, key);
	else if (gnutls_certificate_set_x509_key_file(scred, cert, key,
						      GNUTLS_X509_FMT_PEM) < 0)
		die("cannot load %s and %s", cert, key);
	ccred = client_cred(o, o->cert);
	window_init(&win);
	for (i = 0; i < o->workers; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].o = o;
		f[i].scred = scred;
		f[i].scred_mem = o->control ? scred : smem;
		f[i].ccred = ccred;
		f[i].win = &win;
		f[i].finished = &finished;
		start_thread(&f[i].tid, floor_main, &f[i]);
	}
	cpu = run_window(&win, o, &finished, o->workers, 0);
	for (i = 0; i < o->workers; i++) {
		pthread_join(f[i].tid, NULL);
		recs_merge(&recs, &f[i].recs);
		recs_merge(&recs_mem, &f[i].recs_mem);
		free(f[i].recs.v);
		free(f[i].recs_mem.v);
	}
	if (o->alternate) {
		unsigned long na, nb;
		double a = busy_rate(&recs, &win, &na);
		double b = busy_rate(&recs_mem, &win, &nb);

		printf("hs-floor-alternate value=%.2f unit=hs/s seconds=%.2f "
		       "count=%lu mem_value=%.2f mem_count=%lu ratio=%.4f "
		       "block=%u %s\n", a, o->seconds, na, b, nb, b ? a / b : 0,
		       o->alternate, f[0].info);
	} else {
		hs_print("hs-floor", o, &recs, &win, cpu, 0, f[0].info, "");
	}
	free(recs.v);
	free(recs_mem.v);
	if (smem)
		gnutls_certificate_free_credentials(smem);
	gnutls_certificate_free_credentials(scred);
	gnutls_certificate_free_credentials(ccred);
	keyproc_put(kp);
}
