/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bench's shared declarations, one section per file. main.c says what
 * each measure does and how tests/bench/run calls it.
 */
#ifndef KTLS_BENCH_H
#define KTLS_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <ktls.h>

#include "hsproc.h"
#include "peers.h"

#define BENCH_CHUNK	(64u << 10)	/* receive buffer; GnuTLS read() size */
/* Handshake and HTTPS measures: both ends held to one group and cipher. */
#define HS_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:" \
			"-CIPHER-ALL:+AES-128-GCM"
/*
 * --cert psk: TLS 1.3 with an external PSK and no certificate, the cheap
 * handshake with which P6 runs ktlsd's own per-handshake path many times:
 * psk_ke (the key from the PSK alone), or psk_dhe_ke with X25519 (psk-dhe).
 * No groups for psk_ke: a GnuTLS client would still make key shares for
 * its top two (natively 190 us a handshake with them, 110 without).
 */
#define PSK_IDENTITY	"bench"
#define PSK_KEY_HEX	"8b0c6f1e2d3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9001122334"
#define PSK_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:" \
			"-KX-ALL:+PSK:-GROUP-ALL"
#define PSK_DHE_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:" \
			"-KX-ALL:+ECDHE-PSK:-GROUP-ALL:+GROUP-X25519"
#define MAX_THREADS	16

enum { REC_ALERT = 21, REC_HANDSHAKE = 22, REC_DATA = 23 };

enum measure {
	M_KTLS_SENDFILE, M_GNUTLS_SEND, M_RAW_SENDFILE,
	M_KTLS_RECV, M_GNUTLS_RECV,
	M_HS_HANDOFF, M_HS_FLOOR, M_HTTP_GET, M_MEM_INFLIGHT, M_MEM_CHURN,
	M_HS_ACCEPT,
	M_HS_RESUMED, M_HS_FULL,
	M_COUNT
};

/* Command-line options of every measure; each uses some. */
struct opts {
	size_t len;		/* data path: bytes to transfer */
	const char *receiver;	/* data path: "tcp" or "ktls" */
	const char *cpus;	/* data path: "split" or "shared" */
	int no_pad;		/* ktls-recv: TLS_RX_EXPECT_NO_PAD */
	const char *dir;	/* work directory */
	const char *cert;	/* "ec" or "rsa" */
	unsigned workers;	/* ktlsd workers, floor threads, client threads */
	unsigned clients;	/* concurrent connections in all */
	double seconds;		/* counted */
	double warmup;		/* before counting */
	const char *server;	/* http-get: "ktls" or "nginx" */
	const char *file;	/* http-get: the file under WORK/www */
	int close;		/* http-get: Connection: close */
	int tcp;		/* hs-floor: loopback TCP pairs, not socketpairs */
	int keyproc;		/* hs-floor: the server's key in a key process */
	unsigned alternate;	/* hs-floor --keyproc: blocks of this many */
	int control;		/* --alternate: both halves in the key process */
	const char *counts;	/* mem-inflight */
	unsigned long first, max;	/* mem-churn */
	double budget;		/* mem-churn: seconds for the second sample */
};

/* ---- main.c ---- */

extern const char *const measure_names[M_COUNT];

/* ---- util.c ---- */

extern const char *side;	/* which part failed, for die() */

__attribute__((format(printf, 1, 2), noreturn))
void die(const char *fmt, ...);
double now(void);
void sleep_s(double s);
double cpu_seconds(void);
void *xcalloc(size_t n, size_t size);
void start_thread(pthread_t *tid, void *(*fn)(void *), void *arg);

/* Completed handshakes: when each ended, and how long it took (ms). */
struct rec {
	double end, ms;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

void rec_add(struct recs *r, double end, double ms);
void recs_merge(struct recs *to, const struct recs *from);

/*
 * The counting window: the main thread opens it once the run is warm
 * (t0) and it closes seconds later (t1, which also ends the run); both
 * stay at INFINITY until then.
 */
struct window {
	_Atomic double t0, t1;
};

void window_init(struct window *w);
int window_over(struct window *w);
unsigned long in_window_stats(const struct recs *r, struct window *w,
			      double *p50, double *p99);
double run_window(struct window *w, const struct opts *o,
		  atomic_ulong *finished, unsigned long ready, pid_t other);

void write_text(const char *path, const char *text);
__attribute__((format(printf, 3, 4)))
void fmt(char *buf, size_t size, const char *f, ...);
void pin_cpu(int cpu);
void need_nofile(rlim_t n);
long proc_fds(pid_t pid);
double proc_cpu(pid_t pid);

/* ---- spawn.c: programs we start ---- */

extern pid_t main_pid;		/* the process whose children these are */

void kill_children(void);
void tool_path(char *out, size_t size, const char *env, const char *rel);
pid_t spawn(char *const argv[], const char *log);
int child_gone(pid_t pid);
void stop(pid_t pid, int sig, double timeout);
void show_log(const char *log);

struct daemon {
	pid_t pid;		/* the supervisor */
	pid_t hs;		/* its handshake process, once it serves */
	char sock[108];
	char conf[PATH_MAX], log[PATH_MAX];
};

void daemon_start(struct daemon *d, const struct opts *o,
		  unsigned max_inflight, unsigned timeout_ms);
/* The same with more of the file (profiles) after ours; NULL: none. */
void daemon_start_more(struct daemon *d, const struct opts *o,
		       unsigned max_inflight, unsigned timeout_ms,
		       const char *more);
void daemon_stop(struct daemon *d);

pid_t nginx_start(const struct opts *o, int port);
pid_t fileserver_start(const struct opts *o, struct daemon *d, int port);
pid_t fileserver_accept_start(const struct opts *o, struct daemon *d,
			      int port);
pid_t nginx_preload_start(const struct opts *o, struct daemon *d, int port);

/* ---- client.c: TLS clients and loopback sockets ---- */

gnutls_certificate_credentials_t client_cred(const struct opts *o,
					     const char *cert);
gnutls_session_t client_session(gnutls_certificate_credentials_t cred, int fd);
void nodelay(int fd);
void set_nonblock(int fd);
void close_reset(int fd);
int connect_to(const struct sockaddr_in *addr, int lfd, int *accepted);
int listener(struct sockaddr_in *addr);
void ep_set(int ep, int op, int fd, unsigned events, uint64_t data);

/* ---- recordcheck.c: the TCP receiver's check of the records ---- */

#define REC_HDR		5
#define REC_OVERHEAD	17		/* TLS 1.3: inner content type, 16-byte tag */
#define REC_MAX_CT	(16384 + 256)	/* RFC 8446 5.2, TLSCiphertext.length */
#define CHECK_EVERY	64
#define KEY_LEN		16		/* AES-128-GCM */
#define NONCE_LEN	12

struct rx_check {
	gnutls_aead_cipher_hd_t aead;
	unsigned char iv[NONCE_LEN];
	uint64_t seq;			/* of the record being read */
	const unsigned char *want;	/* the file, mapped */
	size_t len, got;		/* plaintext expected; in records so far */
	unsigned char rec[REC_HDR + REC_MAX_CT];
	size_t rec_len, have;		/* the record's length, bytes of it in */
	int keep, data_seen;
	unsigned long records, checked;
};

void rx_check_init(struct rx_check *c, const unsigned char *key,
		   const unsigned char *iv, uint64_t seq, int file, size_t len);
void rx_check_free(struct rx_check *c);
void rx_feed(struct rx_check *c, const unsigned char *p, size_t n);

/* ---- datapath.c (P4, P5, P8) ---- */

void data_run(enum measure m, const struct opts *o);

/* ---- handshakes.c (P1; its client threads serve P6 too) ---- */

/*
 * Client threads, each with its own listener, handoff connection and
 * epoll set. A slot is one TCP pair: the bench connects, accepts, hands
 * the accepted end to ktlsd and drives the client end with GnuTLS; the
 * handshake counts when both the client is done and ktlsd's reply says 0.
 * Two ways to run: a time window (count what completes inside it), or up
 * to a shared limit of handshakes started (for samples between batches).
 */
struct hs_run {
	const char *sock, *profile;
	gnutls_certificate_credentials_t cred;	/* ec, rsa */
	gnutls_psk_client_credentials_t psk;	/* psk, psk-dhe */
	gnutls_priority_t psk_prio;
	struct window win;		/* windowed runs */
	int windowed;			/* else: run to the limit, then idle */
	atomic_ulong limit, started, finished;
	atomic_int stop;
	/* Accept mode: the clients dial ktlsd's listener at accept_addr, the
	   thread's handle subscribes to profile instead of handing over. */
	int accept;
	struct sockaddr_in accept_addr;
};

struct slot {
	int cfd, sfd;			/* client end, accepted end */
	gnutls_session_t gs;
	double t_submit, t_reply;
	int busy, cdone, cfail, sdone, queued;
	unsigned short cport;		/* accept mode: the client's port */
};

struct hs_thread {
	struct hs_run *run;
	pthread_t tid;
	unsigned n;			/* slots */
	struct slot *slots;
	int ep, lfd;
	struct sockaddr_in addr;
	struct ktls_handoff *h;
	struct ktls_handoff_req req;
	unsigned *queue, n_queue;	/* slots whose submit got -EAGAIN */
	int h_events;
	unsigned long ok, errors;
	struct recs recs;		/* reply times, submit -> reply in ms */
	char group[32], sigalg[64], cipher[32];
	char first_error[300];
};

/* Client threads for a run; clients spread over them. */
struct hs_pool {
	struct hs_run run;
	unsigned n;
	struct hs_thread t[MAX_THREADS];
};

/* What a pool's threads did, summed up. */
struct hs_sum {
	struct recs recs;
	unsigned long ok, errors;
	char info[200], first_error[300];
};

void hs_pool_start(struct hs_pool *p, const struct daemon *d,
		   const struct opts *o, unsigned threads, int windowed);
void hs_pool_join(struct hs_pool *p, struct hs_sum *sum);
void hs_handoff(const struct opts *o);
void hs_accept(const struct opts *o);
void hs_floor(const struct opts *o);

/* ---- footprint.c (P6, P7) ---- */

void mem_inflight(const struct opts *o);
void mem_churn(const struct opts *o);

/* ---- resume.c: P9, client handoffs resumed or full ---- */

void hs_client(const struct opts *o, int resume);

/* ---- http.c (P2) ---- */

void http_get(const struct opts *o);

#endif
