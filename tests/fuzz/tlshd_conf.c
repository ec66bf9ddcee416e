// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tlshd's configuration file, loaded as ktlsd -T loads it
 * (conf_load_tlshd(): the key file and the credentials it names), from a
 * memfd, in the sandbox of fuzz_sandbox(). A refusal must name the file;
 * a configuration that loads has credentials for both sides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fuzz.h"
#include "ktlsd.h"
#include "upcall.h"

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
	log_open(1, verbose ? LOG_DEBUG : LOG_EMERG);
	return ret;
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
	ret = conf_load_tlshd(path, &c, err, sizeof(err));
	if (ret) {
		if (verbose)
			fprintf(stderr, "refused: %s\n", err);
		FUZZ_CHECK(ret < 0 && !c);
		FUZZ_CHECK(!strncmp(err, path, strlen(path)) ||
			   (err[0] == '/' && strstr(err, ": ")));
		return 0;
	}
	FUZZ_CHECK(c->tlshd_only && c->upcall && c->upcall->tlshd_path);
	FUZZ_CHECK(c->upcall->client.p && c->upcall->server.p);
	FUZZ_CHECK(c->upcall->client.anon.cfg);
	conf_put(c);
	fuzz_verdict = 1;
	return 0;
}
