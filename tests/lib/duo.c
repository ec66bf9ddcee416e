// SPDX-License-Identifier: GPL-2.0-or-later
/* Two libktls ends in one process, the client in a thread of its own. */
#include "duo.h"

int handshake_or_close(struct ktls_session *s, int fd)
{
	int ret = ktls_session_handshake(s);

	if (ret)
		shutdown(fd, SHUT_WR);
	return ret;
}

void *duo_client_main(void *arg)
{
	struct duo_client *c = arg;

	c->ret = handshake_or_close(c->s, c->fd);
	return NULL;
}

int duo_handshake(struct ktls_session *cs, int cfd, int *cret,
		  struct ktls_session *ss, int sfd, int *sret)
{
	struct duo_client c = { .s = cs, .fd = cfd };
	pthread_t th;
	int err;

	err = pthread_create(&th, NULL, duo_client_main, &c);
	if (err)
		return err;
	*sret = handshake_or_close(ss, sfd);
	err = pthread_join(th, NULL);
	*cret = c.ret;
	return err;
}
