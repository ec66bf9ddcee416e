// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What DONE tells the kernel about one handshake request: the status (a
 * positive errno, in the terms tlshd uses, which NFS and NVMe act on) and
 * who the peer proved to be; and, before that, whether a client with
 * another PSK to offer tries again first.
 */
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "handshake_nl.h"
#include "upcall.h"

int upcall_precheck(struct upreq *r, const char **msg)
{
	int ret;

	if (r->type != HANDSHAKE_MSG_TYPE_CLIENTHELLO &&
	    r->type != HANDSHAKE_MSG_TYPE_SERVERHELLO) {
		*msg = "unknown handshake type";
		return EINVAL;
	}
	ret = sockinfo_tcp_established(r->sockfd, msg);
	if (ret == -ENOTCONN)
		return ENOTCONN;
	if (ret) {
		*msg = "not a TCP socket (QUIC is not supported)";
		return EOPNOTSUPP;
	}
	/* As tlshd: a keyring we cannot link leaves the others to search. */
	if (r->keyring) {
		ret = keyring_possess(r->keyring);
		if (ret)
			log_info("upcall: the keyring %d that the kernel named "
				 "cannot be linked (%s); PSKs are looked for in "
				 "the others", r->keyring, strerror(-ret));
	}
	return 0;
}

void upcall_job_setup(struct upreq *r)
{
	struct job *j = &r->j;

	j->front = FRONT_UPCALL;
	j->timeout_ms = r->timeout_ms ? r->timeout_ms : j->p->timeout_ms;
	if (!r->timeout_ms)
		log_info("upcall: the kernel gave no handshake timeout; "
			 "profile %s's %u ms apply", j->p->name, j->timeout_ms);
	if (r->type == HANDSHAKE_MSG_TYPE_CLIENTHELLO)
		upcall_verify_name(r->peername, j->p, r->sockfd,
				   j->server_name, sizeof(j->server_name));
}

int upcall_status(struct upreq *r, int status, const struct ktls_session *s)
{
	int sent = 0;

	if (!status)
		return 0;
	switch (atomic_load(&r->psk_unknown)) {
	case UPCALL_PSK_UNKNOWN:
		return EKEYREJECTED;
	case UPCALL_PSK_UNUSABLE:
		return EOPNOTSUPP;
	}
	/* The server told the client it knows no PSK of that identity. */
	if (s && ktls_session_alert(s, &sent) == KTLS_ALERT_UNKNOWN_PSK_IDENTITY &&
	    !sent)
		return EKEYREJECTED;
	switch (status) {
	case -ETIMEDOUT:
		return ETIMEDOUT;
	case -KTLS_E_VERIFY:
	case -KTLS_E_ALERT:
	case -KTLS_E_HANDSHAKE:
		return EACCES;
	}
	return EIO;
}

int upcall_retry(struct job *j, int status, const struct ktls_session *s)
{
	struct upreq *r = (struct upreq *)j;
	int st = upcall_status(r, status, s);
	int32_t tried = r->psk_used;

	/* As tlshd: on a refusal, not on a timeout or a local failure. */
	if ((st != EACCES && st != EKEYREJECTED) || !upcall_psk_next(r))
		return 0;
	log_info("upcall: %s refused PSK %d (%s); offering PSK %d next",
		 j->peer, tried, ktls_session_error(s), r->psk_used);
	return 1;
}

unsigned upcall_remote_ids(struct upreq *r, const struct ktls_session *s,
			   int32_t *ids)
{
	const gnutls_datum_t *certs;
	unsigned n = 0, nc, i;
	int32_t id;

	if (r->auth == HANDSHAKE_AUTH_PSK) {
		if (r->psk_used)
			ids[n++] = r->psk_used;
		return n;
	}
	certs = session_peer_certs(s, &nc);
	for (i = 0; i < nc && n < UPCALL_MAX_IDS; i++) {
		if (r->type == HANDSHAKE_MSG_TYPE_SERVERHELLO) {
			/* A client certificate that verified: no key, a mark. */
			ids[n++] = -1;
		} else if (r->auth == HANDSHAKE_AUTH_X509) {
			id = keyring_add_peer_cert(certs[i].data, certs[i].size,
						   r->peername[0] ? r->peername :
						   r->j.server_name);
			if (id)
				ids[n++] = id;
		}
	}
	return n;
}
