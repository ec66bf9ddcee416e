// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers every fuzz harness links: the verdict, the invariant check, the
 * sandbox of the configuration harnesses and their memfd input.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "wire.h"

int fuzz_verdict;
int fuzz_replay;

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

int fuzz_memfd_path(const uint8_t *data, size_t size, const char **path)
{
	static char name[40];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-input", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) !=
					 (ssize_t)size))
		return -errno;
	*path = name;
	return 0;
}

/* ---- The sandbox ---- */

/* The files the seeds name, under FUZZ_DIR: from FUZZ_SRC/data, or text. */
static const struct {
	const char *name, *from, *text;
} sandbox_files[] = {
	{ "cert.pem", "cert.pem", NULL },
	{ "key.pem", "key.pem", NULL },
	{ "ca.pem", "cert.pem", NULL },
	{ "crl.pem", "crl.pem", NULL },
	{ "empty", NULL, "" },
	{ "garbage.pem", NULL, "-----BEGIN CERTIFICATE-----\nnot base64\n" },
	{ "tlshd.conf", NULL,
	  "[authenticate.client]\nx509.truststore=" FUZZ_DIR "/ca.pem\n"
	  "[authenticate.server]\nx509.certificate=" FUZZ_DIR "/cert.pem\n"
	  "x509.private_key=" FUZZ_DIR "/key.pem\n" },
	{ NULL, NULL, NULL }
};

/* The whole of a small file, NUL-terminated; NULL on failure. */
static char *slurp(const char *path)
{
	char *buf = NULL;
	FILE *f = fopen(path, "re");
	long n;

	if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 &&
	    !fseek(f, 0, SEEK_SET) && (buf = calloc(1, n + 1)) &&
	    fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

static int put_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

static int write_map(const char *file, const char *line)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	return put_file(path, line);
}

/* An empty tmpfs over dir, unless dir is missing or holds the cwd. */
static int mask(const char *dir, const char *cwd)
{
	size_t n = strlen(dir);

	if (access(dir, F_OK) || (!strncmp(cwd, dir, n) &&
				  (!cwd[n] || cwd[n] == '/')))
		return 0;
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=16m"))
		return -errno;
	return 0;
}

static int enter_namespaces(void)
{
	char line[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -errno;
	snprintf(line, sizeof(line), "0 %u 1\n", (unsigned)uid);
	if (write_map("setgroups", "deny") || write_map("uid_map", line))
		return -EPERM;
	snprintf(line, sizeof(line), "0 %u 1\n", (unsigned)gid);
	if (write_map("gid_map", line))
		return -EPERM;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	return 0;
}

static int fill(char **data)
{
	char path[PATH_MAX];
	int i, ret = 0;

	if (put_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
		     "nobody:x:65534:65534:nobody:/:/bin/false\n") ||
	    put_file("/etc/group", "root:x:0:\nnogroup:x:65534:\n") ||
	    put_file("/etc/nsswitch.conf", "passwd: files\ngroup: files\n"))
		return -EIO;
	if (mkdir(FUZZ_DIR, 0755))
		ret = -errno;
	for (i = 0; !ret && sandbox_files[i].name; i++) {
		snprintf(path, sizeof(path), FUZZ_DIR "/%s",
			 sandbox_files[i].name);
		ret = put_file(path, data[i] ? data[i] : sandbox_files[i].text);
	}
	return ret;
}

int fuzz_sandbox(void)
{
	static const char *const dirs[] = { "/dev", "/etc", "/run", "/tmp" };
	char *data[sizeof(sandbox_files) / sizeof(sandbox_files[0])] = { 0 };
	char cwd[PATH_MAX], path[PATH_MAX];
	int i, null, ret = 0;

	/* Before /dev goes: a path to stdin must not wait for a terminal. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || !getcwd(cwd, sizeof(cwd)))
		ret = -errno;
	if (null >= 0)
		close(null);
	for (i = 0; !ret && sandbox_files[i].name; i++) {
		if (!sandbox_files[i].from)
			continue;
		snprintf(path, sizeof(path), "%s/data/%s", FUZZ_SRC,
			 sandbox_files[i].from);
		data[i] = slurp(path);
		if (!data[i])
			ret = -ENOENT;
	}
	if (!ret)
		ret = enter_namespaces();
	for (i = 0; !ret && i < (int)(sizeof(dirs) / sizeof(dirs[0])); i++)
		ret = mask(dirs[i], cwd);
	if (!ret)
		ret = fill(data);
	for (i = 0; sandbox_files[i].name; i++)
		free(data[i]);
	if (ret)
		fprintf(stderr, "fuzz: no sandbox for the configuration "
			"harnesses: %s\n", strerror(-ret));
	return ret;
}

uint8_t *fuzz_wire_body(const uint8_t *data, size_t size, int type,
			size_t max, long *len)
{
	uint8_t *body;

	if (size < WIRE_HDR_LEN)
		return NULL;
	*len = wire_check_header(data, type, max);
	if (*len < 0 || (size_t)*len > size - WIRE_HDR_LEN)
		return NULL;
	body = malloc(*len ? *len : 1);
	if (body)
		memcpy(body, data + WIRE_HDR_LEN, *len);
	return body;
}
