/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's "handshake" generic netlink family (Linux 6.5+), for hosts
 * whose kernel headers predate it (Debian 12 ships 6.1's). Values copied
 * from include/uapi/linux/handshake.h of Debian trixie's linux-libc-dev
 * 6.12.117-1 (generated from Documentation/netlink/specs/handshake.yaml);
 * HANDSHAKE_A_ACCEPT_KEYRING from sid's 7.2.13-1, where it was appended.
 * The TLS_NO_* values are include/net/handshake.h's (kernel-internal).
 */
#ifndef KTLSD_HANDSHAKE_NL_H
#define KTLSD_HANDSHAKE_NL_H

#define HANDSHAKE_FAMILY_NAME		"handshake"
#define HANDSHAKE_FAMILY_VERSION	1
#define HANDSHAKE_MCGRP_TLSHD		"tlshd"

enum {	/* enum handshake_handler_class */
	HANDSHAKE_HANDLER_CLASS_NONE,
	HANDSHAKE_HANDLER_CLASS_TLSHD,
};

enum {	/* enum handshake_msg_type */
	HANDSHAKE_MSG_TYPE_UNSPEC,
	HANDSHAKE_MSG_TYPE_CLIENTHELLO,
	HANDSHAKE_MSG_TYPE_SERVERHELLO,
};

enum {	/* enum handshake_auth */
	HANDSHAKE_AUTH_UNSPEC,
	HANDSHAKE_AUTH_UNAUTH,
	HANDSHAKE_AUTH_PSK,
	HANDSHAKE_AUTH_X509,
};

enum {
	HANDSHAKE_A_X509_CERT = 1,
	HANDSHAKE_A_X509_PRIVKEY,
	HANDSHAKE_A_X509_MAX = HANDSHAKE_A_X509_PRIVKEY
};

enum {
	HANDSHAKE_A_ACCEPT_SOCKFD = 1,
	HANDSHAKE_A_ACCEPT_HANDLER_CLASS,
	HANDSHAKE_A_ACCEPT_MESSAGE_TYPE,
	HANDSHAKE_A_ACCEPT_TIMEOUT,
	HANDSHAKE_A_ACCEPT_AUTH_MODE,
	HANDSHAKE_A_ACCEPT_PEER_IDENTITY,
	HANDSHAKE_A_ACCEPT_CERTIFICATE,
	HANDSHAKE_A_ACCEPT_PEERNAME,
	HANDSHAKE_A_ACCEPT_KEYRING,	/* sent by newer kernels only */
	HANDSHAKE_A_ACCEPT_MAX = HANDSHAKE_A_ACCEPT_KEYRING
};

enum {
	HANDSHAKE_A_DONE_STATUS = 1,
	HANDSHAKE_A_DONE_SOCKFD,
	HANDSHAKE_A_DONE_REMOTE_AUTH,
	HANDSHAKE_A_DONE_MAX = HANDSHAKE_A_DONE_REMOTE_AUTH
};

enum {
	HANDSHAKE_CMD_READY = 1,
	HANDSHAKE_CMD_ACCEPT,
	HANDSHAKE_CMD_DONE,
};

#define TLS_NO_KEYRING	0
#define TLS_NO_PEERID	0
#define TLS_NO_CERT	0
#define TLS_NO_PRIVKEY	0

#endif
