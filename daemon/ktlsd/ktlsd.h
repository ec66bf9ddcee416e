/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ktlsd: what the daemon's files share. */
#ifndef KTLSD_H
#define KTLSD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <syslog.h>

#include "ktls.h"

#define KTLSD_CONFIG "/etc/ktlsd/ktlsd.conf"

/* ---- The configuration: config.c reads it, profile.c builds profiles ---- */

#define OVERRIDE_SNI	(1u << 0)	/* requests may set the server name */
#define OVERRIDE_ALPN	(1u << 1)	/* ... and the ALPN list */

/* An address a server profile listens on (accept mode, accept.c). */
struct listen_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[64];			/* as written: "[::1]:8443" */
	int line;
};

struct profile {
	char *name;
	enum ktls_role role;
	struct ktls_config *cfg;	/* credentials and policy, read-only */
	/*
	 * prefer_nic_offload = yes: the same, but TLS 1.2 with AES-GCM only,
	 * for sockets whose device offloads TLS (nic.h); else NULL.
	 */
	struct ktls_config *nic_cfg;
	char *server_name;		/* client: default SNI, or NULL */
	unsigned timeout_ms;
	unsigned overrides;		/* OVERRIDE_* */
	unsigned verify;		/* client: KTLS_VERIFY_NONE, _CHAIN_ONLY
					   (loosened), or 0 */
	uid_t *uids;			/* who may use it, besides root */
	size_t n_uids;
	gid_t *gids;
	size_t n_gids;
	char *ca, *crl;			/* the files cfg trusts; NULL: system */
	struct listen_addr *listen;	/* accept mode: listen = ... */
	size_t n_listen;
	unsigned subscriber_queue;	/* ready sockets kept per subscriber;
					   0: ACCEPT_QUEUE_DEFAULT */
	int resumption;			/* client: resumption = yes */
	unsigned resumption_cache;	/* its entries; 0: the default */
#define RESUME_CACHE_DEFAULT	64
#define RESUME_CACHE_MAX	65536
};

struct upcall_conf;
struct keyproc;

struct conf {
	atomic_int refs;
	char *path;
	char *socket_path;
	mode_t socket_mode;
	gid_t socket_gid;		/* (gid_t)-1: leave the group alone */
	unsigned workers;		/* 0: one per CPU */
	unsigned max_inflight;		/* handshakes at once, all workers */
	/* Handoff connections: for any uid but root's and ktlsd's own. */
	unsigned idle_timeout_ms;	/* nothing in flight: closed; 0: never */
	unsigned max_conns_per_uid;	/* connections open at once */
	unsigned max_inflight_per_uid;	/* handshakes at once */
	int log_syslog;
	int log_level;			/* LOG_ERR .. LOG_DEBUG */
	struct profile *profiles;
	size_t n_profiles;
	char *control_path;		/* control socket (control.c) */
	mode_t control_mode;
	char *metrics_path;		/* metrics_file (metrics.c), or NULL */
	unsigned metrics_interval_s;
	struct upcall_conf *upcall;	/* [upcall] (upcall.h) */
	char *user;			/* the handshake process's user */
	int tlshd_only;			/* made from tlshd's file alone */
	/* The key process of this configuration (keyproc.h), or NULL. */
	struct keyproc *keys;
};

/* ---- config.c: the INI file ---- */

/*
 * Parse path and load every profile's credentials, the private keys into
 * the configuration's own key process (conf->keys, spawned here; see
 * keyproc.h), which is then sealed. On success *out holds one reference.
 * On failure returns a negative errno and writes a line naming the file,
 * line and problem into err.
 */
int conf_load(const char *path, struct conf **out, char *err, size_t errlen);
/*
 * A configuration made from tlshd's file alone (ktlsd -T, or no ktlsd.conf
 * but a tlshd one): no profiles, no handoff socket, the upcall enabled.
 */
int conf_load_tlshd(const char *path, struct conf **out, char *err,
		    size_t errlen);
struct conf *conf_get(struct conf *c);	/* another reference */
void conf_put(struct conf *c);		/* the last one frees */
const struct profile *conf_profile(const struct conf *c, const char *name,
				   size_t len);

/* ---- profile.c: [profile NAME], and the one profile builder ---- */

/*
 * Log a warning for each client profile whose server verification the
 * operator loosened (verify = no or chain): at start, -t and reload.
 */
void conf_log_loosened(const struct conf *c);
/*
 * Whether a process with these credentials may use p (root always may):
 * its uid, primary gid and supplementary groups, as SO_PEERCRED and
 * SO_PEERGROUPS give them.
 */
int profile_allows(const struct profile *p, uid_t uid, gid_t gid,
		   const gid_t *gids, size_t n_gids);
/* What a profile holds (NULL: nothing); not the profile itself. */
void profile_free(struct profile *pr);

/* ---- log.c ---- */

void log_open(int to_stderr, int level);
void log_set_level(int level);
/* Whether lines go to stderr (else syslog): the key process does alike. */
int log_to_stderr(void);
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)
/* Log and abort: an invariant broke (systemd restarts us). */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* ---- unixsock.c: the Unix sockets ktlsd listens on ---- */

/* Whether a process accepts connections at path (a live ktlsd, say). */
int unixsock_answers(const char *path);
/*
 * Listen on a Unix stream socket (non-blocking, close-on-exec) at path,
 * with mode and, unless gid is (gid_t)-1, group gid; a missing directory
 * is made, a file at path replaced (ask unixsock_answers() first). The
 * descriptor, or -errno: -ENAMETOOLONG when path does not fit a socket
 * address, else what bind(), chmod(), chown() or listen() said.
 */
int unixsock_listen(const char *path, mode_t mode, gid_t gid, int backlog);

struct ktlsd;
struct ucred;
/* One accepted connection, with its peer's credentials; fd is take's. */
typedef void unixsock_take_fn(struct ktlsd *d, int fd,
			      const struct ucred *cred);
/*
 * Serve the listening socket fd (non-blocking) on the daemon's workers:
 * every connection accepted goes to take(). what names the socket in log
 * lines ("handoff": "accept on the handoff socket: ..."). Out of
 * descriptors, the listener stops polling and looks again every 250 ms
 * (logged once). When the daemon drains, it closes fd and unlinks path
 * (unless NULL). 0, or -ENOMEM (fd stays the caller's).
 */
int unixsock_serve(struct ktlsd *d, int fd, const char *path,
		   const char *what, unixsock_take_fn *take);

/* ---- notify.c: the service manager's notification datagrams ---- */

/* Send "READY=1" etc. to $NOTIFY_SOCKET if set; errors are ignored. */
void notify(const char *state);
/*
 * How many sockets socket activation passed ($LISTEN_FDS for our pid),
 * or 0; the first max of their names ($LISTEN_FDNAMES, systemd's
 * FileDescriptorName=) into names[] (if not NULL): malloc'd, NULL where
 * none, left alone when 0 is returned.
 */
int notify_listen_fds_named(char **names, int max);

/*
 * ---- The sockets the supervisor opens before it starts a handshake
 * process, which inherits them; they stay open in the supervisor across
 * restarts and reloads, so that no program is refused meanwhile.
 */
struct nl_sock;
struct listeners {
	int handoff, control;		/* listening Unix sockets, or -1 */
	char *handoff_path;		/* bound by us: unlinked at exit */
	char *control_path;
	struct nl_sock *upcall_mc;	/* the handshake family's tlshd group */
	int upcall_family, upcall_group;
	struct tcp_listener *tcp;	/* accept mode: listen = ... */
	size_t n_tcp;
};

/* A listening TCP socket of a server profile (accept.c). */
struct tcp_listener {
	char *profile;
	char text[64];			/* the address, as configured */
	int fd;
};

/* ---- handoff.c: front door 1, sockets handed over by applications ---- */

/*
 * In the supervisor: listen for handoffs on activated_fd if >= 0 (socket
 * activation), else on the configured path, created with its mode and
 * group; nothing when there are no profiles and no activated socket.
 * 0 or -errno.
 */
int handoff_listen(struct listeners *ls, const struct conf *c,
		   int activated_fd);
/* In a handshake process: serve ls->handoff (if any). 0 or -errno. */
int handoff_open(struct ktlsd *d, const struct conf *c,
		 const struct listeners *ls);

/* ---- accept.c: front door 3, accept mode (listen = ADDR:PORT) ---- */

#define ACCEPT_QUEUE_DEFAULT	64	/* subscriber_queue */
#define ACCEPT_QUEUE_MAX	4096
#define ACCEPT_BACKLOG		128	/* listen(): waiting for a subscriber */

/*
 * In the supervisor: bind and listen on every server profile's listen
 * addresses into ls->tcp. 0, or -errno with the address logged
 * (FILE:LINE). accept_close() closes them.
 */
int accept_listen(struct listeners *ls, const struct conf *c,
		  int activated_fd);
void accept_close(struct listeners *ls);
/*
 * In the supervisor, before front_listen(): sort the n sockets passed by
 * socket activation (fds[i], named names[i] or NULL) by kind first, then
 * by name. The first listening Unix stream socket is the handoff socket,
 * whatever its name (systemd's default is the unit's, "ktlsd.socket",
 * which a profile may share): returned, or -1 when none came. A listening
 * TCP socket named after a server profile is that profile's, into
 * ls->tcp (then its listen lines are not bound). Every other socket is
 * closed, with a log line that says why.
 */
int accept_activated(struct listeners *ls, const struct conf *c,
		     const int *fds, char *const *names, int n);
/* A reload: whether c listens elsewhere than old (that needs a restart). */
int accept_listen_differs(const struct conf *old, const struct conf *c);
/* In a handshake process: serve ls->tcp for c's profiles. 0 or -errno. */
int accept_open(struct ktlsd *d, const struct conf *c,
		const struct listeners *ls);
struct conn;
/*
 * The handoff connection c (its owner's worker) takes p's accepted
 * sockets from now on, in replies to request id: 0, -EADDRNOTAVAIL (p
 * does not listen here) or -ENOMEM. Holds a reference to c until
 * accept_unsubscribe(), which ends all of c's subscriptions.
 */
int accept_subscribe(struct ktlsd *d, struct conn *c, const struct profile *p,
		     uint64_t id);
void accept_unsubscribe(struct ktlsd *d, struct conn *c);
/* Whether accepted handshakes are still running (a drain waits). */
int accept_busy(struct ktlsd *d);

/* ---- handoff_req.c: what a handoff request may ask ---- */

struct job;
struct wire_req;
/* What is wrong with a handed-over fd, as status and *msg; 0 if ok. */
int handoff_req_check_fd(int fd, const char **msg);
/*
 * The request's server name, ALPN and timeout into j, for j's profile:
 * 0, or -EPERM with *msg when the profile does not allow them.
 */
int handoff_req_apply(struct job *j, const struct wire_req *rq,
		      const char **msg);

/* ---- uidlimit.c: connections and handshakes per uid (handoff) ---- */

enum { UIDLIMIT_CONN, UIDLIMIT_JOB };
void uidlimit_init(struct ktlsd *d);
/*
 * Count one more connection or handshake (what: UIDLIMIT_*) of uid,
 * unless it has max already: 0, -EBUSY (*have says how many it has) or
 * -ENOMEM. Root and ktlsd's own user are not counted.
 */
int uidlimit_take(struct ktlsd *d, uid_t uid, int what, unsigned max,
		  unsigned *have);
/* The end of what uidlimit_take() counted; uid's entry goes with its last. */
void uidlimit_give(struct ktlsd *d, uid_t uid, int what);

/* ---- control.c: the control socket (ktlsctl stats) ---- */

#define KTLSD_CONTROL_SOCKET "/run/ktlsd/control.sock"
int control_listen(struct listeners *ls, const struct conf *c,
		   int activated_fd);
int control_open(struct ktlsd *d, const struct conf *c,
		 const struct listeners *ls);

/* ---- metrics.c: metrics_file, Prometheus text for node_exporter ---- */

/*
 * Whether ktlsd can keep path up to date: absolute, in a directory that
 * exists and where it can create files (tried: access() says yes to root
 * on a read-only file system). 0, or -errno with a sentence in err.
 */
int metrics_check_path(const char *path, char *err, size_t errlen);
/*
 * Replace path with len bytes of text, mode 0644, atomically (a temporary
 * file in the same directory, renamed). 0 or -errno; nothing is left
 * behind on failure.
 */
int metrics_write(const char *path, const char *text, size_t len);
struct metrics;
struct stats;
/*
 * The supervisor's timer: write c's metrics_file from the shared counters
 * st when it is due (or now, if final); *m is its state (NULL at first).
 * Returns when to call again (CLOCK_MONOTONIC ms).
 */
int64_t metrics_run(struct metrics **m, const struct conf *c,
		    const struct stats *st, int64_t start_ms, int final);
void metrics_free(struct metrics *m);

/* ---- keyring.c: the kernel keyrings (keyutils) ---- */

/* Create our process keyring before threads start: they share it then. */
void keyring_init(void);
/*
 * A session keyring of our own, joined before a key process is spawned:
 * they share it (keyring_share()), and nobody else does.
 */
void keyring_join_session(void);
/*
 * Let the key process possess key serial (which we possess): linked into
 * the session keyring we share with it; keyring_unshare() undoes it.
 */
int keyring_share(int32_t serial);
void keyring_unshare(int32_t serial);
/* A key's payload (malloc'd; the caller wipes and frees). 0 or -errno. */
int keyring_read(int32_t serial, uint8_t **data, size_t *len);
/* A key's description (for a PSK: its identity). 0 or -errno. */
int keyring_describe(int32_t serial, char *buf, size_t len);
/*
 * Is the key serial of one of the types listed (NULL-terminated)? 0,
 * -EKEYREJECTED with the key's type in type (len bytes), or -errno (no
 * such key: -ENOKEY).
 */
int keyring_check_type(int32_t serial, const char *const *types, char *type,
		       size_t len);
/* A keyring by serial number or name (as /proc/keys lists it); 0 if none. */
int32_t keyring_lookup(const char *name);
/* Link a keyring into our process keyring, so that we possess its keys. */
int keyring_possess(int32_t keyring);
/*
 * The same into the session keyring, which the supervisor, the key
 * process and every handshake process share: linked by root in the
 * supervisor, it is possessed by a handshake process that runs as another
 * user, and so may be linked again (the kernel's ACCEPT links a request's
 * keyring, .nvme say, into the caller's process keyring, which needs that).
 */
int keyring_possess_shared(int32_t keyring);
/*
 * A "psk" key of this description among those we possess: what the kernel
 * linked for us and what we linked before; 0 if none. Cheap: one search.
 */
int32_t keyring_find_possessed_psk(const char *identity);
/*
 * The same in these keyrings (each linked into ours first, so that we
 * possess it next time), then in the session keyring; 0 if none.
 */
int32_t keyring_find_psk(const int32_t *keyrings, size_t n,
			 const char *identity);
/*
 * The peer's certificate as an "asymmetric" key in our user keyring,
 * described "TLS x509 PEERNAME" and readable by its owner only, as tlshd
 * does for the kernel; its serial, or 0.
 */
int32_t keyring_add_peer_cert(const void *der, size_t len,
			      const char *peername);

/* ---- hsproc.c: the handshake process ---- */

/*
 * In the supervisor: open every front door's listening sockets into ls
 * (activated_fd: the socket passed by socket activation, or -1; ls->tcp
 * may hold accept_activated()'s already, else zero it). 0, or -errno
 * with nothing left open.
 */
int front_listen(struct listeners *ls, const struct conf *c, int activated_fd);
/* Close them, and unlink the socket files we bound. */
void front_close(struct listeners *ls);

struct hsproc_args {
	struct conf *conf;		/* what it serves with */
	const struct listeners *ls;
	struct stats *stats;		/* shared with the supervisor */
	int slot;			/* its stats->inflight[] slot */
	const struct hs_user *user;
	pid_t supervisor;
	int ready_fd;			/* to the supervisor: "R" once it serves,
					   "D" once it drains; from it "U" or "T"
					   (hsproc.c) */
	int offload_fd;			/* offload.c's questions */
	int verbose;
};
struct hs_user;
/* The forked child's life: serve, then drain on SIGTERM, and exit. */
void hsproc_main(const struct hsproc_args *a) __attribute__((noreturn));

/* ---- supervise.c: the supervisor ---- */

/*
 * Run the handshake processes for c (one reference, taken) on ls until
 * SIGTERM or SIGINT (sfd: a signalfd for them and SIGHUP, SIGCHLD):
 * restart one that dies, and start a new one on SIGHUP with the
 * configuration reloaded. The exit status.
 */
int supervise(struct conf *c, struct listeners *ls, int sfd, int verbose);

/* ---- privdrop.c: the handshake process's user and capabilities ---- */

struct hs_user {
	int drop;			/* 0: we are not root, nothing to drop */
	uid_t uid;
	gid_t gid;
	char name[64];
};
/*
 * Who the handshake process runs as: c->user (default "ktlsd"), looked
 * up while the supervisor runs as root. Not root: stay who we are. 0, or
 * -ENOENT with the reason logged.
 */
int privdrop_lookup(const struct conf *c, struct hs_user *u);
/*
 * In the new handshake process: become u, with no capability but
 * CAP_NET_ADMIN when net_admin (the upcall), no new privileges, not
 * dumpable, and SIGTERM when the supervisor (ppid) goes. 0 or -errno.
 */
int privdrop_apply(const struct hs_user *u, int net_admin, pid_t ppid);

#endif
