/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The configuration parser's state, shared by config.c (the file, its
 * sections, [ktlsd] and [upcall]) and profile.c ([profile NAME]). Only
 * these two include it.
 */
#ifndef KTLSD_CONF_PARSE_H
#define KTLSD_CONF_PARSE_H

#include <errno.h>
#include <stdio.h>

#include "ktlsd.h"

#define SEPARATORS		", \t"

enum section { SECT_NONE, SECT_DAEMON, SECT_PROFILE, SECT_UPCALL };

/* Keys of [ktlsd]. */
enum {
	D_SOCKET, D_MODE, D_GROUP, D_WORKERS, D_INFLIGHT, D_LOG, D_LEVEL,
	D_CONTROL, D_IDLE, D_CONNS_UID, D_INFLIGHT_UID, D_COUNT
};

/* Keys of [upcall]. */
enum { U_ENABLE, U_TLSHD, U_CLIENT, U_SERVER, U_COUNT };

struct draft;			/* profile.c's: what a profile said */

struct parse {
	const char *file;
	FILE *f;
	int line;			/* inih counts reader calls: so do we */
	enum section sect;
	int daemon_line;		/* of [ktlsd], 0 until seen */
	int daemon_seen[D_COUNT];
	int upcall_seen[U_COUNT];
	struct conf *c;
	/* Parallel to c->profiles; each alone, never moved: PSKs inside. */
	struct draft **drafts;
	char *err;
	size_t errlen;
	int ret;			/* the first error, or 0 */
	int err_line;
};

struct key {
	const char *name;
	int (*set)(struct parse *p, const char *value);
	int repeat;			/* may appear more than once */
};

/* Keep the first error only: later ones are often its consequences. */
int conf_fail(struct parse *p, int line, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An error in the value on the line being parsed. */
#define bad(p, ...)	conf_fail(p, (p)->line, -EINVAL, __VA_ARGS__)
#define oom(p)		conf_fail(p, (p)->line, -ENOMEM, "out of memory")

/* ---- config.c: values ---- */

/* Index of value in words (NULL-terminated), or an error listing them. */
int conf_choose(struct parse *p, const char *key, const char *value,
		const char *const *words);
/* A decimal number from min to max into *out, or an error. */
int conf_number(struct parse *p, const char *key, const char *value,
		unsigned long min, unsigned long max, unsigned *out);
/* Call fn for each word of a list separated by commas and/or blanks. */
int conf_words(struct parse *p, const char *key, const char *value,
	       int (*fn)(struct parse *p, const char *word));
/* An absolute path, copied into *out (the old value freed). */
int conf_path(struct parse *p, const char *key, const char *value,
	      char **out);
/* A user (group: a group) by name or number into *id, or an error. */
int conf_id(struct parse *p, const char *word, int group, unsigned *id);

/*
 * The keys of [ktlsd] (SECT_DAEMON) or [upcall] (SECT_UPCALL), *n of
 * them; NULL and 0 for another section. Read-only: the manual's test
 * compares them with ktlsd.conf(5).
 */
const struct key *conf_section_keys(enum section sect, size_t *n);

/* ---- profile.c: [profile NAME] ---- */

/* A [profile NAME] header: a new profile, the section being parsed. */
int profile_begin(struct parse *p, const char *name);
/* The keys of [profile NAME] (*n of them), and the current one's seen[]. */
const struct key *profile_keys(struct parse *p, size_t *n, int **seen);
/* The second pass: check profile i as a whole and load its credentials. */
int profile_build(struct parse *p, size_t i);
/* What the first pass kept for the second. */
void profile_drafts_free(struct parse *p);
/* What a profile holds; not the profile itself. */
void profile_free(struct profile *pr);

#endif
