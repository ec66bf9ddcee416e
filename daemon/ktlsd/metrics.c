// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * metrics_file: the Prometheus text of stats.c written to a file every
 * metrics_interval seconds, for node_exporter's textfile collector. Each
 * write goes to PATH.tmp-XXXXXX beside it and is renamed over PATH, so a
 * reader sees the old file or the new one, never half of one (and the
 * collector skips the temporary file: it reads *.prom only).
 *
 * The supervisor writes it (the handshake process may not write where
 * the operator wants the file), from the counters it shares with the
 * handshake processes: a copy, of numbers only, so that nothing a
 * handshake process writes there can make the supervisor read elsewhere.
 * It looks at least once a second, so that a reload that sets, moves or
 * drops the file takes effect at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "loop.h"

#define METRICS_MAX	32768

struct metrics {
	int64_t last_ms;		/* of the last attempt, 0: none yet */
	char *path;			/* where that went (strdup'd) */
	int failing;			/* its error, logged once */
	char buf[METRICS_MAX];
};

int metrics_write(const char *path, const char *text, size_t len)
{
	/* Not synced: the next write, seconds later, replaces it anyway. */
	return util_replace_file(path, text, len, 0644, 0);
}

int metrics_check_path(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd;

	if (path[0] != '/' || !slash[1]) {
		snprintf(err, errlen, "'%s' is not the absolute path of a file",
			 path);
		return -EINVAL;
	}
	if (strlen(path) >= PATH_MAX - 16) {
		snprintf(err, errlen, "the path is too long");
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path),
		 path);
	if (stat(dir, &st)) {
		fd = errno;
		snprintf(err, errlen, "directory %s: %s", dir, strerror(fd));
		return -fd;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -ENOTDIR;
	}
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is a directory", path);
		return -EISDIR;
	}
	/* What each write will do, so that root is not taken for granted. */
	fd = util_temp_beside(path, tmp);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create files in %s: %s", dir,
			 strerror(-fd));
		return fd;
	}
	close(fd);
	unlink(tmp);
	return 0;
}

/* Format and write; log a failure once, and the recovery. */
static void metrics_update(struct metrics *m, const char *path,
			   const struct stats *shared, int64_t start_ms,
			   unsigned interval)
{
	struct stats st;
	int n, ret;

	memcpy(&st, shared, sizeof(st));
	st.tls_stat_path = NULL;
	st.start_ms = start_ms;
	n = stats_format(&st, STATS_PROMETHEUS, stats_inflight(&st), m->buf,
			 sizeof(m->buf));
	ret = n < 0 ? n : metrics_write(path, m->buf, n);
	if (ret && ret != m->failing)
		log_warn("metrics_file %s: %s; trying again every %u s", path,
			 ret == -ENOSPC ? "the metrics do not fit the buffer" :
			 strerror(-ret), interval);
	else if (!ret && m->failing)
		log_info("metrics_file %s: written again", path);
	m->failing = ret;
}

int64_t metrics_run(struct metrics **mp, const struct conf *c,
		    const struct stats *st, int64_t start_ms, int final)
{
	struct metrics *m = *mp;
	const char *path = c->metrics_path;
	int64_t now = now_ms(), next = now + 1000, due;

	if (!path)
		return next;
	if (!m) {
		m = *mp = calloc(1, sizeof(*m));
		if (!m)
			return next;
	}
	if (!m->path || strcmp(path, m->path)) {
		free(m->path);
		m->path = strdup(path);
		m->last_ms = 0;
		m->failing = 0;
	}
	due = m->last_ms + (int64_t)c->metrics_interval_s * 1000;
	if (!m->last_ms || now >= due || final) {
		metrics_update(m, path, st, start_ms, c->metrics_interval_s);
		m->last_ms = now;
		due = now + (int64_t)c->metrics_interval_s * 1000;
	}
	return due < next ? due : next;
}

void metrics_free(struct metrics *m)
{
	if (m)
		free(m->path);
	free(m);
}
