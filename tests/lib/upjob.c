// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel handshake requests run as ktlsd runs them, against a peer here. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "session.h"
#include "testutil.h"
#include "upjob.h"

/* A peer that answers each ClientHello with a fatal alert, raw. */
static void *alert_main(struct upjob_peer *pe)
{
	uint8_t hdr[5], body[1 << 14];
	uint8_t alert[7] = { 21, 3, 3, 0, 2, 2, (uint8_t)pe->raw_alert };
	size_t len;

	for (pe->n = 0; pe->n < UPJOB_TRIES; pe->n++) {
		atomic_store(&pe->idle, 1);	/* waits for a ClientHello */
		if (read_full(pe->fd, hdr, 5) != 5 || hdr[0] != 22)
			break;
		atomic_store(&pe->idle, 0);
		len = hdr[3] << 8 | hdr[4];
		if (len > sizeof(body) ||
		    read_full(pe->fd, body, len) != (ssize_t)len ||
		    write_full(pe->fd, alert, sizeof(alert)) != sizeof(alert))
			break;
		pe->rets[pe->n] = -KTLS_E_ALERT;
		pe->alerts[pe->n] = pe->raw_alert;
	}
	return NULL;
}

static void *peer_main(void *arg)
{
	struct upjob_peer *pe = arg;
	struct ktls_session *s;
	int alert, sent, ret;
	char b;

	if (pe->raw_alert) {
		alert_main(pe);
		atomic_store(&pe->idle, 1);
		return NULL;
	}
	for (pe->n = 0; pe->n < UPJOB_TRIES; pe->n++) {
		/* A server waits for a ClientHello, or the end. */
		if (pe->cfg->role == KTLS_SERVER) {
			atomic_store(&pe->idle, 1);
			if (recv(pe->fd, &b, 1, MSG_PEEK) != 1)
				break;
			atomic_store(&pe->idle, 0);
		}
		if (ktls_session_new(&s, pe->cfg, pe->fd))
			break;
		ret = ktls_session_handshake(s);
		pe->rets[pe->n] = ret;
		alert = ktls_session_alert(s, &sent);
		pe->alerts[pe->n] = alert >= 0 && sent ? alert : -1;
		if (!ret || ret == -KTLS_E_NO_KTLS) {
			snprintf(pe->suite, sizeof(pe->suite), "%s",
				 gnutls_cipher_get_name(gnutls_cipher_get(s->gs)));
			pe->prf = gnutls_prf_hash_get(s->gs);
		}
		ktls_session_free(s);
		/* A client peer tries once: it is the retries' server. */
		if (pe->suite[0] || pe->cfg->role == KTLS_CLIENT) {
			pe->n++;
			break;
		}
	}
	atomic_store(&pe->idle, 1);
	return NULL;
}

struct job_wait {
	int pipe[2];
	struct upjob_outcome *out;
};

static void upjob_done(struct job *j, int status, const char *msg,
		       const struct ktls_session *s)
{
	struct upreq *r = (struct upreq *)j;
	struct job_wait *w = j->owner;

	(void)msg;
	w->out->status = upcall_status(r, status, s);
	w->out->psk_used = r->psk_used;
	w->out->psk_next = r->psk_next;
	w->out->timeout_ms = j->timeout_ms;
	if (write(w->pipe[1], "x", 1) != 1)
		abort();
}

static int upjob_gone(struct job *j)
{
	(void)j;
	return 0;
}

/* upcall.c's job_ops, but for DONE, which needs the kernel. */
static const struct job_ops upjob_ops = {
	.done = upjob_done,
	.gone = upjob_gone,
	.retry = upcall_retry,
};

/*
 * After the job: once the peer is done or waits for another ClientHello
 * (not while it installs kTLS, which needs the connection established),
 * it sees the end.
 */
static int finish(struct job_wait *w, struct upjob_peer *pe, int cfd,
		  pthread_t th, int ret)
{
	struct pollfd pfd = { .fd = w->pipe[0], .events = POLLIN };
	int i;
	char b;

	if (!ret)
		ret = poll(&pfd, 1, 20000) == 1 && read(w->pipe[0], &b, 1) == 1 ?
		      0 : -ETIMEDOUT;
	for (i = 0; i < 1000 && !atomic_load(&pe->idle); i++)
		usleep(10000);
	shutdown(cfd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(w->pipe[0]);
	close(w->pipe[1]);
	return ret;
}

void upjob_daemon(struct ktlsd *d, struct conf *c)
{
	static struct stats st;

	d->conf = c;
	pthread_mutex_init(&d->conf_lock, NULL);
	pthread_mutex_init(&d->nic_lock, NULL);
	d->stats = &st;
	d->inflight = &st.inflight[0];
}

int upjob_run(struct ktlsd *d, struct upreq *r, int cfd,
	      struct upjob_peer *peer, struct upjob_outcome *out)
{
	struct job_wait w = { .out = out };
	const char *msg = "";
	pthread_t th;
	int ret;

	r->sockfd = cfd;
	ret = upcall_precheck(r, &msg);
	if (!ret)
		ret = upcall_creds(ktlsd_conf(d), r, &msg);
	if (ret) {
		out->status = ret;
		free(r);
		return ret;
	}
	upcall_job_setup(r);
	r->j.ops = &upjob_ops;
	r->j.owner = &w;
	r->j.ev.fd = fcntl(cfd, F_DUPFD_CLOEXEC, 3);
	if (pipe2(w.pipe, O_CLOEXEC) || pthread_create(&th, NULL, peer_main, peer))
		abort();
	ret = job_submit(d, &r->j);
	return finish(&w, peer, cfd, th, ret);
}
