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
		if (d->upcall) {
			upcall_conf_apply(c);
			upcall_link_keyrings(c);
		}
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

struct flags {
	const char *path, *tlshd;
	int given, fg, test, verbose;
};

/* -1 to go on, else the exit status (after -h or a usage error). */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	int opt;

	f->path = KTLSD_CONFIG;
	while ((opt = getopt(argc, argv, "c:T:ftvh")) != -1) {
		switch (opt) {
		case 'c': f->path = optarg; f->given = 1; break;
		case 'T': f->tlshd = optarg; break;
		case 'f': f->fg = 1; break;
		case 't': f->test = 1; break;
		case 'v': f->verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* ktlsd.conf, or tlshd's file: -T, or a host with only tlshd's file. */
static int load_conf(struct flags *f, struct conf **c)
{
	char err[512];
	int ret;

	if (!f->tlshd && !f->given && access(f->path, F_OK) &&
	    (!access(TLSHD_CONFIG, F_OK) || !access(TLSHD_CONFIG_LEGACY, F_OK)))
		f->tlshd = access(TLSHD_CONFIG, F_OK) ? TLSHD_CONFIG_LEGACY
						      : TLSHD_CONFIG;
	ret = f->tlshd ? conf_load_tlshd(f->tlshd, c, err, sizeof(err))
		       : conf_load(f->path, c, err, sizeof(err));
	if (ret)
		log_err("%s", err);
	return ret;
}

/* -t: the configuration loaded; say so and what it holds. */
static int report_conf(struct conf *c)
{
	conf_log_loosened(c);
	printf("%s: configuration OK, %zu profiles%s%s\n", c->path,
	       c->n_profiles, c->upcall->tlshd_path ?
	       ", upcall credentials from " : "",
	       c->upcall->tlshd_path ? c->upcall->tlshd_path : "");
	conf_put(c);
	return 0;
}

/*
 * The process as a daemon with private keys: no core dumps, no ptrace by
 * peers, enough descriptors, SIGPIPE ignored; SIGHUP, SIGTERM and SIGINT
 * come through the signalfd returned (workers inherit the mask).
 */
static int setup_process(void)
{
	sigset_t set;
	int sfd;

	prctl(PR_SET_DUMPABLE, 0);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd: %m");
	return sfd;
}

/* Workers, then the front doors; 0, or -errno with nothing left running. */
static int start_serving(struct ktlsd *d, struct conf *c)
{
	int nfds, ret;

	ktlsd_set_conf(d, c);
	keyring_init();		/* before the workers: they share it */
	ret = loop_start(d, worker_count(c));
	if (ret)
		fatal("starting workers: %s", strerror(-ret));
	nfds = notify_listen_fds();
	ret = open_front_doors(d, c, nfds > 0 ? 3 : -1);
	if (ret) {
		loop_stop(d);
		ktlsd_set_conf(d, NULL);
		return ret;
	}
	log_info("ready: %zu profiles, %u workers, %s%s%s", c->n_profiles,
		 d->n_workers, nfds > 0 ? "activated socket" :
		 c->n_profiles ? "socket " : "no handoff socket",
		 nfds > 0 || !c->n_profiles ? "" : c->socket_path,
		 d->upcall ? ", kernel upcall" : "");
	notify("READY=1");
	return 0;
}

/* Serve until SIGTERM or SIGINT, reloading on SIGHUP; then drain. */
static void serve(struct ktlsd *d, int sfd, int verbose)
{
	struct signalfd_siginfo si;

	for (;;) {
		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR)
				continue;
			fatal("signalfd read: %m");
		}
		if (si.ssi_signo == SIGHUP)
			reload(d, verbose);
		else
			break;
	}
	log_info("draining %u handshakes in flight, then exiting",
		 atomic_load(&d->inflight));
	notify("STOPPING=1");
	loop_stop(d);
	log_exit_counts(&d->stats);
	ktlsd_set_conf(d, NULL);
}

int main(int argc, char **argv)
{
	struct ktlsd d = { .conf_lock = PTHREAD_MUTEX_INITIALIZER,
			   .nic_lock = PTHREAD_MUTEX_INITIALIZER };
	struct flags f = { 0 };
	struct conf *c;
	int ret, sfd;

	ret = parse_flags(argc, argv, &f);
	if (ret >= 0)
		return ret;
	log_open(1, f.verbose ? LOG_DEBUG : LOG_INFO);
	keyring_join_session();	/* before the key process: it shares it */
	if (load_conf(&f, &c))
		return 1;
	if (f.test)
		return report_conf(c);
	if (!f.fg && daemon(0, 0)) {
		log_err("daemon: %m");
		return 1;
	}
	log_open(f.fg || !c->log_syslog, log_level(c, f.verbose));
	conf_log_loosened(c);
	sfd = setup_process();
	if (start_serving(&d, c))
		return 1;
	serve(&d, sfd, f.verbose);
	close(sfd);
	return 0;
}
