// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The handshake process: forked by the supervisor with the configuration
 * and the listening sockets, it gives up root (privdrop.c), then runs the
 * workers and the front doors until told to drain. It never loads a
 * configuration: a reload is a new process.
 *
 * The front doors, in the order they open: adding one is its file and a
 * row here. listen() runs in the supervisor (root, before any fork) and
 * keeps its sockets in ls; open() runs in each handshake process and
 * serves them. Each returns 0 when serving or when it has nothing to
 * serve, or -errno: then ktlsd stops, unless the row is optional (the
 * door has logged why it is missing).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "daemon.h"
#include "keyproc.h"
#include "loop.h"
#include "upcall.h"

static const struct front_door {
	const char *name;
	int (*listen)(struct listeners *ls, const struct conf *c,
		      int activated_fd);
	int (*open)(struct ktlsd *d, const struct conf *c,
		    const struct listeners *ls);
	int optional;
} front_doors[] = {
	{ "handoff", handoff_listen, handoff_open, 0 },
	{ "accept", accept_listen, accept_open, 0 },
	{ "upcall", upcall_listen, upcall_open, 0 },
	{ "control", control_listen, control_open, 1 },
};

#define N_DOORS (sizeof(front_doors) / sizeof(front_doors[0]))

int front_listen(struct listeners *ls, const struct conf *c, int activated_fd)
{
	struct tcp_listener *tcp = ls->tcp;	/* accept_activated()'s */
	size_t i, n_tcp = ls->n_tcp;
	const struct front_door *f;
	int ret;

	memset(ls, 0, sizeof(*ls));
	ls->handoff = ls->control = -1;
	ls->tcp = tcp;
	ls->n_tcp = n_tcp;
	for (i = 0; i < N_DOORS; i++) {
		f = &front_doors[i];
		ret = f->listen(ls, c, activated_fd);
		if (ret)
			log_debug("%s: not opened: %s", f->name,
				  strerror(-ret));
		if (ret && !f->optional) {
			front_close(ls);
			return ret;
		}
	}
	return 0;
}

void front_close(struct listeners *ls)
{
	if (ls->handoff >= 0)
		close(ls->handoff);
	if (ls->control >= 0)
		close(ls->control);
	if (ls->handoff_path)
		unlink(ls->handoff_path);
	if (ls->control_path)
		unlink(ls->control_path);
	if (ls->upcall_mc)
		nl_socket_free(ls->upcall_mc);
	accept_close(ls);
	free(ls->handoff_path);
	free(ls->control_path);
	memset(ls, 0, sizeof(*ls));
	ls->handoff = ls->control = -1;
}

static int open_front_doors(struct ktlsd *d, const struct conf *c,
			    const struct listeners *ls)
{
	const struct front_door *f;
	size_t i;
	int ret;

	for (i = 0; i < N_DOORS; i++) {
		f = &front_doors[i];
		ret = f->open(d, c, ls);
		if (ret)
			log_debug("%s: not served: %s", f->name,
				  strerror(-ret));
		if (ret && !f->optional)
			return ret;
	}
	return 0;
}

static unsigned worker_count(const struct conf *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (c->workers)
		return c->workers;
	return n > 0 ? (unsigned)n : 1;
}

/* SIGTERM and SIGINT (stop) through a signalfd; SIGHUP is the supervisor's. */
static int child_signals(void)
{
	sigset_t set;
	int sfd;

	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);	/* before any thread */
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd: %m");
	return sfd;
}

/* Workers, then the front doors; exits when they cannot start. */
static void start_serving(struct ktlsd *d, const struct hsproc_args *a)
{
	struct conf *c = a->conf;
	unsigned i, shared = 0;
	int ret;

	ktlsd_set_conf(d, conf_get(c));
	keyring_init();		/* before the workers: they share it */
	/* A lane to the key process per worker, open before "ready:". */
	for (i = 0; c->keys && i < worker_count(c); i++)
		shared += keyproc_open_lane(c->keys, i) < 0;
	if (shared)
		log_warn("key process: %u of %u workers got no lane of their "
			 "own; they sign one at a time over the first "
			 "connection", shared, worker_count(c));
	ret = loop_start(d, worker_count(c));
	if (ret)
		fatal("starting workers: %s", strerror(-ret));
	ret = open_front_doors(d, c, a->ls);
	if (ret)
		exit(1);
	log_info("ready: %zu profiles, %u workers, %s%s%s", c->n_profiles,
		 d->n_workers, a->ls->handoff_path ? "socket " :
		 a->ls->handoff >= 0 ? "activated socket" : "no handoff socket",
		 a->ls->handoff_path ? a->ls->handoff_path : "",
		 d->upcall ? ", kernel upcall" : "");
}

/*
 * Until told to drain: by the supervisor on our socket ('U': a reload's
 * hand-over, 'T': stop; its end: it is gone, stop) or by SIGTERM/SIGINT.
 * 1 for a hand-over.
 */
static int wait_for_drain(int sfd, int sup)
{
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
			       { .fd = sup, .events = POLLIN } };
	struct signalfd_siginfo si;
	char what = 0;

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			fatal("poll: %m");
	if (p[1].revents) {
		if (read(sup, &what, 1) != 1)
			log_info("the supervisor is gone");
		return what == 'U';
	}
	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		fatal("signalfd read: %m");
	return 0;
}

void hsproc_main(const struct hsproc_args *a)
{
	struct ktlsd d = { .conf_lock = PTHREAD_MUTEX_INITIALIZER,
			   .nic_lock = PTHREAD_MUTEX_INITIALIZER };
	int sfd, ret, handover;

	prctl(PR_SET_NAME, "ktlsd-hs", 0, 0, 0);
	sfd = child_signals();
	log_set_level(a->verbose ? LOG_DEBUG : a->conf->log_level);
	ret = privdrop_apply(a->user, a->ls->upcall_mc != NULL, a->supervisor);
	if (ret) {
		log_err("handshake process: giving up root failed: %s",
			strerror(-ret));
		exit(1);
	}
	if (!a->user->drop)
		log_info("handshake process %d: not started as root, so it "
			 "runs as uid %d, as the supervisor does", (int)getpid(),
			 (int)getuid());
	d.offload_fd = a->offload_fd;
	pthread_mutex_init(&d.offload_lock, NULL);
	d.stats = a->stats;
	d.inflight = &a->stats->inflight[a->slot];
	d.resume = resume_new();	/* without memory: no resumption */
	nic_count_open();
	start_serving(&d, a);
	if (write(a->ready_fd, "R", 1) != 1)
		exit(1);
	handover = wait_for_drain(sfd, a->ready_fd);
	log_info("draining %u handshakes in flight, then exiting",
		 atomic_load(d.inflight));
	loop_drain(&d, handover);
	/* The supervisor announces a reload once we take no new ones. */
	if (write(a->ready_fd, "D", 1) != 1)
		log_debug("the supervisor did not take our drain: %m");
	close(a->ready_fd);
	loop_stop(&d);
	resume_free(d.resume);
	ktlsd_set_conf(&d, NULL);
	close(sfd);
	exit(0);
}
