// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd: TLS handshakes for other processes' sockets, with the record
 * layer left to the kernel. This file: flags, configuration, signals.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "upcall.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ktlsd [-f] [-t] [-v] [-c FILE | -T FILE]\n"
		"  -c FILE  configuration (default %s)\n"
		"  -T FILE  serve only the kernel's handshake upcall, with tlshd's\n"
		"           configuration file (the default when %s is\n"
		"           missing and %s or %s exists)\n"
		"  -f       stay in the foreground and log to stderr\n"
		"  -t       check the configuration and credentials, then exit\n"
		"  -v       log debugging detail too\n", KTLSD_CONFIG, KTLSD_CONFIG,
		TLSHD_CONFIG, TLSHD_CONFIG_LEGACY);
}

/* Enough descriptors for every handshake in flight and its requester. */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static int log_level(const struct conf *c, int verbose)
{
	return verbose ? LOG_DEBUG : c->log_level;
}

static void reload(struct ktlsd *d, int verbose)
{
	struct conf *old = ktlsd_conf(d), *c;
	char err[512];
	struct timespec ts;
	char state[64];
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	notify(state);
	ret = old->tlshd_only ? conf_load_tlshd(old->path, &c, err, sizeof(err))
			      : conf_load(old->path, &c, err, sizeof(err));
	if (ret) {
		log_err("reload refused, the running configuration stays: %s",
			err);
		stats_reloaded(&d->stats, 0);
	} else {
		if (strcmp(c->socket_path, old->socket_path) ||
		    c->workers != old->workers)
			log_warn("reload: the socket and the worker count "
				 "change only with a restart");
		log_set_level(log_level(c, verbose));
		conf_log_loosened(c);
		ktlsd_set_conf(d, c);
		log_info("reloaded %s: %zu profiles", c->path, c->n_profiles);
		stats_reloaded(&d->stats, 1);
	}
	conf_put(old);
	notify("READY=1");
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

/*
 * The sockets ktlsd serves, opened in this order once the workers run:
 * adding a front door is its file and a row here. Each open() returns 0
 * when serving or when it has nothing to serve, or -errno: then ktlsd
 * stops, unless the row is optional (the door has logged why it is
 * missing). activated_fd is the socket passed by socket activation, or -1.
 */
static const struct front_door {
	const char *name;
	int (*open)(struct ktlsd *d, const struct conf *c, int activated_fd);
	int optional;
} front_doors[] = {
	{ "handoff", handoff_open, 0 },
	{ "upcall", upcall_open, 0 },
	{ "control", control_open, 1 },
	{ "metrics", metrics_open, 1 },
};

static int open_front_doors(struct ktlsd *d, const struct conf *c,
			    int activated_fd)
{
	const struct front_door *f;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(front_doors) / sizeof(front_doors[0]); i++) {
		f = &front_doors[i];
		ret = f->open(d, c, activated_fd);
		if (ret)
			log_debug("%s: not opened: %s", f->name,
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

int main(int argc, char **argv)
{
	const char *path = KTLSD_CONFIG, *tlshd = NULL;
	int opt, given = 0, fg = 0, test = 0, verbose = 0, sfd, nfds, ret;
	struct ktlsd d = { .conf_lock = PTHREAD_MUTEX_INITIALIZER };
	struct signalfd_siginfo si;
	struct conf *c;
	char err[512];
	sigset_t set;

	while ((opt = getopt(argc, argv, "c:T:ftvh")) != -1) {
		switch (opt) {
		case 'c': path = optarg; given = 1; break;
		case 'T': tlshd = optarg; break;
		case 'f': fg = 1; break;
		case 't': test = 1; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_open(1, verbose ? LOG_DEBUG : LOG_INFO);
	/* A host with only tlshd's file: serve the upcall from it. */
	if (!tlshd && !given && access(path, F_OK) &&
	    (!access(TLSHD_CONFIG, F_OK) || !access(TLSHD_CONFIG_LEGACY, F_OK)))
		tlshd = access(TLSHD_CONFIG, F_OK) ? TLSHD_CONFIG_LEGACY
						   : TLSHD_CONFIG;
	ret = tlshd ? conf_load_tlshd(tlshd, &c, err, sizeof(err))
		    : conf_load(path, &c, err, sizeof(err));
	if (ret) {
		log_err("%s", err);
		return 1;
	}
	if (test) {
		conf_log_loosened(c);
		printf("%s: configuration OK, %zu profiles%s%s\n", c->path,
		       c->n_profiles, c->upcall->tlshd_path ?
		       ", upcall credentials from " : "",
		       c->upcall->tlshd_path ? c->upcall->tlshd_path : "");
		conf_put(c);
		return 0;
	}
	if (!fg && daemon(0, 0)) {
		log_err("daemon: %m");
		return 1;
	}
	log_open(fg || !c->log_syslog, log_level(c, verbose));
	conf_log_loosened(c);
	/* Private keys live here: no core dumps, no ptrace by peers. */
	prctl(PR_SET_DUMPABLE, 0);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);	/* workers inherit it */
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd: %m");

	ktlsd_set_conf(&d, c);
	keyring_init();		/* before the workers: they share it */
	ret = loop_start(&d, worker_count(c));
	if (ret)
		fatal("starting workers: %s", strerror(-ret));
	nfds = notify_listen_fds();
	ret = open_front_doors(&d, c, nfds > 0 ? 3 : -1);
	if (ret) {
		loop_stop(&d);
		ktlsd_set_conf(&d, NULL);
		return 1;
	}
	log_info("ready: %zu profiles, %u workers, %s%s%s", c->n_profiles,
		 d.n_workers, nfds > 0 ? "activated socket" :
		 c->n_profiles ? "socket " : "no handoff socket",
		 nfds > 0 || !c->n_profiles ? "" : c->socket_path,
		 d.upcall ? ", kernel upcall" : "");
	notify("READY=1");

	for (;;) {
		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR)
				continue;
			fatal("signalfd read: %m");
		}
		if (si.ssi_signo == SIGHUP)
			reload(&d, verbose);
		else
			break;
	}
	log_info("draining %u handshakes in flight, then exiting",
		 atomic_load(&d.inflight));
	notify("STOPPING=1");
	loop_stop(&d);
	log_exit_counts(&d.stats);
	ktlsd_set_conf(&d, NULL);
	close(sfd);
	return 0;
}
