// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd.conf, loaded as ktlsd loads it (conf_load(): the INI file, its
 * profiles' credentials, and the tlshd file an [upcall] names), from a
 * memfd, in the sandbox of fuzz_sandbox(): the files the seeds name are
 * under /run/ktlsd-fuzz. A refusal must say why, starting with a path
 * (FILE:LINE); a configuration that loads must find each of its profiles
 * by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fuzz.h"
#include "ktlsd.h"

/* FUZZ_VERBOSE=1 in the environment: print why each input was refused. */
static int verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int ret = fuzz_sandbox();

	(void)argc;
	(void)argv;
	if (ret && !fuzz_replay)
		exit(1);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	log_open(1, verbose ? LOG_DEBUG : LOG_EMERG);		/* a warning per input is noise */
	return ret;
}

static void check_loaded(const struct conf *c)
{
	const struct profile *p;
	size_t i;

	for (i = 0; i < c->n_profiles; i++) {
		p = &c->profiles[i];
		FUZZ_CHECK(p->name && p->cfg);
		FUZZ_CHECK(conf_profile(c, p->name, strlen(p->name)) == p);
		FUZZ_CHECK(profile_allows(p, 0, 0, NULL, 0));
		profile_allows(p, 1000, 1000, p->gids, p->n_gids);
	}
	FUZZ_CHECK(c->socket_path && c->control_path);
	conf_log_loosened(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	const char *path;
	char err[512];
	int ret;

	fuzz_verdict = 0;
	if (fuzz_memfd_path(data, size, &path))
		abort();
	ret = conf_load(path, &c, err, sizeof(err));
	if (ret) {
		if (verbose)
			fprintf(stderr, "refused: %s\n", err);
		FUZZ_CHECK(ret < 0 && !c);
		FUZZ_CHECK(err[0] == '/' && strstr(err, ": "));
		return 0;
	}
	check_loaded(c);
	conf_put(c);
	fuzz_verdict = 1;
	return 0;
}
