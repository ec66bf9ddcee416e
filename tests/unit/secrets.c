// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Secrets must not outlive their use: the PSKs of ktlsd.conf must not be
 * left in heap blocks given back to malloc (freed, or moved by realloc),
 * nor in the line buffer libinih parses on, nor in a value its handler
 * refused; nor ktlsctl's PSK file in a freed stdio buffer.
 *
 * This program's own free() and realloc() come before libc's for every
 * caller (libraries included): while a test watches, they look into each
 * block given back (with AddressSanitizer, whose allocator replaces
 * libc's, the tests that need this skip). ini_parse_stream() is wrapped
 * the same way, to look at inih's line buffer when it stops reading and
 * at each value after the handler returns.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <ini.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ctl.h"
#include "internal.h"
#include "ktlsd.h"

/* ---- Watching for secrets ---- */

#define WATCH_MAX	8

static struct {
	const void *needle[WATCH_MAX];
	size_t len[WATCH_MAX];
	int n;
	/*
	 * What was found, and where: the first hit. Volatile: the compiler
	 * takes free() and realloc() for libc's, which touch no globals.
	 */
	volatile int hits;
	char where[160];
} watch;

static void watch_add(const void *needle, size_t len)
{
	if (watch.n < WATCH_MAX) {
		watch.needle[watch.n] = needle;
		watch.len[watch.n++] = len;
	}
}

static void watch_stop(void)
{
	watch.n = 0;
}

/* Which watched secret buf holds, or -1. */
static int holds_secret(const void *buf, size_t len)
{
	int i;

	for (i = 0; i < watch.n; i++)
		if (memmem(buf, len, watch.needle[i], watch.len[i]))
			return i;
	return -1;
}

/* Note a hit; no allocation here, free() calls this. */
static void found(const char *what, size_t size, int i)
{
	if (!watch.hits++)
		snprintf(watch.where, sizeof(watch.where),
			 "secret %d in %s (%zu bytes)", i, what, size);
}

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_WATCH 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_WATCH 0
#endif
#endif
#ifndef HEAP_WATCH
#define HEAP_WATCH 1
#endif

/* In a test that needs free() and realloc() watched. */
#define NEED_HEAP_WATCH() do {						\
	if (!HEAP_WATCH)						\
		SKIP(return, "AddressSanitizer's free() is not watched"); \
} while (0)

#if HEAP_WATCH
extern void __libc_free(void *ptr);
extern void *__libc_realloc(void *ptr, size_t size);

void free(void *ptr)
{
	size_t size;
	int i;

	if (ptr && watch.n) {
		size = malloc_usable_size(ptr);
		i = holds_secret(ptr, size);
		if (i >= 0)
			found("a freed block", size, i);
	}
	__libc_free(ptr);
}

/* A block with a secret must not be moved: realloc() may leave a copy. */
void *realloc(void *ptr, size_t size)
{
	size_t old;
	int i;

	if (ptr && watch.n) {
		old = malloc_usable_size(ptr);
		i = holds_secret(ptr, old);
		if (i >= 0)
			found("a block passed to realloc()", old, i);
	}
	return __libc_realloc(ptr, size);
}
#endif

/* ---- inih, watched ---- */

static struct {
	ini_reader reader;
	void *stream;
	ini_handler handler;
	void *user;
} spy;

/* When inih stops reading, its line buffer must hold no secret. */
static char *spy_reader(char *buf, int size, void *stream)
{
	char *ret = spy.reader(buf, size, stream);
	int i;

	(void)stream;
	if (!ret && watch.n) {
		i = holds_secret(buf, size);
		if (i >= 0)
			found("inih's line buffer", size, i);
	}
	return ret;
}

/* Nor a value, refused or not, once the handler is done with it. */
static int spy_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	size_t len = strlen(value);
	int ret = spy.handler(spy.user, section, name, value);
	int i;

	(void)user;
	if (watch.n) {
		i = holds_secret(value, len);
		if (i >= 0)
			found("a value after the handler", len, i);
	}
	return ret;
}

/*
 * With ini_parse_stream() defined here, nothing would make the linker keep
 * libinih (linked --as-needed), where dlsym() finds the real one.
 */
int (*const keep_libinih)(const char *, ini_handler, void *) = ini_parse_string;

int ini_parse_stream(ini_reader reader, void *stream, ini_handler handler,
		     void *user)
{
	int (*real)(ini_reader, void *, ini_handler, void *);

	*(void **)&real = dlsym(RTLD_NEXT, "ini_parse_stream");
	if (!real)
		return -2;
	spy.reader = reader;
	spy.stream = stream;
	spy.handler = handler;
	spy.user = user;
	return real(spy_reader, stream, spy_handler, user);
}

/* ---- Configuration files ---- */

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	if (fputs(text, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

FIXTURE(secrets)
{
	char dir[40];
	char path[80];
	char err[512];
};

FIXTURE_SETUP(secrets)
{
	strcpy(self->dir, "/tmp/ktlsd-secrets-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/k.conf", self->dir);
	watch.hits = 0;
}

FIXTURE_TEARDOWN(secrets)
{
	watch_stop();
	unlink(self->path);
	rmdir(self->dir);
}

/* Four PSKs, as hex in the file and as the bytes they stand for. */
#define HEX1 "a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define HEX2 "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978"
#define HEX3 "5a5a5a5aa5a5a5a53c3c3c3cc3c3c3c3"
#define HEX4 "deadbeef00112233445566778899aabbccddeeff0123456789abcdef01234567"

static int unhex(const char *hex, unsigned char *out)
{
	size_t i, n = strlen(hex) / 2;

	for (i = 0; i < n; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return (int)n;
}

static const char four_psks[] =
	"[profile a]\nrole = server\npsk_identity = a\npsk_key = " HEX1 "\n"
	"[profile b]\nrole = client\npsk_identity = b\npsk_key = " HEX2 "\n"
	"[profile c]\nrole = server\npsk_identity = c\npsk_key = " HEX3 "\n"
	"[profile d]\nrole = client\npsk_identity = d\npsk_key = " HEX4 "\n";

/* The watch itself: a copy freed, or moved by realloc(), is seen. */
TEST_F(secrets, watch_sees_freed_and_moved_copies)
{
	static const char secret[] = "0123456789abcdef";
	char *a, *b;

	NEED_HEAP_WATCH();
	a = malloc(64);
	b = malloc(64);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	memcpy(a, secret, 16);
	memcpy(b, secret, 16);
	watch_add(secret, 16);
	/* The compiler may drop a malloc() and free() pair it sees unused. */
	__asm__ volatile("" : : "r"(a), "r"(b) : "memory");
	free(a);
	ASSERT_EQ(1, watch.hits);
	ASSERT_NE(NULL, strstr(watch.where, "a freed block"));
	watch.hits = 0;
	b = realloc(b, 1 << 20);
	ASSERT_EQ(1, watch.hits);
	ASSERT_NE(NULL, strstr(watch.where, "realloc"));
	explicit_bzero(b, 16);
	watch.hits = 0;
	free(b);
	ASSERT_EQ(0, watch.hits);
}

/* libktls's copy of a client's PSK is the only one, and it is wiped. */
TEST_F(secrets, client_psk_config_leaves_no_freed_copy)
{
	unsigned char key[32];
	struct ktls_config *cfg;
	int role;

	NEED_HEAP_WATCH();
	ASSERT_EQ(32, unhex(HEX4, key));
	watch_add(key, 16);
	for (role = 0; role < 2; role++) {
		ASSERT_EQ(0, ktls_config_new(&cfg, role ? KTLS_SERVER : KTLS_CLIENT));
		ASSERT_EQ(0, ktls_config_set_psk(cfg, "me", key, sizeof(key)));
		ktls_config_free(cfg);
	}
	watch_stop();
	ASSERT_EQ(0, watch.hits) TH_LOG("%s", watch.where);
}

/*
 * Load a file of several PSK profiles, reload it (a second load, then
 * the first one dropped) and drop that too: no block given back to malloc
 * on the way holds a key, as bytes or as hex.
 */
TEST_F(secrets, psk_profiles_leave_no_freed_copies)
{
	static const char *const hex[] = { HEX1, HEX2, HEX3, HEX4 };
	unsigned char key[4][32];
	struct conf *c = NULL, *again = NULL;
	int i, n;

	NEED_HEAP_WATCH();
	ASSERT_EQ(0, write_text(self->path, four_psks));
	for (i = 0; i < 4; i++) {
		n = unhex(hex[i], key[i]);
		ASSERT_LE(16, n);
		/* 16 bytes of each are enough to tell a copy. */
		watch_add(key[i], 16);
	}
	watch_add(HEX1, 32);
	watch_add(&HEX4[32], 32);
	ASSERT_EQ(0, conf_load(self->path, &c, self->err, sizeof(self->err)))
		TH_LOG("%s", self->err);
	ASSERT_EQ(4u, c->n_profiles);
	/* The needles are right: the first key is what the file says. */
	ASSERT_EQ(16u, c->profiles[0].cfg->psk_key.size);
	ASSERT_EQ(0, memcmp(key[0], c->profiles[0].cfg->psk_key.data, 16));
	ASSERT_EQ(0, conf_load(self->path, &again, self->err,
			       sizeof(self->err)))
		TH_LOG("%s", self->err);
	conf_put(c);
	conf_put(again);
	watch_stop();
	ASSERT_EQ(0, watch.hits) TH_LOG("%s", watch.where);
}

/* ---- ktlsctl's PSK file ---- */

TEST_F(secrets, psk_file_is_read)
{
	static const unsigned char want[16] = {
		0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18,
		0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90,
	};
	unsigned char key[64];

	/* Whitespace anywhere, either case. */
	ASSERT_EQ(0, write_text(self->path, " A1B2c3d4 e5f60718\r\n\t293a4b5c"
				"6d7e8f90\n\n"));
	ASSERT_EQ(16, ctl_secret_read_psk(self->path, key, sizeof(key)));
	ASSERT_EQ(0, memcmp(want, key, sizeof(want)));
	/* 64 bytes fit; the caller's buffer is the limit. */
	ASSERT_EQ(0, write_text(self->path, HEX4 HEX4 "\n"));
	ASSERT_EQ(64, ctl_secret_read_psk(self->path, key, sizeof(key)));
	ASSERT_EQ(-EINVAL, ctl_secret_read_psk(self->path, key, 63));
}

TEST_F(secrets, psk_file_refused)
{
	static const char *const bad[] = {
		"",			/* empty */
		" \n",			/* no digit */
		HEX1 "0",		/* odd */
		HEX1 "zz\n",		/* not hex */
		"0x" HEX1,		/* not plain hex */
		HEX4 HEX4 "00",		/* 65 bytes */
	};
	static const char nul[] = HEX1 "\0" HEX3;
	unsigned char key[64];
	char big[8192];
	size_t i;
	FILE *f;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(0, write_text(self->path, bad[i]));
		EXPECT_EQ(-EINVAL, ctl_secret_read_psk(self->path, key,
						       sizeof(key)))
			TH_LOG("file %zu: '%s'", i, bad[i]);
	}
	/* A NUL byte, whatever follows it. */
	f = fopen(self->path, "we");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1u, fwrite(nul, sizeof(nul) - 1, 1, f));
	ASSERT_EQ(0, fclose(f));
	EXPECT_EQ(-EINVAL, ctl_secret_read_psk(self->path, key, sizeof(key)));
	/* Not a PSK file at all: a large one (a certificate bundle, say). */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big + 4096, HEX1, 32);
	ASSERT_EQ(0, write_text(self->path, big));
	EXPECT_EQ(-EFBIG, ctl_secret_read_psk(self->path, key, sizeof(key)));
	unlink(self->path);
	EXPECT_EQ(-ENOENT, ctl_secret_read_psk(self->path, key, sizeof(key)));
}

/* Read with read(2) into a buffer that is wiped: no stdio buffer freed. */
TEST_F(secrets, psk_file_leaves_no_freed_copy)
{
	unsigned char key[64], bytes[32];

	NEED_HEAP_WATCH();
	ASSERT_EQ(0, write_text(self->path, HEX4 "\n"));
	ASSERT_EQ(32, unhex(HEX4, bytes));
	watch_add(HEX4, 32);
	watch_add(&HEX4[32], 32);
	watch_add(bytes, 16);
	ASSERT_EQ(32, ctl_secret_read_psk(self->path, key, sizeof(key)));
	watch_stop();
	ASSERT_EQ(0, memcmp(bytes, key, 32));
	ASSERT_EQ(0, watch.hits) TH_LOG("%s", watch.where);
}

/* ---- ktlsctl --session-file ---- */

/* The names in dir, space-separated and sorted, into out. */
static void dir_list(const char *dir, char *out, size_t len)
{
	struct dirent **e;
	size_t n = 0;
	int i, count = scandir(dir, &e, NULL, alphasort);

	out[0] = 0;
	for (i = 0; i < count; i++) {
		if (e[i]->d_name[0] != '.' && n < len)
			n += snprintf(out + n, len - n, "%s%s", n ? " " : "",
				      e[i]->d_name);
		free(e[i]);
	}
	if (count >= 0)
		free(e);
}

/* path holds exactly text. */
static int holds(const char *path, const char *text)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(text) && !memcmp(buf, text, n);
}

static void rm_all(const char *dir)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/*", dir);
	if (system(cmd))
		fprintf(stderr, "# could not empty %s\n", dir);
}

/* Saved mode 0600, replacing a file of another mode; nothing left over. */
TEST_F(secrets, session_file_is_0600)
{
	char file[96], names[256];
	struct stat st;

	snprintf(file, sizeof(file), "%s/session", self->dir);
	ASSERT_EQ(0, write_text(file, "old and readable"));
	ASSERT_EQ(0, chmod(file, 0644));
	umask(0);
	ASSERT_EQ(0, ctl_secret_save(file, "ticket", 6));
	ASSERT_EQ(0, lstat(file, &st));
	ASSERT_TRUE(S_ISREG(st.st_mode));
	ASSERT_EQ(0600u, st.st_mode & 07777);
	ASSERT_EQ(geteuid(), st.st_uid);
	ASSERT_TRUE(holds(file, "ticket"));
	dir_list(self->dir, names, sizeof(names));
	ASSERT_STREQ("session", names);
	rm_all(self->dir);
}

/*
 * What someone left at PATH.tmp, a readable file or a symlink, neither
 * gets the secret nor stops the save: the temporary is a new file.
 */
TEST_F(secrets, session_file_ignores_what_is_at_tmp)
{
	char file[96], tmp[100], other[96], names[256];
	struct stat st;

	snprintf(file, sizeof(file), "%s/session", self->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	snprintf(other, sizeof(other), "%s/elsewhere", self->dir);

	ASSERT_EQ(0, write_text(tmp, "squatter"));
	ASSERT_EQ(0, chmod(tmp, 0666));
	ASSERT_EQ(0, ctl_secret_save(file, "ticket", 6));
	ASSERT_EQ(0, stat(file, &st));
	EXPECT_EQ(0600u, st.st_mode & 07777);
	EXPECT_TRUE(holds(file, "ticket"));
	EXPECT_TRUE(holds(tmp, "squatter")) TH_LOG("PATH.tmp was written");
	dir_list(self->dir, names, sizeof(names));
	EXPECT_STREQ("session session.tmp", names);
	rm_all(self->dir);

	ASSERT_EQ(0, write_text(other, "elsewhere"));
	ASSERT_EQ(0, chmod(other, 0644));
	ASSERT_EQ(0, symlink(other, tmp));
	ASSERT_EQ(0, ctl_secret_save(file, "ticket", 6));
	ASSERT_EQ(0, lstat(file, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0600u, st.st_mode & 07777);
	EXPECT_TRUE(holds(file, "ticket"));
	EXPECT_TRUE(holds(other, "elsewhere"));
	EXPECT_EQ(0, lstat(tmp, &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	dir_list(self->dir, names, sizeof(names));
	EXPECT_STREQ("elsewhere session session.tmp", names);
	rm_all(self->dir);
}

/* A directory it cannot write to: an error, nothing written. */
TEST_F(secrets, session_file_error)
{
	char file[120];

	snprintf(file, sizeof(file), "%s/no-such-dir/session", self->dir);
	ASSERT_EQ(-ENOENT, ctl_secret_save(file, "ticket", 6));
}

/* ---- psk_key lines refused: the key is wiped all the same ---- */

FIXTURE(refused)
{
	char dir[40];
	char path[80];
	char err[512];
};

FIXTURE_VARIANT(refused)
{
	const char *text;
	int line;		/* the error's */
	const char *says;	/* and this in it */
};

FIXTURE_SETUP(refused)
{
	strcpy(self->dir, "/tmp/ktlsd-secrets-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/k.conf", self->dir);
	watch.hits = 0;
}

FIXTURE_TEARDOWN(refused)
{
	watch_stop();
	unlink(self->path);
	rmdir(self->dir);
}

#define PSK_SERVER "[profile a]\nrole = server\npsk_identity = a\n"
#define LONG_HEX HEX3 HEX3 HEX3 HEX3 HEX3 HEX3 HEX3 HEX3 HEX3 HEX3

#define REFUSED(name, txt, ln, word)					\
	FIXTURE_VARIANT_ADD(refused, name) {				\
		.text = txt, .line = ln, .says = word,			\
	}

REFUSED(second_psk_key, PSK_SERVER "psk_key = " HEX1 "\npsk_key = " HEX3 "\n",
	5, "'psk_key' given twice");
REFUSED(continued_psk_key, PSK_SERVER "psk_key = " HEX1 "\n  " HEX3 "\n",
	5, "'psk_key' given twice");
REFUSED(psk_key_in_ktlsd, "[ktlsd]\npsk_key = " HEX3 "\n" PSK_SERVER,
	2, "unknown key 'psk_key' in [ktlsd]");
REFUSED(psk_key_in_upcall, "[upcall]\npsk_key = " HEX3 "\n" PSK_SERVER,
	2, "unknown key 'psk_key' in [upcall]");
REFUSED(psk_key_outside, "psk_key = " HEX3 "\n" PSK_SERVER, 1,
	"outside any section");
REFUSED(misspelt_psk_key, PSK_SERVER "psk-key = " HEX3 "\n", 4,
	"unknown key 'psk-key'");
REFUSED(psk_key_not_hex, PSK_SERVER "psk_key = " HEX3 "0g\n", 4,
	"not a hex string");
REFUSED(psk_key_too_long, PSK_SERVER "psk_key = " LONG_HEX "\n", 4,
	"line longer than");

/*
 * The file is refused, naming the line; neither inih's line buffer when it
 * stops nor the value its handler was given holds the key.
 */
TEST_F(refused, key_is_wiped)
{
	char where[160];

	ASSERT_EQ(0, write_text(self->path, variant->text));
	watch_add(HEX3, 32);
	watch_add(HEX1, 32);
	spy.reader = NULL;
	ASSERT_EQ(-EINVAL, conf_load(self->path, &(struct conf *){ NULL },
				     self->err, sizeof(self->err)));
	watch_stop();
	ASSERT_TRUE(spy.reader != NULL) TH_LOG("inih was not watched");
	snprintf(where, sizeof(where), "%s:%d: ", self->path, variant->line);
	ASSERT_EQ(0, strncmp(where, self->err, strlen(where)))
		TH_LOG("expected \"%s...\", got \"%s\"", where, self->err);
	ASSERT_NE(NULL, strstr(self->err, variant->says)) TH_LOG("%s", self->err);
	ASSERT_EQ(NULL, strstr(self->err, HEX3)) TH_LOG("%s", self->err);
	ASSERT_EQ(0, watch.hits) TH_LOG("%s", watch.where);
}

TEST_HARNESS_MAIN
