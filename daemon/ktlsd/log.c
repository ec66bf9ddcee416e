// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Logging for ktlsd: to stderr (foreground, or under systemd, whose
 * journal adds time and unit) or to syslog. Worker threads log at once,
 * so a stderr line is formatted first and written with a single write(2):
 * lines of different threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ktlsd.h"

#define LOG_LINE_MAX	1024

/* Until log_open(): stderr, so that early errors are seen. */
static atomic_int use_stderr = 1;
static atomic_int max_level = LOG_INFO;

static const char *const level_words[] = {
	[LOG_EMERG]	= "emerg",
	[LOG_ALERT]	= "alert",
	[LOG_CRIT]	= "crit",
	[LOG_ERR]	= "error",
	[LOG_WARNING]	= "warning",
	[LOG_NOTICE]	= "notice",
	[LOG_INFO]	= "info",
	[LOG_DEBUG]	= "debug",
};

static int clamp_level(int level)
{
	if (level < LOG_EMERG)
		return LOG_EMERG;
	return level > LOG_DEBUG ? LOG_DEBUG : level;
}

void log_open(int to_stderr, int level)
{
	if (!to_stderr)
		openlog("ktlsd", LOG_PID, LOG_DAEMON);
	atomic_store(&use_stderr, !!to_stderr);
	log_set_level(level);
	/* Leaving syslog (a reload may): release its socket. */
	if (to_stderr)
		closelog();
}

int log_to_stderr(void)
{
	return atomic_load(&use_stderr);
}

void log_set_level(int level)
{
	atomic_store(&max_level, clamp_level(level));
}

static void __attribute__((format(printf, 2, 0)))
write_stderr(int prio, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len;
	int n;

	n = snprintf(line, sizeof(line), "ktlsd: %s: ", level_words[prio]);
	if (n < 0)
		return;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	len = strlen(line);
	/* Cut short: say so, and keep the newline. */
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 5 + snprintf(line + sizeof(line) - 5, 5, "...");
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0)
		return;	/* nowhere left to complain */
}

static void __attribute__((format(printf, 2, 0)))
vlog(int prio, const char *fmt, va_list ap)
{
	int saved = errno;

	prio = LOG_PRI(prio);
	if (atomic_load(&use_stderr)) {
		errno = saved;	/* for %m */
		write_stderr(prio, fmt, ap);
	} else {
		errno = saved;
		vsyslog(prio, fmt, ap);
	}
	errno = saved;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (LOG_PRI(prio) > atomic_load(&max_level))
		return;
	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	/* Whatever the level: this is the last word before the core. */
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	abort();
}
