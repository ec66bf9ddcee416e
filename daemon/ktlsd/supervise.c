// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The supervisor: ktlsd's first process, root, with no network input. It
 * loaded the configuration and opened the listening sockets; it forks the
 * handshake process (hsproc.c), which inherits both and gives up root,
 * and then only watches: signals, the child's one-byte "serving" pipe and
 * a timer for the metrics file. It reads nothing a program or the network
 * sent.
 *
 * A handshake process that dies unasked is replaced at once (after five
 * deaths in ten seconds, five seconds later): the sockets stay open here,
 * so a connect() is queued, never refused, and the kernel's requests wait
 * for the next process. Requests that the dead one held see their
 * connection close. SIGHUP loads the configuration again and starts a
 * new process with it; once that one serves, the old one drains (it
 * finishes what it holds and exits). The counters live in a shared
 * mapping: they survive both.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keyproc.h"
#include "loop.h"
#include "upcall.h"

#define DEATHS		5	/* this many deaths ... */
#define DEATHS_MS	10000	/* ... within this: back off */
#define BACKOFF_MS	5000
#define HANDOVER_MS	10000	/* a reload's old process says it drains */

enum gen_state { G_FREE, G_STARTING, G_SERVING, G_DRAINING };

/* A handshake process; gens[i] uses stats->inflight[i]. */
struct gen {
	enum gen_state state;
	pid_t pid;
	int ready_fd;			/* its socket: "R" when it serves, "D"
					   when it drains and takes no new
					   requests; ours "U" (hand over: a
					   reload's drain), "T" (stop) */
	int query_fd;			/* its offload questions (offload.c) */
	int query_hup;			/* ... closed: poll it no more */
	struct conf *conf;
};

struct sup {
	struct conf *conf;		/* the serving configuration */
	struct listeners *ls;
	struct hs_user user;
	struct stats *stats;
	int sfd, verbose;
	struct gen gens[STATS_SLOTS];
	int reload;			/* the starting one is a reload's */
	struct gen *handover_from;	/* a reload waits for its "D" ... */
	struct gen *handover_to;	/* ... to announce this one */
	int64_t handover_by;		/* at the latest */
	int reload_again;		/* SIGHUP while one started */
	int ever_served, stopping;
	int64_t restart_at;		/* 0: none due */
	int64_t deaths[DEATHS];		/* a ring of times of death */
	unsigned n_deaths;
	struct metrics *metrics;
};

static void notify_reloading(void)
{
	struct timespec ts;
	char state[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	notify(state);
}

static struct gen *find(struct sup *s, enum gen_state st)
{
	int i;

	for (i = 0; i < STATS_SLOTS; i++)
		if (s->gens[i].state == st)
			return &s->gens[i];
	return NULL;
}

/*
 * In a new handshake process: the connection to the key process of a
 * configuration other than its own, c, closed (our copy of the struct
 * marked), so an older key process ends with the processes that use it.
 */
static void close_keys(struct conf *other, const struct conf *c)
{
	if (other && other != c)
		keyproc_forget(other->keys);
}

/* Fork a handshake process serving c; -EBUSY when all slots are taken. */
static int spawn(struct sup *s, struct conf *c)
{
	struct gen *g = find(s, G_FREE);
	struct hsproc_args a;
	int p[2], q[2], ret;
	pid_t pid;

	if (!g)
		return -EBUSY;
	ret = offload_pair(q);
	if (ret)
		return ret;
	/* Both ways: "R", "D" from it; "U", "T" to it (hsproc.c). */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p)) {
		ret = -errno;
		close(q[0]);
		close(q[1]);
		return ret;
	}
	atomic_store(&s->stats->inflight[g - s->gens], 0);
	if (s->ls->upcall_mc)
		upcall_link_keyrings(c);	/* .nvme may have come since */
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		close(q[0]);
		close(q[1]);
		return ret;
	}
	if (!pid) {
		for (int i = 0; i < STATS_SLOTS; i++) {
			if (s->gens[i].state != G_FREE) {
				close(s->gens[i].ready_fd);
				close(s->gens[i].query_fd);
				close_keys(s->gens[i].conf, c);
			}
		}
		close_keys(s->conf, c);
		close(p[0]);
		close(q[0]);
		close(s->sfd);
		a = (struct hsproc_args){
			.conf = c, .ls = s->ls, .stats = s->stats,
			.slot = g - s->gens, .user = &s->user,
			.supervisor = getppid(), .ready_fd = p[1],
			.offload_fd = q[1],
			.verbose = s->verbose,
		};
		hsproc_main(&a);
	}
	close(p[1]);
	close(q[1]);
	g->state = G_STARTING;
	g->pid = pid;
	g->ready_fd = p[0];
	g->query_fd = q[0];
	g->query_hup = 0;
	g->conf = conf_get(c);
	log_debug("handshake process %d starting", (int)pid);
	return 0;
}

static void gen_free(struct sup *s, struct gen *g)
{
	close(g->ready_fd);
	close(g->query_fd);
	atomic_store(&s->stats->inflight[g - s->gens], 0);
	conf_put(g->conf);
	memset(g, 0, sizeof(*g));
}

/* A reload's end, as the service manager needs to hear it. */
static void reload_end(struct sup *s, int ok)
{
	stats_reloaded(s->stats, ok);
	s->reload = 0;
	notify("READY=1");
}

/* A reload's success: logged, and said to the service manager. */
static void reloaded(struct sup *s, const struct gen *g)
{
	log_info("reloaded %s: %zu profiles, handshake process %d",
		 s->conf->path, s->conf->n_profiles, (int)g->pid);
	reload_end(s, 1);
}

/* The old process takes no new requests (or is gone, or late): said. */
static void handover_end(struct sup *s, int late)
{
	if (late)
		log_warn("handshake process %d did not say it drains within "
			 "%d ms", (int)s->handover_from->pid, HANDOVER_MS);
	reloaded(s, s->handover_to);
	s->handover_from = s->handover_to = NULL;
}

/*
 * Tell a handshake process to drain: 'U' (a reload's: its open
 * connections are served, then closed) or 'T' (stop). On its socket, not
 * by a signal: under systemd the supervisor has no CAP_KILL, and root
 * without it may not signal the ktlsd user's processes.
 */
static void tell(struct gen *g, char what)
{
	if (write(g->ready_fd, &what, 1) != 1)
		log_debug("handshake process %d: %m", (int)g->pid);
}

/*
 * g says it serves: it takes over from the one before, which drains
 * (told 'U': its open connections are served, then closed). A
 * reload is announced once the old one takes no new request, so that
 * every connection made after `systemctl reload` returns gets the new
 * configuration.
 */
static void serving(struct sup *s, struct gen *g)
{
	struct gen *old = find(s, G_SERVING);

	g->state = G_SERVING;
	if (old) {
		old->state = G_DRAINING;
		tell(old, 'U');
	}
	if (g->conf != s->conf) {
		conf_put(s->conf);
		s->conf = conf_get(g->conf);
	}
	if (s->reload && old) {
		s->handover_from = old;
		s->handover_to = g;
		s->handover_by = now_ms() + HANDOVER_MS;
	} else if (s->reload) {
		reloaded(s, g);
	} else if (!s->ever_served) {
		notify("READY=1");
	} else {
		log_info("handshake process %d serves", (int)g->pid);
	}
	s->ever_served = 1;
}

/* Why a process ended, for the log. */
static const char *how(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "exited with status %d",
			 WEXITSTATUS(status));
	return buf;
}

/* When to start the next one: now, unless it keeps dying. */
static void schedule_restart(struct sup *s)
{
	int64_t now = now_ms(), oldest;

	s->deaths[s->n_deaths++ % DEATHS] = now;
	oldest = s->deaths[s->n_deaths % DEATHS];
	if (s->n_deaths >= DEATHS && now - oldest < DEATHS_MS) {
		log_err("the handshake process died %d times in %d s; the "
			"next starts in %d s", DEATHS, DEATHS_MS / 1000,
			BACKOFF_MS / 1000);
		s->restart_at = now + BACKOFF_MS;
	} else {
		s->restart_at = now;
	}
}

/* A child ended: a drained one, a crash, or a start that failed. */
static int reaped(struct sup *s, pid_t pid, int status)
{
	char why[96];
	struct gen *g = NULL;
	int i;

	for (i = 0; i < STATS_SLOTS; i++)
		if (s->gens[i].state != G_FREE && s->gens[i].pid == pid)
			g = &s->gens[i];
	if (!g) {
		/*
		 * Not a handshake process: a key process (conf_load() spawns
		 * one per configuration). The serving one's death is a
		 * reload: the keys are read again and handed to a fresh one,
		 * as on SIGHUP (after a start under way). An older one ends
		 * when the last process using its configuration has.
		 */
		if (s->conf && s->conf->keys && s->conf->keys->pid == pid) {
			log_err("the key process %d %s; reloading to start "
				"another", (int)pid, how(status, why,
							  sizeof(why)));
			s->conf->keys->pid = 0;	/* reaped here */
			s->reload_again = 1;
		} else {
			log_debug("process %d %s", (int)pid,
				  how(status, why, sizeof(why)));
		}
		return 0;
	}
	if (g == s->handover_from || g == s->handover_to)
		handover_end(s, 0);
	if (g->state == G_DRAINING || s->stopping) {
		log_debug("handshake process %d %s", (int)pid,
			  how(status, why, sizeof(why)));
		gen_free(s, g);
		return 0;
	}
	log_err("handshake process %d %s%s", (int)pid,
		how(status, why, sizeof(why)), g->state == G_STARTING ?
		" before it served" : "; starting another");
	if (g->state == G_STARTING && !s->ever_served) {
		gen_free(s, g);
		return -1;	/* it said why: ktlsd does not start */
	}
	if (g->state == G_STARTING && s->reload) {
		log_err("reload refused: the running handshake process stays");
		gen_free(s, g);
		reload_end(s, 0);
		return 0;
	}
	gen_free(s, g);
	schedule_restart(s);
	return 0;
}

/* What a reload cannot change: said, and the old value kept. */
static void warn_fixed(const struct conf *old, const struct conf *c)
{
	if (strcmp(c->socket_path, old->socket_path) ||
	    strcmp(c->control_path, old->control_path) ||
	    strcmp(c->user, old->user) ||
	    (c->upcall->enable == UPCALL_NO) !=
	    (old->upcall->enable == UPCALL_NO))
		log_warn("reload: the sockets, the upcall's enable and the "
			 "user change only with a restart");
	if (accept_listen_differs(old, c))
		log_warn("reload: listen addresses change only with a restart");
	if (c->workers != old->workers)
		log_warn("reload: the worker count changes only with a "
			 "restart");
}

/* SIGHUP: a new configuration, served by a new handshake process. */
static void reload(struct sup *s)
{
	struct conf *c;
	char err[512];
	int ret;

	if (find(s, G_STARTING) || s->handover_from) {
		s->reload_again = 1;	/* after this start */
		return;
	}
	notify_reloading();
	ret = s->conf->tlshd_only
		? conf_load_tlshd(s->conf->path, &c, err, sizeof(err))
		: conf_load(s->conf->path, &c, err, sizeof(err));
	if (ret) {
		log_err("reload refused, the running configuration stays: %s",
			err);
		reload_end(s, 0);
		return;
	}
	warn_fixed(s->conf, c);
	log_set_level(s->verbose ? LOG_DEBUG : c->log_level);
	conf_log_loosened(c);
	s->reload = 1;
	ret = spawn(s, c);
	conf_put(c);
	if (ret) {
		log_err("reload refused: %s", ret == -EBUSY ? "too many "
			"handshake processes still drain" : strerror(-ret));
		reload_end(s, 0);
	}
}

/* The last line: what the front doors' counters add up to. */
static void log_exit_counts(struct stats *st)
{
	unsigned long ok = 0, failed = 0, busy = 0;
	int f;

	for (f = 0; f < FRONT_COUNT; f++) {
		ok += atomic_load(&st->front[f].succeeded);
		failed += atomic_load(&st->front[f].failed);
		busy += atomic_load(&st->front[f].refused_busy);
	}
	log_info("exiting: %lu handshakes done, %lu failed, %lu refused busy",
		 ok, failed, busy);
}

/* SIGTERM: every handshake process drains; we wait for them all. */
static void stop(struct sup *s)
{
	int i;

	if (s->stopping)
		return;
	s->stopping = 1;
	notify("STOPPING=1");
	for (i = 0; i < STATS_SLOTS; i++)
		if (s->gens[i].state != G_FREE)
			tell(&s->gens[i], 'T');
}

static int on_signal(struct sup *s)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	if (read(s->sfd, &si, sizeof(si)) != sizeof(si))
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (si.ssi_signo == SIGHUP && !s->stopping)
		reload(s);
	else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
		stop(s);
	/* SIGCHLD, or any: signals merge, so reap all there is. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (reaped(s, pid, status))
			return -1;
	return 0;
}

/*
 * The pipe of the starting process (a byte when it serves, EOF if it
 * died) or of the one a reload replaces (a byte when it drains).
 */
static void on_ready(struct sup *s, struct gen *g)
{
	char b;

	if (g == s->handover_from) {
		if (read(g->ready_fd, &b, 1) < 0 && errno == EINTR)
			return;
		handover_end(s, 0);	/* "D", or EOF: it is gone */
	} else if (read(g->ready_fd, &b, 1) == 1) {
		serving(s, g);
	}
	/* else: its SIGCHLD says what happened */
}

static int any_left(struct sup *s)
{
	return find(s, G_STARTING) || find(s, G_SERVING) ||
	       find(s, G_DRAINING);
}

/* Start another when one is due and none serves or starts. */
static void restart_due(struct sup *s)
{
	int ret;

	if (s->stopping || !s->restart_at || now_ms() < s->restart_at)
		return;
	if (find(s, G_STARTING) || find(s, G_SERVING)) {
		s->restart_at = 0;
		return;
	}
	ret = spawn(s, s->conf);
	if (ret) {
		log_err("starting a handshake process: %s; trying again",
			strerror(-ret));
		s->restart_at = now_ms() + 1000;
		return;
	}
	s->restart_at = 0;
}

/* The handshake processes' offload questions: answer what came. */
static int add_queries(struct sup *s, struct pollfd *p, struct gen **who)
{
	int i, n = 0;

	for (i = 0; i < STATS_SLOTS; i++) {
		if (s->gens[i].state == G_FREE || s->gens[i].query_hup)
			continue;
		p[n] = (struct pollfd){ .fd = s->gens[i].query_fd,
					.events = POLLIN };
		who[n++] = &s->gens[i];
	}
	return n;
}

static void answer_queries(struct pollfd *p, struct gen **who, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (p[i].revents & POLLIN)
			offload_answer(p[i].fd);
		else if (p[i].revents)
			who[i]->query_hup = 1;	/* it is going */
	}
}

static int wait_step(struct sup *s, int64_t next)
{
	struct pollfd p[2 + STATS_SLOTS] = {
		{ .fd = s->sfd, .events = POLLIN }, { .fd = -1 }
	};
	struct gen *g = find(s, G_STARTING), *who[STATS_SLOTS];
	int64_t wait = next - now_ms();
	int nq;

	if (!g && s->handover_from) {
		g = s->handover_from;
		if (s->handover_by < next)
			wait = s->handover_by - now_ms();
	}
	if (g)
		p[1] = (struct pollfd){ .fd = g->ready_fd, .events = POLLIN };
	nq = add_queries(s, p + 2, who);
	if (s->restart_at && s->restart_at < next)
		wait = s->restart_at - now_ms();
	if (poll(p, 2 + nq, wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait) < 0 &&
	    errno != EINTR)
		fatal("poll: %m");
	answer_queries(p + 2, who, nq);
	if (g && p[1].revents)
		on_ready(s, g);
	else if (g && g == s->handover_from && now_ms() >= s->handover_by)
		handover_end(s, 1);
	if ((p[0].revents & POLLIN) && on_signal(s))
		return -1;
	if (!find(s, G_STARTING) && !s->handover_from && s->reload_again &&
	    !s->stopping) {
		s->reload_again = 0;
		reload(s);
	}
	restart_due(s);
	return 0;
}

int supervise(struct conf *c, struct listeners *ls, int sfd, int verbose)
{
	struct sup s = { .conf = c, .ls = ls, .sfd = sfd, .verbose = verbose };
	int64_t next;
	int ret = 0;

	if (privdrop_lookup(c, &s.user)) {
		front_close(ls);
		conf_put(c);
		return 1;
	}
	s.stats = mmap(NULL, sizeof(*s.stats), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s.stats == MAP_FAILED)
		fatal("mmap: %m");
	s.stats->start_ms = now_ms();
	if (spawn(&s, c))
		fatal("fork: %m");
	while (!s.stopping || any_left(&s)) {
		next = metrics_run(&s.metrics, s.conf, s.stats,
				   s.stats->start_ms, 0);
		if (wait_step(&s, next)) {
			ret = 1;
			break;
		}
	}
	if (ret)
		stop(&s);	/* and wait: nothing may outlive us */
	while (any_left(&s) && wait_step(&s, now_ms() + 1000) == 0)
		;
	metrics_run(&s.metrics, s.conf, s.stats, s.stats->start_ms, 1);
	metrics_free(s.metrics);
	if (!ret)
		log_exit_counts(s.stats);
	conf_put(s.conf);
	front_close(ls);
	munmap(s.stats, sizeof(*s.stats));
	return ret;
}
