// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A session that ktlsd made: built from its handoff reply, already in the
 * installed state, with the TLS 1.3 secrets for key updates and the
 * details ktls_session_info() reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "session.h"
#include "wire.h"

static void copy_str(char *dst, size_t size, struct wire_str src)
{
	size_t n = src.len < size - 1 ? src.len : size - 1;

	if (n)		/* an absent field has p NULL: no memcpy from it */
		memcpy(dst, src.p, n);
	dst[n] = 0;
}

int session_adopt(struct ktls_session **out, int fd, const struct wire_reply *r)
{
	struct ktls_session *s;

	if ((r->version != KTLS_TLS12 && r->version != KTLS_TLS13) ||
	    !ktls_cipher_name(r->cipher) || r->secret_len > KTLS_SECRET_MAX ||
	    r->offload_tx > KTLS_OFFLOAD_UNKNOWN ||
	    r->offload_rx > KTLS_OFFLOAD_UNKNOWN)
		return -EPROTO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->diag_nl = -1;	/* none of ktlsd's: 0 would be a descriptor */
	s->role = r->role ? KTLS_SERVER : KTLS_CLIENT;
	s->kernel_rekey = r->rekey;
	s->state = S_DONE;
	if (r->early_len) {
		s->early = malloc(r->early_len);
		if (!s->early)
			goto nomem;
		memcpy(s->early, r->early, r->early_len);
		s->early_len = r->early_len;
	}
	if (r->secret_len) {
		memcpy(s->secret_tx, r->secret_tx, r->secret_len);
		memcpy(s->secret_rx, r->secret_rx, r->secret_len);
		s->secret_len = r->secret_len;
	}
	copy_str(s->group, sizeof(s->group), r->group);
	copy_str(s->sigalg, sizeof(s->sigalg), r->sigalg);
	copy_str(s->alpn, sizeof(s->alpn), r->alpn);
	copy_str(s->sni, sizeof(s->sni), r->sni);
	if (r->peer_subject.len) {
		s->peer_subject = strndup(r->peer_subject.p, r->peer_subject.len);
		if (!s->peer_subject)
			goto nomem;
	}
	if (r->peer_sha256)
		session_set_peer_sha256(s, r->peer_sha256);
	session_set_info(s, r->version, r->cipher);
	s->info.resumed = r->resumed;
	s->info.tx = r->offload_tx;
	s->info.rx = r->offload_rx;
	s->info.options = r->options;
	*out = s;
	return 0;
nomem:
	ktls_session_free(s);
	return -ENOMEM;
}

void session_set_ticket_sink(struct ktls_session *s,
			     const struct sockaddr_un *to, uint64_t token)
{
	if (s->role != KTLS_CLIENT || s->info.version != KTLS_TLS13)
		return;
	s->ticket_to = *to;
	s->ticket_token = token;
}

/*
 * Its own connection, not the program's handoff connection: that one is
 * not ours to write from inside ktls_recv() (another thread may be using
 * it, or it may be closed), and ktlsd answers nothing here. Non-blocking:
 * the data path never waits for ktlsd. One ticket per handoff is enough.
 */
void session_ticket_back(struct ktls_session *s, const uint8_t *msg,
			 size_t len)
{
	struct wire_ticket t = { s->ticket_token, msg, len };
	struct wire_buf b = { 0 };
	int sock;

	s->ticket_token = 0;
	if (!t.token || wire_encode_ticket(&b, &t))
		goto out;
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		goto out;
	if (!connect(sock, (struct sockaddr *)&s->ticket_to,
		     sizeof(s->ticket_to)))
		(void)!send(sock, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(sock);
out:
	wire_buf_wipe_free(&b);
}
