// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls-fileserver's HTTP side, where what a client sent is checked before
 * anything acts on it: finding and parsing a request head, percent-decoding
 * its path and refusing "..", opening files so that no path leads out of
 * ROOT, content types, and the status line and headers of a response.
 * main.c reads the requests off the socket and sends the responses.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_H 1
#endif
#endif

#include "fileserver.h"

/* ---- Files under ROOT ---- */

static int root_fd = -1;
static char root_real[PATH_MAX];
static size_t root_real_len;
static int use_openat2;

/*
 * openat2() with RESOLVE_BENEATH settles every component, symlinks
 * included, against the root directory in the kernel, so nothing can race
 * it; it refuses every absolute symlink, even one that points back inside
 * ROOT. The fallback (kernels before 5.6, or a seccomp filter that refuses
 * the call) resolves with realpath() and checks the prefix: good against
 * "..", symlinks and absolute links (it lets those that stay inside ROOT
 * through), though not against someone swapping a directory for a symlink
 * between the check and the open.
 */
static int open_beneath(const char *rel, int flags)
{
	char full[PATH_MAX], real[PATH_MAX];
	int fd;

#if defined(HAVE_OPENAT2_H) && defined(SYS_openat2)
	if (use_openat2) {
		struct open_how how = {
			.flags = flags,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};

		fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
		return fd < 0 ? -errno : fd;
	}
#endif
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", root_real, rel) >=
	    sizeof(full))
		return -ENAMETOOLONG;
	if (!realpath(full, real))
		return -errno;
	if (root_real_len > 1 && (strncmp(real, root_real, root_real_len) ||
				  (real[root_real_len] &&
				   real[root_real_len] != '/')))
		return -EXDEV;
	fd = open(real, flags | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

static void probe_openat2(void)
{
#if defined(HAVE_OPENAT2_H) && defined(SYS_openat2)
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH,
	};
	int fd = syscall(SYS_openat2, root_fd, ".", &how, sizeof(how));

	if (fd >= 0) {
		close(fd);
		use_openat2 = 1;
	}
#endif
}

/* Serve the files beneath dir: 0, or -errno. */
int root_open(const char *dir)
{
	root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || !realpath(dir, root_real))
		return -errno;
	root_real_len = strlen(root_real);
	probe_openat2();
	return 0;
}

/* An HTTP status for a failed open. */
int open_status(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -ENAMETOOLONG:
	case -ENXIO:		/* a socket or a device without a driver */
	case -ENODEV:
		return 404;
	case -EXDEV:		/* it leads out of ROOT */
	case -ELOOP:
	case -EACCES:
	case -EPERM:
		return 403;
	}
	return 500;
}

/*
 * open_beneath() with O_PATH and fstat(): the descriptor, or -errno.
 * O_PATH opens nothing for reading: not a FIFO (which would let a writer
 * waiting for a reader go on), not a device (which some act on).
 */
static int open_stat(const char *rel, struct stat *st)
{
	int fd = open_beneath(rel, O_PATH | O_CLOEXEC), err;

	if (fd >= 0 && fstat(fd, st)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * The regular file behind an O_PATH descriptor (closed here), opened for
 * reading. Through /proc it is the same file, whatever happened to its
 * path since; without /proc the path is opened again and must lead to
 * the same file (O_NONBLOCK: a FIFO swapped in meanwhile does not block).
 */
static int reopen_file(int pfd, const char *rel, const struct stat *st)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	char proc[40];
	struct stat now;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, flags);
	fd = fd < 0 ? -errno : fd;
	close(pfd);
	if (fd != -ENOENT)
		return fd;
	fd = open_beneath(rel, flags);
	if (fd >= 0 && (fstat(fd, &now) || now.st_dev != st->st_dev ||
			now.st_ino != st->st_ino)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/*
 * Open the regular file the decoded path names, a directory's index.html
 * in its place. *name gets what was opened, for the content type.
 */
int open_path(const char *path, struct stat *st, char *name,
	      size_t name_len)
{
	const char *rel = path + strspn(path, "/");
	int fd;

	if ((size_t)snprintf(name, name_len, "%s", *rel ? rel : ".") >= name_len)
		return -ENAMETOOLONG;
	fd = open_stat(name, st);
	if (fd < 0)
		return fd;
	if (S_ISDIR(st->st_mode)) {
		const char *sep = *rel && rel[strlen(rel) - 1] != '/' ? "/" : "";

		close(fd);
		if ((size_t)snprintf(name, name_len, "%s%sindex.html", rel, sep) >=
		    name_len)
			return -ENAMETOOLONG;
		fd = open_stat(name, st);
		if (fd < 0)
			return fd;
	}
	/* Directories without an index, FIFOs, devices: nothing to serve. */
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return reopen_file(fd, name, st);
}

const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "json", "application/json" },
		{ "xml", "application/xml" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "ico", "image/x-icon" },
		{ "pdf", "application/pdf" },
		{ "wasm", "application/wasm" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot && !strchr(dot, '/'))
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/* ---- HTTP messages ---- */

const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	}
	return "Internal Server Error";
}

size_t format_head(char *out, size_t len, int status, const char *type,
		   long long length, int keep)
{
	char date[64];
	struct tm tm;
	time_t t = time(NULL);
	int n;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	n = snprintf(out, len,
		     "HTTP/1.1 %d %s\r\n"
		     "Server: ktls-fileserver\r\n"
		     "Date: %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %lld\r\n"
		     "%s"
		     "Connection: %s\r\n"
		     "\r\n",
		     status, reason(status), date, type, length,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "",
		     keep ? "keep-alive" : "close");
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/*
 * The target's path, percent-decoded into out. HTTP status on failure:
 * 400 for what no client should send, 403 for a ".." segment.
 */
static int decode_path(const char *target, char *out, size_t len)
{
	const char *p = target, *seg;
	size_t o = 0;
	int hi, lo;

	/* The absolute form (RFC 9112, 3.2.2): drop scheme and authority. */
	if (!strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8)) {
		/* The authority ends at the path, the query or the fragment. */
		p = strstr(p, "//") + 2;
		p += strcspn(p, "/?#");
		if (*p != '/')
			p = "/";
	}
	if (*p != '/')
		return 400;
	for (; *p && *p != '?' && *p != '#'; p++) {
		char ch = *p;

		if (ch == '%') {
			hi = hexval(p[1]);
			lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0)
				return 400;
			ch = (char)(hi << 4 | lo);
			if (!ch)
				return 400;
			p += 2;
		}
		if (o + 1 >= len)
			return 414;
		out[o++] = ch;
	}
	out[o] = 0;
	/* Decoding first means "%2e%2e" and "..%2f" are caught too. */
	for (seg = out; seg; seg = strchr(seg, '/')) {
		seg++;
		if (seg[0] == '.' && seg[1] == '.' && (!seg[2] || seg[2] == '/'))
			return 403;
	}
	return 0;
}

static int is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* Whether a comma-separated header value holds token (any case). */
static int has_token(const char *value, const char *token)
{
	size_t tl = strlen(token);
	const char *p = value;

	while (*p) {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, ",");
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == tl && !strncasecmp(p, token, tl))
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

/* Where the blank line after the headers ends; 0 if not yet received. */
size_t head_end(const char *b, size_t len)
{
	const char *p = b, *nl;

	while ((nl = memchr(p, '\n', len - (p - b)))) {
		if (nl == p || (nl == p + 1 && *p == '\r'))
			return nl - b + 1;
		p = nl + 1;
	}
	return 0;
}

/* The next line of a NUL-terminated head, its end cut off. */
static char *next_line(char **p)
{
	char *line = *p, *nl = strchr(line, '\n');

	if (!nl)
		return NULL;
	*nl = 0;
	if (nl > line && nl[-1] == '\r')
		nl[-1] = 0;
	*p = nl + 1;
	return line;
}

/*
 * Parse the head (len bytes of buf, terminated in place). 0 when the
 * request can be served, else the error status to answer with.
 */
int parse_request(char *buf, size_t len, struct request *r)
{
	char *p = buf, *line, *sp, *name, *value, *end;
	int close_tok = 0, keep_tok = 0, body = 0, has_cl = 0;
	unsigned long long cl = 0, v;

	memset(r, 0, sizeof(*r));
	r->minor = 1;
	if (memchr(buf, 0, len))
		return 400;
	buf[len] = 0;
	line = next_line(&p);
	sp = strchr(line, ' ');
	if (!sp)
		return 400;
	*sp = 0;
	r->method = line;
	r->target = sp + 1;
	sp = strchr(sp + 1, ' ');
	if (!sp)
		return 400;
	*sp++ = 0;
	if (!is_token(r->method) || !*r->target || strchr(r->target, ' '))
		return 400;
	if (strncmp(sp, "HTTP/", 5) || sp[5] < '0' || sp[5] > '9' ||
	    sp[6] != '.' || sp[7] < '0' || sp[7] > '9' || sp[8])
		return 400;
	if (sp[5] != '1')
		return 505;
	r->minor = sp[7] - '0';

	while ((line = next_line(&p)) && *line) {
		/* Obsolete line folding is refused (RFC 9112, 5.2). */
		if (*line == ' ' || *line == '\t')
			return 400;
		value = strchr(line, ':');
		if (!value)
			return 400;
		*value++ = 0;
		name = line;
		if (!is_token(name))
			return 400;
		value += strspn(value, " \t");
		end = value + strlen(value);
		while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = 0;
		if (!strcasecmp(name, "Connection")) {
			close_tok |= has_token(value, "close");
			keep_tok |= has_token(value, "keep-alive");
		} else if (!strcasecmp(name, "Content-Length")) {
			if (!*value || strspn(value, "0123456789") != strlen(value))
				return 400;
			errno = 0;
			v = strtoull(value, NULL, 10);
			if (errno || (has_cl && v != cl))
				return 400;
			cl = v;
			has_cl = 1;
		} else if (!strcasecmp(name, "Transfer-Encoding")) {
			body = 1;
		}
	}
	if (cl)
		body = 1;
	r->keep = r->minor >= 1 ? !close_tok : keep_tok && !close_tok;
	/* A body is never read here: closing is simpler than skipping it. */
	if (body)
		r->keep = 0;
	r->head = !strcmp(r->method, "HEAD");
	if (strcmp(r->method, "GET") && !r->head)
		return 405;
	return decode_path(r->target, r->path, sizeof(r->path));
}
