/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading configuration and building profiles, shared by conf_read.c (the
 * lines of either file), config.c (ktlsd.conf: [ktlsd], [upcall]),
 * profile.c ([profile NAME] and the one profile builder) and upcall_conf.c
 * (tlshd's file, and per-request credentials). Only these include it.
 */
#ifndef KTLSD_CONF_PARSE_H
#define KTLSD_CONF_PARSE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "ktlsd.h"

#define SEPARATORS		", \t"
#define PSK_MIN			16
#define PSK_MAX			64

enum section { SECT_NONE, SECT_DAEMON, SECT_PROFILE, SECT_UPCALL };

/* Keys of [ktlsd]. */
enum {
	D_SOCKET, D_MODE, D_GROUP, D_WORKERS, D_INFLIGHT, D_LOG, D_LEVEL,
	D_CONTROL, D_IDLE, D_CONNS_UID, D_INFLIGHT_UID, D_METRICS_FILE,
	D_METRICS_INTERVAL, D_USER, D_COUNT
};

/* Keys of [upcall]. */
enum { U_ENABLE, U_TLSHD, U_CLIENT, U_SERVER, U_COUNT };

/*
 * The two syntaxes one reader serves: ktlsd.conf's INI (libinih: ';' and
 * '#' comments, inline comments, indented continuation lines) and tlshd's
 * GLib key file ('#' comments only, no inline comments, leading blanks
 * ignored, '\s'-style escapes, lines as long as a path).
 */
enum syntax { SYNTAX_INI, SYNTAX_KEYFILE };

struct draft;

struct parse {
	const char *file;		/* named in every error */
	enum syntax syntax;
	/* A section header: 0 or an error (conf_fail()). */
	int (*begin)(struct parse *p, const char *name);
	/* A "key = value" line; value may be changed, it is wiped after. */
	int (*set)(struct parse *p, const char *key, char *value);
	void *user;			/* the file's reader's own state */
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
	int err_key;			/* P_* of the profile key that failed */
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

/* ---- conf_read.c: the lines of either file ---- */

/*
 * Read p->file in p->syntax, calling p->begin for each section header
 * and p->set for each setting, every line buffer wiped: 0 or p->ret,
 * with the error as "FILE:LINE: what" in p->err.
 */
int conf_parse_file(struct parse *p);
/* s without its leading and trailing white space (cut in place). */
char *conf_trim(char *s);

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

/* ---- profile.c: what a profile says, and the one builder ---- */

/* Keys of [profile NAME]; the values index keys[] and draft.seen[]. */
enum {
	P_ROLE, P_CERT, P_KEY, P_CA, P_CRL, P_CLIENT_CERT, P_VERIFY,
	P_PSK_ID, P_PSK_KEY, P_ALPN, P_VERSIONS, P_CIPHERS, P_TIMEOUT,
	P_SERVER_NAME, P_OVERRIDE, P_USERS, P_GROUPS, P_TICKETS,
	P_TICKET_KEY_FILE, P_ZEROCOPY, P_NO_PAD, P_NIC, P_LISTEN, P_SUB_QUEUE,
	P_RESUME, P_RESUME_CACHE, P_COUNT
};

struct pair {
	char *cert, *key;
	int cert_line, key_line;
};

#define VERSION_12	1u
#define VERSION_13	2u

/* How trust is loaded. */
enum trust {
	TRUST_KTLSD,	/* a ca line, or the system's for a verifying client;
			   any failure is an error */
	TRUST_TLSHD,	/* always, as tlshd: an unreadable ca falls back to
			   the system's, an empty system store is a warning */
};

/*
 * What one profile says, whoever said it: a [profile NAME] section, a side
 * of tlshd's file, or the keys the kernel named in one request. Whoever
 * fills a draft frees it (draft_free() for what it owns); the builder only
 * reads it. Lines (0: none) name where each value came from in errors.
 */
struct draft {
	int line;			/* of the section header */
	int seen[P_COUNT];		/* line of each key's last use, or 0 */
	enum trust trust;
	struct pair *pairs;
	size_t n_pairs;
	/* The kernel's keyring: a certificate in memory (borrowed), and the
	   serial of its key, which the key process reads */
	const void *cert_mem;
	size_t cert_len;
	int32_t key_serial;
	const char *mem_what;		/* names them in errors */
	char *ca;			/* NULL: the system store */
	char *crl;
	char *psk_identity;
	unsigned char psk[PSK_MAX];
	const uint8_t *psk_mem;		/* instead of psk: borrowed */
	size_t psk_len;
	int psk_sha384;			/* client: for SHA-384 suites */
	ktls_psk_lookup_fn psk_lookup;	/* server: PSKs found per handshake */
	void *psk_arg;
	char *alpn;
	unsigned client_verify;		/* KTLS_VERIFY_RE*_CLIENT or 0 */
	unsigned verify;		/* KTLS_VERIFY_NONE or _CHAIN_ONLY */
	unsigned versions;		/* VERSION_* */
	unsigned ciphers;		/* KTLS_CIPHER_* */
	unsigned kernel_options;	/* KTLS_OPT_* */
	int tickets;			/* server: tickets = yes */
	char *ticket_key_file;		/* server: shared ticket keys */
	int prefer_nic;			/* prefer_nic_offload = yes */
};

/* A [profile NAME] header: a new profile, the section being parsed. */
int profile_begin(struct parse *p, const char *name);
/* The keys of [profile NAME] (*n of them), and the current one's seen[]. */
const struct key *profile_keys(struct parse *p, size_t *n, int **seen);
/*
 * A [profile NAME] section as a whole: what only all its lines can tell
 * (a role, pairs complete, keys of the right role), then profile_build().
 */
int profile_check_build(struct parse *p, size_t i);
/*
 * The one profile builder: pr->cfg from d for pr->role (pr's name, role
 * and timeout set by the caller), credentials loaded. 0, or a negative
 * errno with conf_fail() naming d's line for what failed (p->err_key).
 */
int profile_build(struct parse *p, struct profile *pr, const struct draft *d);
/*
 * Its certificates with their keys (profile_keys.c): 0, or a negative
 * errno with conf_fail() naming the line.
 */
int profile_load_certs(struct parse *p, struct profile *pr,
		       const struct draft *d);

/* Where key k of d was said: its line, else the section's. */
static inline int draft_at(const struct draft *d, int k)
{
	return d->seen[k] ? d->seen[k] : d->line;
}

/* An error about key k (the first error only, as conf_fail()). */
#define fail_key(p, k, line, err, ...)					\
	((p)->ret ? (p)->ret :						\
	 ((p)->err_key = (k), conf_fail(p, line, err, __VA_ARGS__)))

/*
 * ---- tickets.c ----
 * A server profile's tickets: under the keys of d's ticket_key_file, or a
 * random key for tickets = yes. 0, or an error naming the line.
 */
int tickets_apply(struct parse *p, struct profile *pr, const struct draft *d);

/*
 * ---- accept_conf.c: accept mode's keys ----
 * listen = ADDR:PORT ... and subscriber_queue = N of the profile being
 * parsed; accept_conf_check(): for server profiles only, no address
 * twice in the file (profile i against those before it).
 */
int accept_conf_listen(struct parse *p, const char *value);
int accept_conf_queue(struct parse *p, const char *value);
int accept_conf_check(struct parse *p, size_t i);

/*
 * ---- resume_conf.c: client resumption's keys ----
 * resumption = yes|no and resumption_cache = N (1 to RESUME_CACHE_MAX);
 * resume_conf_check(): for client profiles only.
 */
int resume_conf_enable(struct parse *p, const char *value);
int resume_conf_cache(struct parse *p, const char *value);
int resume_conf_check(struct parse *p, size_t i);

/* What a draft owns (not the borrowed buffers); the PSK wiped. */
void draft_free(struct draft *d);
/* What the first pass kept for the second. */
void profile_drafts_free(struct parse *p);

#endif
