// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * make install into a DESTDIR with a PREFIX, then build a program against
 * the installed header, library and pkg-config file, as a user would; and
 * the manual pages where MANDIR says.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "testutil.h"

/*
 * Under make check SANITIZE=1, the make install below (SANITIZE=1 in
 * MAKEFLAGS) installs a sanitized library: a program that links it must
 * bring the sanitizers' runtime.
 */
#ifdef KTLS_LEAK_CHECK
#define PROG_CC "cc -fsanitize=address,undefined"
#else
#define PROG_CC "cc"
#endif

FIXTURE(install)
{
	char dest[64];
	char cmd[2048];
};

FIXTURE_SETUP(install)
{
	if (access("Makefile", R_OK) || access("include/ktls.h", R_OK))
		SKIP(return, "run from the source tree");
	snprintf(self->dest, sizeof(self->dest), "/tmp/ktls-install-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dest));
}

FIXTURE_TEARDOWN(install)
{
	snprintf(self->cmd, sizeof(self->cmd), "rm -rf %s", self->dest);
	if (self->dest[0] && system(self->cmd))
		TH_LOG("could not remove %s", self->dest);
}

TEST_F_TIMEOUT(install, destdir_prefix_and_pkg_config, 120)
{
	static const char prog[] =
		"#include <ktls.h>\n"
		"#include <string.h>\n"
		"int main(void)\n{\n"
		"\tstruct ktls_probe p = { .size = sizeof(p) };\n"
		"\treturn ktls_probe(&p) || !ktls_cipher_name(KTLS_CIPHER_AES_128_GCM)"
		" || strcmp(ktls_cipher_name(KTLS_CIPHER_AES_128_GCM), \"aes-128-gcm\");\n}\n";
	char path[128];
	struct stat st;
	FILE *f;

	if (access("Makefile", R_OK))
		return;	/* skipped in setup */
	snprintf(self->cmd, sizeof(self->cmd),
		 "make -s install DESTDIR=%s PREFIX=/opt/ktls >/dev/null",
		 self->dest);
	ASSERT_EQ(0, system(self->cmd));
	snprintf(path, sizeof(path), "%s/opt/ktls/lib/libktls.so.0", self->dest);
	ASSERT_EQ(0, stat(path, &st));
	snprintf(path, sizeof(path), "%s/opt/ktls/lib/pkgconfig/libktls.pc",
		 self->dest);
	f = fopen(path, "re");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "prefix=%127s", path));
	fclose(f);
	ASSERT_STREQ("/opt/ktls", path);

	snprintf(path, sizeof(path), "%s/prog.c", self->dest);
	f = fopen(path, "we");
	ASSERT_NE(NULL, f);
	fputs(prog, f);
	fclose(f);
	/* The .pc names /opt/ktls; point the compiler into DESTDIR. */
	snprintf(self->cmd, sizeof(self->cmd),
		 "cd %1$s && export PKG_CONFIG_SYSROOT_DIR=%1$s "
		 "PKG_CONFIG_PATH=%1$s/opt/ktls/lib/pkgconfig && "
		 PROG_CC " prog.c $(pkg-config --cflags --libs libktls) -o prog && "
		 "LD_LIBRARY_PATH=%1$s/opt/ktls/lib ./prog && "
		 "%1$s/opt/ktls/bin/ktlsctl --help >/dev/null", self->dest);
	ASSERT_EQ(0, system(self->cmd)) TH_LOG("%s", self->cmd);
}

/* The manual pages, each in its section's directory under MANDIR. */
TEST_F_TIMEOUT(install, manual_pages, 120)
{
	static const char *const pages[] = {
		"man8/ktlsd.8", "man5/ktlsd.conf.5", "man8/ktlsctl.8",
		"man3/libktls.3", "man7/ktls-handoff.7",
	};
	static const char *const mandirs[] = {
		"",				/* the default */
		" MANDIR=/opt/ktls/man",
	};
	static const char *const expect[] = {
		"/opt/ktls/share/man", "/opt/ktls/man",
	};
	char path[256];
	struct stat st;
	size_t i, m;

	if (access("Makefile", R_OK))
		return;	/* skipped in setup */
	for (m = 0; m < 2; m++) {
		snprintf(self->cmd, sizeof(self->cmd),
			 "make -s install DESTDIR=%s PREFIX=/opt/ktls%s >/dev/null",
			 self->dest, mandirs[m]);
		ASSERT_EQ(0, system(self->cmd));
		for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
			snprintf(path, sizeof(path), "%s%s/%s", self->dest,
				 expect[m], pages[i]);
			ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s missing", path);
			EXPECT_EQ(0644U, st.st_mode & 07777) TH_LOG("%s", path);
		}
	}
}

TEST_HARNESS_MAIN
