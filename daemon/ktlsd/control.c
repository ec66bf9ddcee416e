// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control socket: a Unix stream socket (root, 0600 by default) that
 * answers one line with one reply and closes, for ktlsctl. Commands:
 *
 *   stats          counters, one "key value" per line
 *   stats json     the same, one JSON object per front door and line
 *   stats prometheus   in Prometheus' text format, with more (stats.h)
 *   ping           "pong"
 *
 * Only root and ktlsd's own user may ask, whatever the file mode says.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"

#define CTL_TIMEOUT_MS	5000
#define CTL_OUT_MAX	32768

struct ctl_conn {
	struct ev ev;
	struct ktlsd *d;
	char in[128];
	size_t in_len;
	char out[CTL_OUT_MAX];
	size_t out_len, out_off;
	int replying;
};

static void conn_close(struct ctl_conn *c)
{
	loop_remove(&c->ev);
	close(c->ev.fd);
	free(c);
}

static void answer(struct ctl_conn *c, char *line)
{
	static const char *const formats[] = {
		[STATS_TEXT] = "stats", [STATS_JSON] = "stats json",
		[STATS_PROMETHEUS] = "stats prometheus",
	};
	unsigned i;
	int n;

	line[strcspn(line, "\r\n")] = 0;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(line, formats[i]))
			break;
	if (i < sizeof(formats) / sizeof(formats[0])) {
		n = stats_format(c->d->stats, i, stats_inflight(c->d->stats),
				 c->out, sizeof(c->out));
		if (n < 0)
			n = snprintf(c->out, sizeof(c->out), "error: reply "
				     "too long\n");
	} else if (!strcmp(line, "ping")) {
		n = snprintf(c->out, sizeof(c->out), "pong\n");
	} else {
		n = snprintf(c->out, sizeof(c->out), "error: unknown command "
			     "(stats, stats json, stats prometheus, ping)\n");
	}
	c->out_len = n;
	c->replying = 1;
}

static void conn_handle(struct ev *e, unsigned events)
{
	struct ctl_conn *c = (struct ctl_conn *)e;
	char *nl;
	ssize_t n;

	if (events & (EV_EXIT | EV_TIMEOUT | EPOLLERR)) {
		conn_close(c);
		return;
	}
	if (events & EV_STOP)
		return;		/* a reply in progress may finish */
	if (!c->replying) {
		n = recv(c->ev.fd, c->in + c->in_len,
			 sizeof(c->in) - 1 - c->in_len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->in_len += n;
		c->in[c->in_len] = 0;
		nl = strchr(c->in, '\n');
		if (!nl && c->in_len < sizeof(c->in) - 1)
			return;
		answer(c, c->in);
	}
	while (c->out_off < c->out_len) {
		n = send(c->ev.fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			loop_modify(&c->ev, EPOLLOUT);
			return;
		}
		if (n <= 0)
			break;
		c->out_off += n;
	}
	conn_close(c);
}

/* Only root and ktlsd's own user may ask. */
static void take(struct ktlsd *d, int fd, const struct ucred *cred)
{
	struct ctl_conn *c;

	if (cred->uid != 0 && cred->uid != geteuid()) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->ev.fd = fd;
	c->ev.handle = conn_handle;
	c->ev.deadline = now_ms() + CTL_TIMEOUT_MS;
	c->d = d;
	loop_add(d, NULL, &c->ev, EPOLLIN);
}

int control_listen(struct listeners *ls, const struct conf *cf,
		   int activated_fd)
{
	int fd;

	(void)activated_fd;	/* activation passes the handoff socket alone */
	if (!cf->control_path)
		return -EINVAL;
	if (unixsock_answers(cf->control_path)) {
		log_warn("%s: another ktlsd answers there; no control socket "
			 "(ktlsctl stats) for this one", cf->control_path);
		return -EADDRINUSE;
	}
	fd = unixsock_listen(cf->control_path, cf->control_mode, (gid_t)-1, 16);
	if (fd == -ENAMETOOLONG)
		return -EINVAL;
	if (fd < 0) {
		log_warn("control socket %s: %s; ktlsctl stats will not work",
			 cf->control_path, strerror(-fd));
		return fd;
	}
	ls->control_path = strdup(cf->control_path);
	if (!ls->control_path) {
		close(fd);
		unlink(cf->control_path);
		return -ENOMEM;
	}
	ls->control = fd;
	return 0;
}

int control_open(struct ktlsd *d, const struct conf *cf,
		 const struct listeners *ls)
{
	(void)cf;
	if (ls->control < 0)
		return 0;
	/* The supervisor keeps its copy, bound at the path, open. */
	return unixsock_serve(d, ls->control, NULL, "control", take);
}
