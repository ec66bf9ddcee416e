// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd: TLS handshakes for other processes' sockets, with the record
 * layer left to the kernel. This file: flags, configuration, signals; the
 * supervisor (supervise.c) runs the handshake processes (hsproc.c).
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

#include "daemon.h"
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
 * peers, enough descriptors, SIGPIPE ignored; SIGHUP, SIGTERM, SIGINT and
 * SIGCHLD come through the signalfd returned.
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
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fatal("signalfd: %m");
	return sfd;
}

/*
 * Sockets passed by socket activation: those named after a server
 * profile are its listening sockets (accept mode); the handoff socket's
 * descriptor (the first other one), or -1.
 */
static int activation(const struct conf *c, struct listeners *ls)
{
	char *names[16] = { 0 };
	int fds[16], n, i, ret;

	n = notify_listen_fds_named(names, 16);
	if (n > 16) {
		log_warn("socket activation passed %d sockets: ktlsd takes "
			 "the first 16", n);
		n = 16;
	}
	for (i = 0; i < n; i++)
		fds[i] = 3 + i;
	ret = accept_activated(ls, c, fds, names, n);
	for (i = 0; i < n; i++)
		free(names[i]);
	return ret;
}

/*
 * The tests' only (tests/vm/privsep.c): the offload report always from
 * sock_diag, through the supervisor where the handshake process may not
 * see it, as on a host whose NIC offloads TLS.
 */
static void test_switches(void)
{
	const char *v = getenv("KTLSD_TEST_OFFLOAD_SOCK_DIAG");

	if (!v || strcmp(v, "1"))
		return;
	nic_count_disable();
	log_warn("KTLSD_TEST_OFFLOAD_SOCK_DIAG=1: every handshake asks "
		 "sock_diag for its offload report (a test switch)");
}

int main(int argc, char **argv)
{
	struct listeners ls = { 0 };
	struct flags f = { 0 };
	struct conf *c;
	int ret, sfd, nfds;

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
	test_switches();
	sfd = setup_process();
	nfds = activation(c, &ls);
	if (front_listen(&ls, c, nfds)) {
		conf_put(c);
		return 1;
	}
	ret = supervise(c, &ls, sfd, f.verbose);
	close(sfd);
	return ret;
}
