// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The manual pages in docs/man against what they describe, so that they
 * cannot drift from the code:
 * - every page is clean under mandoc -Tlint;
 * - ktlsd.conf(5) lists exactly the keys of the parser's own tables, per
 *   section ([ktlsd], [upcall], [profile NAME]);
 * - libktls(3) declares and describes exactly the symbols that
 *   lib/libktls.map exports;
 * - ktls-handoff(7) and docs/handoff.md have the same tables (headers,
 *   fields, status values), their fields are the tags lib/wire.c encodes
 *   and every status they name has the value they give it.
 * Run from the source tree, as tests/check does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "conf_parse.h"
#include "ktls.h"
#include "wire.h"

#define MAN_DIR	"docs/man/"

/* ---- Lists of names ---- */

struct names {
	char **v;
	size_t n;
};

static void names_add(struct names *l, const char *s, size_t len)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v || !(v[l->n] = strndup(s, len)))
		abort();
	l->v = v;
	l->n++;
}

static int names_has(const struct names *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

static void names_free(struct names *l)
{
	while (l->n)
		free(l->v[--l->n]);
	free(l->v);
	l->v = NULL;
}

/* Names in a but not in b, logged one by one: their count. */
static int missing(struct __test_metadata *_metadata, const char *what,
		   const struct names *a, const char *in_a,
		   const struct names *b, const char *in_b)
{
	size_t i;
	int n = 0;

	for (i = 0; i < a->n; i++) {
		if (names_has(b, a->v[i]))
			continue;
		TH_LOG("%s '%s' is in %s but not in %s", what, a->v[i], in_a,
		       in_b);
		n++;
	}
	return n;
}

/* Both ways: 0 when a and b hold the same names. */
static int differ(struct __test_metadata *_metadata, const char *what,
		  const struct names *a, const char *in_a,
		  const struct names *b, const char *in_b)
{
	return missing(_metadata, what, a, in_a, b, in_b) +
	       missing(_metadata, what, b, in_b, a, in_a);
}

/* ---- Files and lines ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&s, &len, '\0', f) < 0) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

/* The next line of *p (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **p)
{
	char *line = *p, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

/* The first word after prefix at the start of line, into l. */
static int take_word(struct names *l, const char *line, const char *prefix)
{
	size_t n = strlen(prefix), len;

	if (strncmp(line, prefix, n))
		return 0;
	line += n;
	len = strcspn(line, " \t");
	if (!len)
		return 0;
	names_add(l, line, len);
	return 1;
}

/* ---- mandoc -Tlint ---- */

/* Run cmd; its output lines into out, its exit status returned. */
static int run_lines(const char *cmd, struct names *out)
{
	char line[1024];
	FILE *f = popen(cmd, "r");
	int st;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		names_add(out, line, strcspn(line, "\n"));
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *const own_pages[] = {
	"ktlsd 8", "ktlsd.conf 5", "ktlsctl 8", "libktls 3", "ktls-handoff 7",
};

/*
 * Whether a -Wstyle message is about this machine rather than the page:
 * a reference to a manual that is not installed here (allowed unless it
 * is one of ours, which must then exist in docs/man), or mandoc's note
 * on the system's own database.
 */
static int machine_message(const char *msg)
{
	const char *xr = strstr(msg, "referenced manual not found: Xr ");
	char name[64], sec[8], path[128];
	size_t i;

	if (strstr(msg, "outdated mandoc.db"))
		return 1;
	if (!xr || sscanf(xr + 32, "%63s %7s", name, sec) != 2)
		return 0;
	snprintf(path, sizeof(path), "%s %s", name, sec);
	for (i = 0; i < sizeof(own_pages) / sizeof(own_pages[0]); i++)
		if (!strcmp(path, own_pages[i]))
			break;
	if (i == sizeof(own_pages) / sizeof(own_pages[0]))
		return 1;
	snprintf(path, sizeof(path), MAN_DIR "%s.%s", name, sec);
	return !access(path, R_OK);
}

/* mandoc's messages on page that are the page's fault: their count. */
static int lint(struct __test_metadata *_metadata, const char *page)
{
	struct names out = { 0 };
	char cmd[256];
	size_t i;
	int bad = 0, st;

	snprintf(cmd, sizeof(cmd), "mandoc -Tlint -Wstyle %s 2>&1", page);
	st = run_lines(cmd, &out);
	for (i = 0; i < out.n; i++) {
		if (machine_message(out.v[i]))
			continue;
		TH_LOG("%s", out.v[i]);
		bad++;
	}
	if (st == 127)
		TH_LOG("mandoc: not found (packaging/deps test installs it)");
	else if (st != 0 && st != 1)	/* 1: style messages only */
		TH_LOG("mandoc -Tlint %s: exit status %d", page, st);
	bad += st != 0 && st != 1;
	names_free(&out);
	return bad;
}

FIXTURE(page)
{
};

FIXTURE_VARIANT(page)
{
	const char *path;
};

FIXTURE_VARIANT_ADD(page, ktlsd_8) { .path = MAN_DIR "ktlsd.8" };
FIXTURE_VARIANT_ADD(page, ktlsd_conf_5) { .path = MAN_DIR "ktlsd.conf.5" };
FIXTURE_VARIANT_ADD(page, ktlsctl_8) { .path = MAN_DIR "ktlsctl.8" };
FIXTURE_VARIANT_ADD(page, libktls_3) { .path = MAN_DIR "libktls.3" };
FIXTURE_VARIANT_ADD(page, ktls_handoff_7) { .path = MAN_DIR "ktls-handoff.7" };

FIXTURE_SETUP(page)
{
}

FIXTURE_TEARDOWN(page)
{
}

/* Any message at warning level or above, and any style message. */
TEST_F(page, mandoc_lint_clean)
{
	ASSERT_EQ(0, access(variant->path, R_OK))
		TH_LOG("%s: %s (run from the source tree)", variant->path,
		       strerror(errno));
	EXPECT_EQ(0, lint(_metadata, variant->path));
}

/* The check above must see a broken page: one with an unknown macro. */
TEST(mandoc_lint_sees_errors)
{
	char path[] = "/tmp/ktlsd-man-XXXXXX";
	int fd = mkstemp(path), quiet;
	FILE *f;

	ASSERT_LE(0, fd);
	f = fdopen(fd, "w");
	ASSERT_NE(NULL, f);
	fputs(".Dd December 7, 2026\n.Dt BROKEN 7\n.Os\n.Sh NAME\n"
	      ".Nm broken\n.Nd a page with errors\n.Sh DESCRIPTION\n"
	      ".Xyzzy nothing\n.Bl -tag\n", f);
	fclose(f);
	/* lint() logs what it finds: a page this broken must give something. */
	quiet = lint(_metadata, path);
	unlink(path);
	EXPECT_LT(0, quiet);
}

/* ---- ktlsd.conf(5) against the parser's key tables ---- */

enum { CONF_DAEMON, CONF_UPCALL, CONF_PROFILE, CONF_SECTIONS };

static const char *const conf_section_name[CONF_SECTIONS] = {
	"[ktlsd]", "[upcall]", "[profile NAME]",
};

/*
 * The keys the page documents: the ".It Cm KEY" items of the outermost
 * list under ".Ss [SECTION]" (lists nested in an item name values).
 */
static void page_keys(char *text, struct names keys[CONF_SECTIONS])
{
	char *line;
	int sect = -1, depth = 0, i;

	while ((line = next_line(&text))) {
		if (!strncmp(line, ".Sh ", 4) || !strncmp(line, ".Ss ", 4)) {
			sect = -1;
			for (i = 0; i < CONF_SECTIONS; i++)
				if (!strncmp(line + 4, conf_section_name[i],
					     strlen(conf_section_name[i])))
					sect = i;
			depth = 0;
		} else if (!strncmp(line, ".Bl ", 4)) {
			depth++;
		} else if (!strncmp(line, ".El", 3)) {
			depth--;
		} else if (sect >= 0 && depth == 1) {
			take_word(&keys[sect], line, ".It Cm ");
		}
	}
}

static void table_keys(const struct key *k, size_t n, struct names *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		names_add(out, k[i].name, strlen(k[i].name));
}

/* A profile's keys come with a profile being parsed: make one. */
static int profile_table_keys(struct names *out)
{
	struct conf c = { 0 };
	struct parse p = { .file = "man_pages", .c = &c, .line = 1 };
	const struct key *k;
	size_t n = 0;
	int *seen, ret;

	ret = profile_begin(&p, " manual");
	if (!ret) {
		k = profile_keys(&p, &n, &seen);
		table_keys(k, n, out);
	}
	profile_drafts_free(&p);
	while (c.n_profiles)
		profile_free(&c.profiles[--c.n_profiles]);
	free(c.profiles);
	return ret ? ret : (int)n;
}

TEST(ktlsd_conf_keys_match_the_parser)
{
	struct names page[CONF_SECTIONS] = { 0 }, code[CONF_SECTIONS] = { 0 };
	const struct key *k;
	char *text = slurp(MAN_DIR "ktlsd.conf.5");
	size_t n;
	int i, bad = 0;

	ASSERT_NE(NULL, text);
	page_keys(text, page);
	free(text);
	k = conf_section_keys(SECT_DAEMON, &n);
	ASSERT_NE(NULL, k);
	table_keys(k, n, &code[CONF_DAEMON]);
	k = conf_section_keys(SECT_UPCALL, &n);
	ASSERT_NE(NULL, k);
	table_keys(k, n, &code[CONF_UPCALL]);
	ASSERT_LT(0, profile_table_keys(&code[CONF_PROFILE]));
	for (i = 0; i < CONF_SECTIONS; i++) {
		TH_LOG("%s: %zu keys in the parser, %zu in ktlsd.conf.5",
		       conf_section_name[i], code[i].n, page[i].n);
		bad += differ(_metadata, conf_section_name[i], &code[i],
			      "the parser's table", &page[i], "ktlsd.conf.5");
		names_free(&page[i]);
		names_free(&code[i]);
	}
	EXPECT_EQ(0, bad);
}

/* ---- libktls(3) against lib/libktls.map ---- */

/* The global: symbols of every version node. */
static void map_symbols(char *text, struct names *out)
{
	char *line, *s;
	int global = 0;

	while ((line = next_line(&text))) {
		s = line + strspn(line, " \t");
		if (!strncmp(s, "global:", 7))
			global = 1;
		else if (!strncmp(s, "local:", 6) || *s == '}')
			global = 0;
		else if (global && *s && !strchr("/*", *s))
			names_add(out, s, strcspn(s, "; \t"));
	}
}

/* Functions declared in SYNOPSIS, and described by .It Fn elsewhere. */
static void page_functions(char *text, struct names *decl,
			   struct names *desc)
{
	char *line;
	int synopsis = 0;

	while ((line = next_line(&text))) {
		if (!strncmp(line, ".Sh ", 4))
			synopsis = !strcmp(line + 4, "SYNOPSIS");
		else if (synopsis && !take_word(decl, line, ".Fn "))
			take_word(decl, line, ".Fo ");
		else if (!synopsis)
			take_word(desc, line, ".It Fn ");
	}
}

TEST(libktls_page_matches_the_map)
{
	struct names map = { 0 }, decl = { 0 }, desc = { 0 };
	char *text = slurp("lib/libktls.map");
	int bad;

	ASSERT_NE(NULL, text);
	map_symbols(text, &map);
	free(text);
	text = slurp(MAN_DIR "libktls.3");
	ASSERT_NE(NULL, text);
	page_functions(text, &decl, &desc);
	free(text);
	TH_LOG("%zu exported, %zu in the SYNOPSIS, %zu described", map.n,
	       decl.n, desc.n);
	ASSERT_LT(0U, map.n);
	bad = differ(_metadata, "function", &map, "lib/libktls.map", &decl,
		     "the SYNOPSIS of libktls.3");
	bad += differ(_metadata, "function", &map, "lib/libktls.map", &desc,
		      "the DESCRIPTION of libktls.3 (.It Fn)");
	names_free(&map);
	names_free(&decl);
	names_free(&desc);
	EXPECT_EQ(0, bad);
}

/* ---- ktls-handoff(7) and docs/handoff.md ---- */

#define MD_PAGE		"docs/handoff.md"
#define MAN_PAGE	MAN_DIR "ktls-handoff.7"

/* Trim blanks and roff's escapes for '-' and the zero-width '\&'. */
static void cell(struct names *out, const char *s, size_t len)
{
	char buf[256];
	size_t i, n = 0;

	for (i = 0; i < len && n < sizeof(buf) - 1; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == '-' || s[i + 1] == '&')) {
			if (s[++i] == '-')
				buf[n++] = '-';
			continue;
		}
		buf[n++] = s[i];
	}
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	for (i = 0; i < n && buf[i] == ' '; i++)
		;
	names_add(out, buf + i, n - i);
}

/* The first ncells cells of a row as one string "a | b", into out. */
static void row(struct names *out, const char *line, const char *sep,
		int ncells)
{
	struct names cells = { 0 };
	char joined[512] = "";
	const char *end;
	size_t i, len = 0;

	while ((int)cells.n < ncells && *line) {
		end = strstr(line, sep);
		cell(&cells, line, end ? (size_t)(end - line) : strlen(line));
		line = end ? end + strlen(sep) : line + strlen(line);
	}
	for (i = 0; i < cells.n; i++)
		len += snprintf(joined + len, sizeof(joined) - len, "%s%s",
				i ? " | " : "", cells.v[i]);
	names_add(out, joined, strlen(joined));
	names_free(&cells);
}

/*
 * Rows of the nth table (from 0) under the first heading that starts with
 * heading: "## Heading" and "| a | b |" rows in Markdown (the header row
 * and the separator skipped), ".Sh HEADING" and ".Bl -column" with ".It a
 * Ta b" rows in mdoc (a header row in .Sy skipped).
 */
static void md_table(char *text, const char *heading, int nth, int ncells,
		     struct names *out)
{
	char *line;
	int in = 0, table = -1, rows = 0;

	while ((line = next_line(&text))) {
		if (!strncmp(line, "## ", 3)) {
			in = !strncasecmp(line + 3, heading, strlen(heading));
			continue;
		}
		if (!in || line[0] != '|') {
			rows = 0;
			continue;
		}
		if (!rows++)
			table++;
		if (table == nth && rows > 2)
			row(out, line + 1, "|", ncells);
	}
}

static void man_table(char *text, const char *heading, int nth, int ncells,
		      struct names *out)
{
	char *line;
	int in = 0, table = -1, inside = 0;

	while ((line = next_line(&text))) {
		if (!strncmp(line, ".Sh ", 4))
			in = !strncasecmp(line + 4, heading, strlen(heading));
		else if (in && !strncmp(line, ".Bl -column", 11))
			inside = ++table == nth;
		else if (!strncmp(line, ".El", 3))
			inside = 0;
		else if (inside && !strncmp(line, ".It ", 4) &&
			 strncmp(line, ".It Sy ", 7))
			row(out, line + 4, " Ta ", ncells);
	}
}

/* One table of both pages, compared on its first ncells cells. */
static int same_table(struct __test_metadata *_metadata, const char *md_h,
		      const char *man_h, int nth, int ncells,
		      struct names *md_rows)
{
	struct names man_rows = { 0 };
	char *md = slurp(MD_PAGE), *man = slurp(MAN_PAGE);
	char what[64];
	int bad;

	if (!md || !man) {
		TH_LOG("cannot read %s or %s", MD_PAGE, MAN_PAGE);
		free(md);
		free(man);
		return 1;
	}
	md_table(md, md_h, nth, ncells, md_rows);
	man_table(man, man_h, nth, ncells, &man_rows);
	free(md);
	free(man);
	snprintf(what, sizeof(what), "%s table %d: row", man_h, nth + 1);
	bad = differ(_metadata, what, md_rows, MD_PAGE, &man_rows, MAN_PAGE);
	if (!md_rows->n) {
		TH_LOG("%s: no table %d under '%s'", MD_PAGE, nth + 1, md_h);
		bad++;
	}
	names_free(&man_rows);
	return bad;
}

TEST(handoff_pages_same_headers)
{
	struct names msg = { 0 }, fld = { 0 };

	/* offset | size: the message header, then the field header. */
	EXPECT_EQ(0, same_table(_metadata, "Message layout", "MESSAGE LAYOUT",
				0, 2, &msg));
	EXPECT_EQ(0, same_table(_metadata, "Message layout", "MESSAGE LAYOUT",
				1, 2, &fld));
	EXPECT_TRUE(names_has(&msg, "8 | 4"));
	EXPECT_TRUE(names_has(&fld, "8 | length"));
	names_free(&msg);
	names_free(&fld);
}

/* The tags of one message as lib/wire.c encodes it, in tags (as text). */
static void encoded_tags(const struct wire_buf *b, struct names *tags)
{
	size_t off = WIRE_HDR_LEN, len;
	char num[16];

	while (off + 8 <= b->len) {
		snprintf(num, sizeof(num), "%u",
			 (unsigned)b->p[off] << 8 | b->p[off + 1]);
		names_add(tags, num, strlen(num));
		len = (size_t)b->p[off + 4] << 24 | b->p[off + 5] << 16 |
		      b->p[off + 6] << 8 | b->p[off + 7];
		off += 8 + len;
	}
}

/* The first cell of each row: the tags a page documents. */
static void first_cells(const struct names *rows, struct names *out)
{
	size_t i;

	for (i = 0; i < rows->n; i++)
		names_add(out, rows->v[i], strcspn(rows->v[i], " |"));
}

static int same_tags(struct __test_metadata *_metadata, const char *what,
		     const struct wire_buf *b, const struct names *rows)
{
	struct names wire = { 0 }, doc = { 0 };
	int bad;

	encoded_tags(b, &wire);
	first_cells(rows, &doc);
	bad = differ(_metadata, what, &wire, "lib/wire.c's encoding", &doc,
		     "the pages");
	names_free(&wire);
	names_free(&doc);
	return bad;
}

#define STR(s)	((struct wire_str){ s, sizeof(s) - 1 })

TEST(handoff_request_fields)
{
	struct wire_req r = {
		.id = 1, .profile = STR("web"), .server_name = STR("a.example"),
		.alpn = STR("h2"), .timeout_ms = 500,
	};
	struct wire_buf b = { 0 };
	struct names rows = { 0 };

	/* tag | name in both pages, then every tag that is encoded. */
	EXPECT_EQ(0, same_table(_metadata, "Request", "REQUEST", 0, 2, &rows));
	ASSERT_EQ(0, wire_encode_req(&b, &r));
	EXPECT_EQ(0, same_tags(_metadata, "request tag", &b, &rows));
	wire_buf_wipe_free(&b);
	names_free(&rows);
}

TEST(handoff_reply_fields)
{
	static const uint8_t sha[32], secret[32], early[4];
	struct wire_reply r = {
		.id = 1, .status = 0, .message = STR("done"),
		.version = KTLS_TLS13, .cipher = KTLS_CIPHER_AES_128_GCM,
		.group = STR("X25519"), .sigalg = STR("ECDSA-SHA256"),
		.alpn = STR("h2"), .sni = STR("a.example"),
		.peer_subject = STR("CN=a"), .peer_sha256 = sha, .resumed = 1,
		.offload_tx = 1, .offload_rx = 1, .rekey = 1, .role = 1,
		.options = KTLS_OPT_RX_NO_PAD,
		.early = early, .early_len = sizeof(early),
		.secret_tx = secret, .secret_rx = secret,
		.secret_len = sizeof(secret), .ticket_token = 5,
	};
	struct wire_buf b = { 0 };
	struct names rows = { 0 };

	EXPECT_EQ(0, same_table(_metadata, "Reply", "REPLY", 0, 2, &rows));
	ASSERT_EQ(0, wire_encode_reply(&b, &r));
	EXPECT_EQ(0, same_tags(_metadata, "reply tag", &b, &rows));
	wire_buf_wipe_free(&b);
	names_free(&rows);
}

/* The symbols the status tables may use, with their values. */
static const struct {
	const char *name;
	int value;
} symbols[] = {
	{ "EBADF", EBADF }, { "ENOTSOCK", ENOTSOCK },
	{ "EAFNOSUPPORT", EAFNOSUPPORT }, { "EPROTOTYPE", EPROTOTYPE },
	{ "EPROTONOSUPPORT", EPROTONOSUPPORT }, { "ENOTCONN", ENOTCONN },
	{ "EALREADY", EALREADY }, { "EBADMSG", EBADMSG },
	{ "EMSGSIZE", EMSGSIZE }, { "EPROTO", EPROTO }, { "ENOENT", ENOENT },
	{ "EACCES", EACCES }, { "EPERM", EPERM }, { "EBUSY", EBUSY },
	{ "ETIMEDOUT", ETIMEDOUT }, { "ECONNRESET", ECONNRESET },
	{ "ESHUTDOWN", ESHUTDOWN }, { "KTLS_E_NO_KTLS", KTLS_E_NO_KTLS },
	{ "KTLS_E_CIPHER", KTLS_E_CIPHER }, { "KTLS_E_ALERT", KTLS_E_ALERT },
	{ "KTLS_E_VERIFY", KTLS_E_VERIFY },
	{ "KTLS_E_HANDSHAKE", KTLS_E_HANDSHAKE },
	{ "KTLS_E_CONFIG", KTLS_E_CONFIG },
	{ "EADDRNOTAVAIL", EADDRNOTAVAIL }, { "EINVAL", EINVAL },
};

/* "0", or "-NAME (-N)" with N the value of NAME: 0 if so. */
static int status_ok(struct __test_metadata *_metadata, const char *s)
{
	char name[64];
	size_t i;
	int n;

	if (!strcmp(s, "0"))
		return 0;
	if (sscanf(s, "-%63[A-Z_] (-%d)", name, &n) != 2) {
		TH_LOG("status '%s': '-NAME (-N)' expected", s);
		return 1;
	}
	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++)
		if (!strcmp(name, symbols[i].name))
			break;
	if (i == sizeof(symbols) / sizeof(symbols[0])) {
		TH_LOG("status '%s': %s is not in this test's table", s, name);
		return 1;
	}
	if (symbols[i].value != n) {
		TH_LOG("status '%s': %s is %d", s, name, symbols[i].value);
		return 1;
	}
	return 0;
}

TEST(handoff_subscription_fields)
{
	struct wire_buf b = { 0 };
	struct names rows = { 0 };

	EXPECT_EQ(0, same_table(_metadata, "Subscription", "SUBSCRIPTION", 0,
				2, &rows));
	ASSERT_EQ(0, wire_encode_subscribe(&b, 7, STR("web")));
	EXPECT_EQ(0, same_tags(_metadata, "subscription tag", &b, &rows));
	EXPECT_EQ(2U, rows.n);
	wire_buf_wipe_free(&b);
	names_free(&rows);
}

TEST(handoff_ticket_fields)
{
	static const uint8_t nst[8] = { 4, 0, 0, 4 };
	struct wire_ticket t = { 7, nst, sizeof(nst) };
	struct wire_buf b = { 0 };
	struct names rows = { 0 };

	EXPECT_EQ(0, same_table(_metadata, "Ticket", "TICKET", 0, 2, &rows));
	ASSERT_EQ(0, wire_encode_ticket(&b, &t));
	EXPECT_EQ(0, same_tags(_metadata, "ticket tag", &b, &rows));
	wire_buf_wipe_free(&b);
	names_free(&rows);
}

TEST(handoff_status_values)
{
	struct names rows = { 0 };
	size_t i;
	int bad = 0;

	EXPECT_EQ(0, same_table(_metadata, "Status values", "STATUS VALUES", 0,
				1, &rows));
	for (i = 0; i < rows.n; i++)
		bad += status_ok(_metadata, rows.v[i]);
	EXPECT_EQ(0, bad);
	EXPECT_LT(20U, rows.n);
	names_free(&rows);
}

TEST_HARNESS_MAIN
