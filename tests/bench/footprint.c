// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The daemon's footprint (P6, P7): build/ktlsd's RSS and descriptors
 * while it holds stalled clients (mem-inflight), and after many completed
 * handshakes (mem-churn, through handshakes.c's client threads).
 */
#include <poll.h>

#include "bench.h"

/* Settle, then one sample of the daemon's RSS and descriptors. */
static void sample(pid_t pid, long *rss, long *fds)
{
	sleep_s(0.5);
	*rss = proc_rss_kib(pid);
	*fds = proc_fds(pid);
	if (*rss < 0 || *fds < 0)
		die("cannot read /proc/%d (did ktlsd die?)", (int)pid);
}

/*
 * A few complete handshakes first, so that what every daemon allocates
 * once (worker arenas, GnuTLS's lazy set-up) is in the baseline.
 */
static void warm_up(const struct daemon *d, const struct opts *o,
		    unsigned long n)
{
	struct hs_pool *p = xcalloc(1, sizeof(*p));
	struct opts w = *o;
	struct hs_sum sum;

	w.clients = 8;
	atomic_store(&p->run.limit, n);
	hs_pool_start(p, d, &w, 2, 0);
	while (atomic_load(&p->run.finished) < n)
		sleep_s(0.02);
	hs_pool_join(p, &sum);
	if (sum.errors)
		die("warm-up handshakes failed: %s", sum.first_error);
	free(sum.recs.v);
	free(p);
}

/* Read replies; while clients are held, any reply is an error. */
static unsigned long drain_replies(struct ktls_handoff *h, unsigned long *errors,
				   char *first, size_t first_len)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	unsigned long n = 0;
	int ret;

	while ((ret = ktls_handoff_result(h, &r)) == 1) {
		n++;
		if (errors) {
			(*errors)++;
			if (!first[0])
				snprintf(first, first_len, "%s (%s)",
					 ktls_strerror(r.status),
					 ktls_handoff_error(h));
		}
		ktls_session_free(r.session);
	}
	if (ret < 0)
		die("the handoff connection failed: %s (%s)", ktls_strerror(ret),
		    ktls_handoff_error(h));
	return n;
}

/* mem-inflight's clients, held by ktlsd, and its baseline. */
struct inflight {
	struct daemon d;
	struct ktls_handoff *h;
	struct ktls_handoff_req req;
	struct sockaddr_in addr;
	struct pollfd pfd;
	int *cfd, *sfd, lfd;
	unsigned long held, errors;
	long base_rss, base_fds;
	char first[300];
};

/* --counts: increasing numbers, at most 8; *max gets the last. */
static size_t parse_counts(const char *p, unsigned long counts[8],
			   unsigned long *max)
{
	size_t n_counts = 0;
	char *end;

	while (*p && n_counts < 8) {
		counts[n_counts] = strtoul(p, &end, 10);
		if (end == p || counts[n_counts] <= *max)
			die("--counts takes increasing numbers: 1000,5000,10000");
		*max = counts[n_counts++];
		p = *end == ',' ? end + 1 : end;
	}
	if (!n_counts)
		die("--counts missing");
	return n_counts;
}

/* Hold count clients in all, then sample ktlsd once it holds them. */
static void inflight_fill(struct inflight *f, unsigned long count)
{
	double t = now();
	long rss, fds;
	uint64_t id;
	int ret;

	for (; f->held < count; f->held++) {
		f->cfd[f->held] = connect_to(&f->addr, f->lfd, &f->sfd[f->held]);
		/* Each request goes out before the next connection. */
		while ((ret = ktls_handoff_submit(f->h, f->sfd[f->held], &f->req,
						  &id)) == -EAGAIN) {
			f->pfd.events = POLLOUT | POLLIN;
			poll(&f->pfd, 1, 1000);
			drain_replies(f->h, &f->errors, f->first, sizeof(f->first));
		}
		if (ret)
			die("ktls_handoff_submit: %s", ktls_strerror(ret));
	}
	/* ktlsd holds a duplicate of each socket while it waits. */
	for (;;) {
		drain_replies(f->h, &f->errors, f->first, sizeof(f->first));
		fds = proc_fds(f->d.hs);
		if (fds < 0)
			die("ktlsd is gone");
		if (fds >= f->base_fds + (long)count - (long)f->errors)
			break;
		if (now() - t > 600)
			die("ktlsd holds %ld of %lu sockets after 600 s",
			    fds - f->base_fds, count);
		sleep_s(0.1);
	}
	sample(f->d.hs, &rss, &fds);
	drain_replies(f->h, &f->errors, f->first, sizeof(f->first));
	printf("inflight n=%lu held=%ld errors=%lu rss_kib=%ld "
	       "base_rss_kib=%ld per_kib=%.2f fds=%ld base_fds=%ld "
	       "fill_s=%.1f\n", count, fds - f->base_fds, f->errors, rss,
	       f->base_rss, (double)(rss - f->base_rss) / count, fds,
	       f->base_fds, now() - t);
	fflush(stdout);
	if (f->errors)
		fprintf(stderr, "bench: %s: the first error reply: %s\n",
			side, f->first);
}

/* The clients leave: every handshake fails, every socket goes. */
static void inflight_release(struct inflight *f, unsigned long max)
{
	double t = now();
	unsigned long replies, k;
	long rss, fds;

	for (k = 0; k < max; k++)
		close_reset(f->cfd[k]);
	for (replies = f->errors; replies < max && now() - t < 600;) {
		f->pfd.events = POLLIN;
		poll(&f->pfd, 1, 200);
		replies += drain_replies(f->h, NULL, NULL, 0);
	}
	for (k = 0; k < max; k++)
		close(f->sfd[k]);
	while ((fds = proc_fds(f->d.hs)) > f->base_fds && now() - t < 600)
		sleep_s(0.1);
	sample(f->d.hs, &rss, &fds);
	printf("inflight-released n=%lu replies=%lu fds=%ld base_fds=%ld "
	       "rss_kib=%ld base_rss_kib=%ld drain_s=%.1f\n", max, replies, fds,
	       f->base_fds, rss, f->base_rss, now() - t);
}

void mem_inflight(const struct opts *o)
{
	struct inflight f = {
		.req = { .size = sizeof(f.req), .profile = "ec" },
	};
	unsigned long counts[8], max = 0;
	size_t n_counts, k;
	int ret;

	side = "mem-inflight";
	n_counts = parse_counts(o->counts, counts, &max);
	need_nofile(2 * max + 4096);
	f.cfd = xcalloc(max, sizeof(*f.cfd));
	f.sfd = xcalloc(max, sizeof(*f.sfd));
	daemon_start(&f.d, o, max + 1024, 600000);
	warm_up(&f.d, o, 32);
	ret = ktls_handoff_open(&f.h, f.d.sock);
	if (ret)
		die("ktls_handoff_open: %s", ktls_strerror(ret));
	f.lfd = listener(&f.addr);
	sample(f.d.hs, &f.base_rss, &f.base_fds);
	printf("inflight-base rss_kib=%ld fds=%ld\n", f.base_rss, f.base_fds);
	fflush(stdout);

	f.pfd.fd = ktls_handoff_fd(f.h);
	for (k = 0; k < n_counts; k++)
		inflight_fill(&f, counts[k]);
	inflight_release(&f, max);
	ktls_handoff_close(f.h);
	close(f.lfd);
	daemon_stop(&f.d);
	free(f.cfd);
	free(f.sfd);
}

/* Start up to limit handshakes in all, wait for them, sample. */
static void churn_to(struct hs_pool *p, const struct daemon *d,
		     unsigned long limit, long *rss, long *fds)
{
	atomic_store(&p->run.limit, limit);
	while (atomic_load(&p->run.finished) < limit) {
		if (child_gone(d->pid))
			die("ktlsd died");
		sleep_s(0.02);
	}
	sample(d->hs, rss, fds);
}

void mem_churn(const struct opts *o)
{
	struct daemon d = { 0 };
	struct hs_pool *p = xcalloc(1, sizeof(*p));
	struct hs_sum sum;
	unsigned long second, step, mid;
	int q;
	long base_rss, base_fds, rss1, fds1, rss2, fds2;
	double t0, t1, t2, rate, dcpu, bcpu;

	side = "mem-churn";
	need_nofile(4 * o->clients + 1024);
	daemon_start(&d, o, o->clients * 2 + 64, 60000);
	sample(d.hs, &base_rss, &base_fds);
	hs_pool_start(p, &d, o, o->workers, 0);
	t0 = now();
	churn_to(p, &d, o->first, &rss1, &fds1);
	t1 = now();
	printf("churn-%s n=%lu rss_kib=%ld fds=%ld base_rss_kib=%ld base_fds=%ld "
	       "seconds=%.1f\n", o->cert, o->first, rss1, fds1, base_rss,
	       base_fds, t1 - t0);
	fflush(stdout);
	/* As many more as the budget allows at the rate just seen. */
	rate = o->first / (t1 - t0);
	second = o->first + (unsigned long)(rate * o->budget);
	step = o->first >= 1000 ? 1000 : 100;
	second = second / step * step;
	if (second > o->max)
		second = o->max;
	if (second < 2 * o->first)
		second = 2 * o->first;
	dcpu = proc_cpu(d.hs);
	bcpu = cpu_seconds();
	/* Samples on the way too: growth that goes on tells a leak from noise. */
	for (q = 1; q < 4; q++) {
		mid = o->first + (second - o->first) * q / 4;
		churn_to(p, &d, mid, &rss2, &fds2);
		printf("churn-%s n=%lu rss_kib=%ld fds=%ld seconds=%.1f\n", o->cert,
		       mid, rss2, fds2, now() - t1);
		fflush(stdout);
	}
	churn_to(p, &d, second, &rss2, &fds2);
	t2 = now();
	dcpu = proc_cpu(d.hs) - dcpu;
	bcpu = cpu_seconds() - bcpu;
	hs_pool_join(p, &sum);
	daemon_stop(&d);
	printf("churn-%s n=%lu rss_kib=%ld fds=%ld base_rss_kib=%ld base_fds=%ld "
	       "seconds=%.1f rate=%.1f errors=%lu wanted=%lu "
	       "ktlsd_cpu_ms_per_hs=%.2f clients_cpu_ms_per_hs=%.2f %s\n",
	       o->cert, second, rss2, fds2, base_rss, base_fds, t2 - t1,
	       (second - o->first) / (t2 - t1), sum.errors, o->max,
	       dcpu * 1000 / (second - o->first),
	       bcpu * 1000 / (second - o->first),
	       sum.info[0] ? sum.info : "group=? sigalg=? cipher=?");
	/* The counts are of completed handshakes: a failed one voids them. */
	if (sum.errors)
		die("%lu handshakes failed, the first: %s", sum.errors,
		    sum.first_error);
	free(sum.recs.v);
	free(p);
}
