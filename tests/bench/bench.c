// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench: one measurement per run, for tests/bench/run.
 *
 *   bench probe                     exit 0 if this kernel can run the measures
 *   bench MEASURE [OPTIONS]         one run; prints one result line
 *
 * Data path (P4, P5): TLS 1.3 AES-128-GCM over a loopback TCP pair; what is
 * timed is the sender, the server.
 *   ktls-sendfile  libktls server: sendfile() from a memfd
 *   gnutls-send    GnuTLS server in userspace: read() into a buffer,
 *                  gnutls_record_send()
 *   raw-sendfile   no handshake: keys set by hand as in tests/vm/raw_ktls.c,
 *                  then sendfile() (the kernel-only limit)
 *   options: --size MIB (default 64); --receiver tcp (default: a GnuTLS
 *   client for the handshake, then the records read off TCP and checked,
 *   not decrypted, so that the sender bounds the run) or ktls (a libktls
 *   client, kTLS RX and recvmsg(): it decrypts everything, and bounds the
 *   run itself); --cpus split (default: the sender on CPU 1, the receiver
 *   on CPU 0) or shared
 *
 * Handshakes (P1): TLS 1.3, X25519, one certificate (--cert ec: ECDSA
 * P-256, --cert rsa: RSA-2048), the same GnuTLS client code on both sides.
 * hs-handoff and mem-churn also take --cert psk (an external PSK, psk_ke:
 * no certificate, no key share) and psk-dhe (the PSK with X25519).
 *   hs-handoff     build/ktlsd with --workers N runs the server side: loopback
 *                  TCP pairs, the accepted end handed over with
 *                  ktls_handoff_submit(), --clients concurrent handshakes
 *   hs-floor       GnuTLS client and server in one process over socketpairs,
 *                  --workers threads, one handshake at a time each (--tcp:
 *                  over loopback TCP pairs instead, to tell costs apart)
 *   options: --dir WORK (certificates {ec,rsa}.{pem,key}; sockets and logs
 *   go there), --cert, --workers, --clients (64), --seconds (counted),
 *   --warmup (seconds before counting)
 *
 * HTTPS (P2): --server ktls (examples/ktls-fileserver and build/ktlsd) or
 * --server nginx (with kTLS), both serving WORK/www; the same GnuTLS load
 * client with --clients connections on --workers threads.
 *   http-get       GET /FILE (--file 1m or 1k) over and over: keep-alive, or
 *                  with --close a new connection for each (Connection: close)
 *
 * Daemon footprint (P6, P7), build/ktlsd with 2 workers:
 *   mem-inflight   --counts 1000,5000,10000: that many TCP clients that never
 *                  speak, their accepted ends handed over; the daemon's RSS
 *                  and descriptors once it holds them all, then after they
 *                  leave
 *   mem-churn      --first N --max M --budget S: RSS and descriptors after N
 *                  completed handshakes and after as many more as fit in S
 *                  seconds (at most M in all); --cert as hs-handoff
 *
 * Result lines: "MEASURE value=V unit=U seconds=T key=value ...", and for
 * mem-*, one line per sample. Tools: $KTLSD (default: ../ktlsd next to this
 * binary's directory), $KTLS_FILESERVER (../examples/ktls-fileserver),
 * $NGINX (nginx in PATH or /usr/sbin/nginx).
 */
#include <dirent.h>
#include <math.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <ktls.h>

#include "peers.h"

#define BENCH_CHUNK	(64u << 10)	/* receive buffer; GnuTLS read() size */
#define BENCH_MAX_MIB	4096u
#define BENCH_TIMEOUT_S	1200		/* nothing here may hang a CI job */
#define BENCH_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM"
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
#define MAX_SLOTS	4096		/* concurrent clients per thread */
#define MAX_THREADS	16

enum { REC_ALERT = 21, REC_HANDSHAKE = 22, REC_DATA = 23 };

enum measure {
	M_KTLS_SENDFILE, M_GNUTLS_SEND, M_RAW_SENDFILE,
	M_HS_HANDOFF, M_HS_FLOOR, M_HTTP_GET, M_MEM_INFLIGHT, M_MEM_CHURN,
	M_COUNT
};

static const char *const measure_names[M_COUNT] = {
	[M_KTLS_SENDFILE] = "ktls-sendfile",
	[M_GNUTLS_SEND] = "gnutls-send",
	[M_RAW_SENDFILE] = "raw-sendfile",
	[M_HS_HANDOFF] = "hs-handoff",
	[M_HS_FLOOR] = "hs-floor",
	[M_HTTP_GET] = "http-get",
	[M_MEM_INFLIGHT] = "mem-inflight",
	[M_MEM_CHURN] = "mem-churn",
};

/* Command-line options of every measure; each uses some. */
struct opts {
	size_t len;		/* data path: bytes to transfer */
	const char *receiver;	/* data path: "tcp" or "ktls" */
	const char *cpus;	/* data path: "split" or "shared" */
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
	const char *counts;	/* mem-inflight */
	unsigned long first, max;	/* mem-churn */
	double budget;		/* mem-churn: seconds for the second sample */
};

static const char *side = "setup";
static pid_t main_pid;

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench: %s: ", side);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* User plus system CPU seconds of this process so far. */
static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die("out of memory");
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v[0..n), sorting v; 0 for none. */
static double quantile(double *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(q * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* Completed handshakes: when each ended, and how long it took (ms). */
struct rec {
	double end, ms;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static void rec_add(struct recs *r, double end, double ms)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		if (!r->v)
			die("out of memory");
	}
	r->v[r->n].end = end;
	r->v[r->n++].ms = ms;
}

static void recs_merge(struct recs *to, const struct recs *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		rec_add(to, from->v[i].end, from->v[i].ms);
}

/*
 * The counting window: the main thread opens it once the run is warm
 * (t0) and it closes seconds later (t1, which also ends the run); both
 * stay at INFINITY until then.
 */
struct window {
	_Atomic double t0, t1;
};

static void window_init(struct window *w)
{
	atomic_store(&w->t0, INFINITY);
	atomic_store(&w->t1, INFINITY);
}

static int window_over(struct window *w)
{
	return now() >= atomic_load(&w->t1);
}

/* Those records that ended inside the window; their p50 and p99 times. */
static unsigned long in_window_stats(const struct recs *r, struct window *w,
				     double *p50, double *p99)
{
	double t0 = atomic_load(&w->t0), t1 = atomic_load(&w->t1);
	double *v = xcalloc(r->n + 1, sizeof(*v));
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].end >= t0 && r->v[i].end < t1)
			v[n++] = r->v[i].ms;
	*p50 = quantile(v, n, 0.50);
	*p99 = quantile(v, n, 0.99);
	free(v);
	return n;
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write_full(fd, text, strlen(text)) < 0 || close(fd))
		die("writing %s: %s", path, strerror(errno));
}

/* snprintf() that refuses to truncate: paths and configurations. */
__attribute__((format(printf, 3, 4)))
static void fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("text too long for its buffer: %.60s...", buf);
}

/* Confine this process (and what it starts from now on) to one CPU. */
static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity to CPU %d: %s", cpu, strerror(errno));
}

/* Enough descriptors for n of everything; the daemon inherits the limit. */
static void raise_nofile(rlim_t n)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		die("getrlimit: %s", strerror(errno));
	if (r.rlim_cur >= n)
		return;
	r.rlim_cur = n;
	if (r.rlim_max < n)
		r.rlim_max = n;
	if (setrlimit(RLIMIT_NOFILE, &r))
		die("cannot raise RLIMIT_NOFILE to %llu (%s): run as root, or "
		    "raise the hard limit", (unsigned long long)n,
		    strerror(errno));
}

/* ==== Data path (P4, P5) ==== */

/*
 * The receiver. RX_TCP (what the suite runs): the records straight off
 * the TCP socket, no kTLS RX; every record header is checked, the
 * plaintext lengths must add up to the file, and one record in
 * CHECK_EVERY (the first and the last too) is decrypted in userspace and
 * compared with the file. It costs far less than the sender, so the run
 * measures the sender, and a sender that sends wrong bytes still fails.
 * RX_KTLS: kTLS RX and recvmsg(), as a real kTLS client; it decrypts as
 * much as the sender encrypts, so it bounds the run itself.
 */
enum rx_kind { RX_TCP, RX_KTLS };

#define REC_HDR		5
#define REC_OVERHEAD	17		/* TLS 1.3: inner content type, 16-byte tag */
#define REC_MAX_CT	(16384 + 256)	/* RFC 8446 5.2, TLSCiphertext.length */
#define CHECK_EVERY	64
#define KEY_LEN		16		/* AES-128-GCM */
#define NONCE_LEN	12

struct bench {
	enum measure m;
	enum rx_kind rx;
	int split;		/* the sender on CPU 1, the receiver on CPU 0 */
	size_t len;		/* bytes to transfer */
	int file;		/* memfd holding them */
	int fd[2];		/* [0] receiver (client), [1] sender (server) */
	int report[2];		/* pipe: the sender's CPU seconds */
	int go[2];		/* pipe: the receiver's start signal */
	/* raw-sendfile with RX_TCP: the keys fd[1] sends with */
	unsigned char raw_key[KEY_LEN], raw_iv[NONCE_LEN];
};

/* The data, in memory; its content matters to nobody, so a 1 MiB pattern repeats. */
static int make_file(size_t len)
{
	static unsigned char block[1u << 20];
	size_t done;
	int fd;

	fd = memfd_create("bench-data", MFD_CLOEXEC);
	if (fd < 0)
		die("memfd_create: %s", strerror(errno));
	fill_pattern(block, sizeof(block), 4242, 0);
	for (done = 0; done < len; done += sizeof(block))
		if (write_full(fd, block, sizeof(block)) < 0)
			die("filling the data file: %s", strerror(errno));
	/* The GnuTLS sender read()s from the start; sendfile() has its own offset. */
	if (lseek(fd, 0, SEEK_SET))
		die("lseek: %s", strerror(errno));
	return fd;
}

/*
 * Application data from a kTLS socket. The record type comes with every
 * recvmsg(); handshake records (the server's NewSessionTicket) are skipped,
 * close_notify is the end, any other alert an error. Bytes, 0, or -errno.
 */
static ssize_t recv_data(int fd, void *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];

	for (;;) {
		struct iovec iov = { buf, len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		unsigned char type;
		ssize_t n = recvmsg(fd, &msg, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_level != SOL_TLS ||
		    cm->cmsg_type != TLS_GET_RECORD_TYPE)
			return n;
		type = *CMSG_DATA(cm);
		if (type == REC_DATA)
			return n;
		if (type == REC_ALERT)
			return n >= 2 && ((unsigned char *)buf)[1] == 0 ? 0 : -EPROTO;
		if (type != REC_HANDSHAKE)
			return -EPROTO;
	}
}

/* ---- The RX_TCP receiver's check of the records ---- */

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

static void rx_check_init(struct rx_check *c, const unsigned char *key,
			  const unsigned char *iv, uint64_t seq,
			  const struct bench *b)
{
	gnutls_datum_t k = { (unsigned char *)key, KEY_LEN };

	memset(c, 0, sizeof(*c));
	if (gnutls_aead_cipher_init(&c->aead, GNUTLS_CIPHER_AES_128_GCM, &k) < 0)
		die("gnutls_aead_cipher_init failed");
	memcpy(c->iv, iv, NONCE_LEN);
	c->seq = seq;
	c->len = b->len;
	c->want = mmap(NULL, b->len, PROT_READ, MAP_SHARED, b->file, 0);
	if (c->want == MAP_FAILED)
		die("mapping the data file: %s", strerror(errno));
}

static void rx_check_free(struct rx_check *c)
{
	gnutls_aead_cipher_deinit(c->aead);
	munmap((void *)c->want, c->len);
	explicit_bzero(c->iv, sizeof(c->iv));
}

static void rx_header(struct rx_check *c)
{
	const unsigned char *h = c->rec;
	size_t len = (size_t)h[3] << 8 | h[4];

	if (h[0] != REC_DATA || h[1] != 3 || h[2] != 3 ||
	    len < REC_OVERHEAD || len > REC_MAX_CT)
		die("record %lu (after %zu bytes of data): header %02x %02x%02x "
		    "length %zu is not a TLS 1.3 record", c->records, c->got,
		    h[0], h[1], h[2], len);
	c->rec_len = REC_HDR + len;
	/* Every record up to the first data (a ticket may come first). */
	c->keep = !c->data_seen || c->records % CHECK_EVERY == 0 ||
		  c->got + len - REC_OVERHEAD >= c->len;
}

/* Decrypt the record in c->rec: its bytes must be the file's, in order. */
static void rx_decrypt(struct rx_check *c)
{
	static unsigned char pt[REC_MAX_CT];
	unsigned char nonce[NONCE_LEN], type;
	size_t n = sizeof(pt);
	int i, ret;

	memcpy(nonce, c->iv, NONCE_LEN);
	for (i = 0; i < 8; i++)
		nonce[NONCE_LEN - 8 + i] ^= (unsigned char)(c->seq >> (56 - 8 * i));
	ret = gnutls_aead_cipher_decrypt(c->aead, nonce, NONCE_LEN, c->rec,
					 REC_HDR, 16, c->rec + REC_HDR,
					 c->rec_len - REC_HDR, pt, &n);
	if (ret < 0)
		die("record %lu (sequence %llu) does not decrypt: %s", c->records,
		    (unsigned long long)c->seq, gnutls_strerror(ret));
	while (n && !pt[n - 1])
		n--;		/* TLS 1.3 padding */
	if (!n)
		die("record %lu has no content type", c->records);
	type = pt[--n];
	if (type == REC_HANDSHAKE && !c->data_seen)
		return;
	if (type != REC_DATA)
		die("record %lu: content type %u among the data", c->records, type);
	if (n > c->len - c->got || memcmp(pt, c->want + c->got, n))
		die("record %lu: its %zu bytes are not the file's at offset %zu",
		    c->records, n, c->got);
	c->got += n;
	c->data_seen = 1;
	c->checked++;
}

static void rx_record(struct rx_check *c)
{
	if (c->keep)
		rx_decrypt(c);
	else
		c->got += c->rec_len - REC_HDR - REC_OVERHEAD;
	if (c->got > c->len)
		die("record %lu: more data than the %zu bytes sent", c->records,
		    c->len);
	c->records++;
	c->seq++;
	c->have = 0;
}

/* Take n bytes off the wire: headers checked, kept records collected. */
static void rx_feed(struct rx_check *c, const unsigned char *p, size_t n)
{
	while (n) {
		size_t take;

		if (c->have < REC_HDR) {
			take = REC_HDR - c->have < n ? REC_HDR - c->have : n;
			memcpy(c->rec + c->have, p, take);
			c->have += take;
			if (c->have == REC_HDR)
				rx_header(c);
		} else {
			take = c->rec_len - c->have < n ? c->rec_len - c->have : n;
			if (c->keep)
				memcpy(c->rec + c->have, p, take);
			c->have += take;
			if (c->have == c->rec_len)
				rx_record(c);
		}
		p += take;
		n -= take;
	}
}

/* ---- The data path's handshakes ---- */

/*
 * A libktls session on fd, TLS 1.3 AES-128-GCM only, installed in the
 * kernel; *cfg must outlive it.
 */
static struct ktls_session *ktls_side(enum ktls_role role, int fd,
				      struct ktls_config **cfg)
{
	struct ktls_session *s = NULL;
	const struct ktls_info *in;
	int err;

	err = ktls_config_new(cfg, role);
	if (err)
		die("ktls_config_new: %s", ktls_strerror(err));
	err = role == KTLS_SERVER ? ktls_config_add_cert(*cfg, TEST_CERT, TEST_KEY)
				  : ktls_config_set_ca_file(*cfg, TEST_CERT);
	if (!err)
		err = ktls_config_set_versions(*cfg, KTLS_TLS13, KTLS_TLS13);
	if (!err)
		err = ktls_config_set_ciphers(*cfg, KTLS_CIPHER_AES_128_GCM);
	if (!err)
		err = ktls_session_new(&s, *cfg, fd);
	if (!err && role == KTLS_CLIENT)
		err = ktls_session_set_server_name(s, "localhost");
	if (err)
		die("libktls setup: %s", ktls_strerror(err));
	err = ktls_session_handshake(s);
	if (err)
		die("handshake: %s", ktls_session_error(s));
	in = ktls_session_info(s);
	if (!in || in->version != KTLS_TLS13 ||
	    in->cipher != KTLS_CIPHER_AES_128_GCM)
		die("the handshake did not give TLS 1.3 AES-128-GCM");
	if (in->tx == KTLS_OFFLOAD_NONE || in->rx == KTLS_OFFLOAD_NONE)
		die("the kernel does not run this socket's records");
	return s;
}

/* A GnuTLS session in userspace on fd, same version and cipher. */
static gnutls_session_t gnutls_side(unsigned role, int fd,
				    gnutls_certificate_credentials_t *cred)
{
	gnutls_session_t gs;
	int ret;

	if (gnutls_certificate_allocate_credentials(cred))
		die("GnuTLS credentials: out of memory");
	if (role == GNUTLS_SERVER)
		ret = gnutls_certificate_set_x509_key_file(*cred, TEST_CERT,
				TEST_KEY, GNUTLS_X509_FMT_PEM);
	else
		ret = gnutls_certificate_set_x509_trust_file(*cred, TEST_CERT,
				GNUTLS_X509_FMT_PEM) == 1 ? 0 : -1;
	if (ret < 0 || gnutls_init(&gs, role) ||
	    gnutls_priority_set_direct(gs, BENCH_PRIORITY, NULL) ||
	    gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, *cred))
		die("GnuTLS %s setup failed", role == GNUTLS_SERVER ? "server" : "client");
	if (role == GNUTLS_CLIENT)
		gnutls_session_set_verify_cert(gs, "localhost", 0);
	gnutls_transport_set_int(gs, fd);
	do
		ret = gnutls_handshake(gs);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0)
		die("GnuTLS handshake: %s", gnutls_strerror(ret));
	if (gnutls_protocol_get_version(gs) != GNUTLS_TLS1_3 ||
	    gnutls_cipher_get(gs) != GNUTLS_CIPHER_AES_128_GCM)
		die("GnuTLS did not negotiate TLS 1.3 AES-128-GCM");
	return gs;
}

/*
 * Hand-set keys, as tests/vm/raw_ktls.c does: fd[1] sends with ci[1] and
 * receives with ci[0]. The kTLS receiver takes the mirror image; the TCP
 * receiver keeps ci[1] to check records with.
 */
static void raw_keys(struct bench *b)
{
	struct tls12_crypto_info_aes_gcm_128 ci[2];
	int i, n = b->rx == RX_KTLS ? 2 : 1;

	for (i = 0; i < 2; i++) {
		memset(&ci[i], 0, sizeof(ci[i]));
		ci[i].info.version = TLS_1_3_VERSION;
		ci[i].info.cipher_type = TLS_CIPHER_AES_GCM_128;
		fill_pattern(ci[i].key, sizeof(ci[i].key), 7 + i, 0);
		fill_pattern(ci[i].salt, sizeof(ci[i].salt), 7 + i, 100);
		fill_pattern(ci[i].iv, sizeof(ci[i].iv), 7 + i, 200);
	}
	for (i = 0; i < n; i++) {
		int fd = b->fd[1 - i], err = tcp_set_ulp_tls(fd);

		if (err)
			die("TCP_ULP tls: %s", strerror(-err));
		if (setsockopt(fd, SOL_TLS, TLS_TX, &ci[1 - i], sizeof(ci[0])) ||
		    setsockopt(fd, SOL_TLS, TLS_RX, &ci[i], sizeof(ci[0])))
			die("installing hand-set keys: %s", strerror(errno));
	}
	memcpy(b->raw_key, ci[1].key, KEY_LEN);
	memcpy(b->raw_iv, ci[1].salt, sizeof(ci[1].salt));
	memcpy(b->raw_iv + sizeof(ci[1].salt), ci[1].iv, sizeof(ci[1].iv));
	explicit_bzero(ci, sizeof(ci));
}

/* ---- The sender (server), in the child ---- */

static void send_sendfile(const struct bench *b)
{
	off_t off = 0;

	while ((size_t)off < b->len) {
		ssize_t n = sendfile(b->fd[1], b->file, &off, b->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("sendfile at %lld: %s", (long long)off,
			    n ? strerror(errno) : "no progress");
	}
}

/* What a userspace TLS server does without kTLS: read, then encrypt and send. */
static void send_gnutls(const struct bench *b, gnutls_session_t gs)
{
	static unsigned char buf[BENCH_CHUNK];
	size_t done = 0;

	while (done < b->len) {
		ssize_t n = read(b->file, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("reading the data file: %s",
			    n ? strerror(errno) : "short file");
		while (off < n) {
			ssize_t w = gnutls_record_send(gs, buf + off, n - off);

			if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
				continue;
			if (w < 0)
				die("gnutls_record_send: %s", gnutls_strerror(w));
			off += w;
		}
		done += n;
	}
}

static void sender(struct bench *b)
{
	gnutls_certificate_credentials_t cred = NULL;
	struct ktls_config *cfg = NULL;
	struct ktls_session *s = NULL;
	gnutls_session_t gs = NULL;
	double cpu;
	char buf[64];
	int n;

	side = "sender";
	close(b->fd[0]);
	close(b->report[0]);
	close(b->go[1]);
	if (b->split)
		pin_cpu(1);
	if (b->m == M_KTLS_SENDFILE)
		s = ktls_side(KTLS_SERVER, b->fd[1], &cfg);
	else if (b->m == M_GNUTLS_SEND)
		gs = gnutls_side(GNUTLS_SERVER, b->fd[1], &cred);
	if (read(b->go[0], buf, 1) != 1)
		die("no start signal from the receiver");
	cpu = cpu_seconds();
	if (gs)
		send_gnutls(b, gs);
	else
		send_sendfile(b);
	n = snprintf(buf, sizeof(buf), "%.6f\n", cpu_seconds() - cpu);
	if (write_full(b->report[1], buf, n) != n)
		die("reporting to the receiver: %s", strerror(errno));
	/* Stay until the receiver has everything and closes its end. */
	while (read(b->fd[1], buf, sizeof(buf)) > 0)
		;
	ktls_session_free(s);
	ktls_config_free(cfg);
	if (gs)
		gnutls_deinit(gs);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	exit(0);
}

/* ---- The receiver (client), here ---- */

static double sender_cpu(struct bench *b, pid_t pid)
{
	char buf[64] = "";
	double cpu;
	int st;

	if (read_full(b->report[0], buf, sizeof(buf) - 1) <= 0 ||
	    sscanf(buf, "%lf", &cpu) != 1)
		cpu = -1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("the sender failed (see above)");
	if (cpu < 0)
		die("the sender did not report its CPU time");
	return cpu;
}

/* RX_TCP: the keys the sender encrypts with, from the handshake or by hand. */
static gnutls_session_t rx_tcp_setup(struct bench *b, struct rx_check *c,
				     gnutls_certificate_credentials_t *cred)
{
	gnutls_datum_t key, iv;
	unsigned char seq[8];
	gnutls_session_t gs;
	uint64_t s = 0;
	int i;

	if (b->m == M_RAW_SENDFILE) {
		rx_check_init(c, b->raw_key, b->raw_iv, 0, b);
		return NULL;
	}
	gs = gnutls_side(GNUTLS_CLIENT, b->fd[0], cred);
	if (gnutls_record_get_state(gs, 1, NULL, &iv, &key, seq) < 0 ||
	    key.size != KEY_LEN || iv.size != NONCE_LEN)
		die("GnuTLS gave no AES-128-GCM receive key");
	if (gnutls_record_check_pending(gs))
		die("GnuTLS read past the handshake");
	for (i = 0; i < 8; i++)
		s = s << 8 | seq[i];
	rx_check_init(c, key.data, iv.data, s, b);
	return gs;
}

static void receiver(struct bench *b, pid_t pid)
{
	static unsigned char buf[BENCH_CHUNK];
	gnutls_certificate_credentials_t cred = NULL;
	struct ktls_config *cfg = NULL;
	struct ktls_session *s = NULL;
	gnutls_session_t gs = NULL;
	struct rx_check c = { 0 };
	double t0, t1, cpu0, cpu1, scpu;
	size_t got = 0;

	side = "receiver";
	close(b->fd[1]);
	close(b->report[1]);
	close(b->go[0]);
	if (b->split)
		pin_cpu(0);
	if (b->rx == RX_TCP)
		gs = rx_tcp_setup(b, &c, &cred);
	else if (b->m != M_RAW_SENDFILE)
		s = ktls_side(KTLS_CLIENT, b->fd[0], &cfg);

	t0 = now();
	cpu0 = cpu_seconds();
	if (write(b->go[1], "g", 1) != 1)
		die("sending the start signal: %s", strerror(errno));
	while (b->rx == RX_TCP ? c.got < b->len || c.have : got < b->len) {
		ssize_t n;

		if (b->rx == RX_TCP) {
			n = recv(b->fd[0], buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				n = -errno;
		} else {
			n = recv_data(b->fd[0], buf, sizeof(buf));
		}
		if (n <= 0)
			die("after %zu of %zu bytes: %s",
			    b->rx == RX_TCP ? c.got : got, b->len,
			    n ? strerror(-n) : "the sender closed");
		if (b->rx == RX_TCP)
			rx_feed(&c, buf, n);
		got += n;
	}
	t1 = now();
	cpu1 = cpu_seconds();

	close(b->fd[0]);
	scpu = sender_cpu(b, pid);
	ktls_session_free(s);
	ktls_config_free(cfg);
	if (gs)
		gnutls_deinit(gs);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	printf("%s value=%.3f unit=MiB/s seconds=%.4f bytes=%zu "
	       "sender_cpu_s=%.3f receiver_cpu_s=%.3f receiver=%s cpus=%s "
	       "records=%lu decrypted=%lu\n", measure_names[b->m],
	       b->len / (t1 - t0) / (1 << 20), t1 - t0, b->len, scpu,
	       cpu1 - cpu0, b->rx == RX_TCP ? "tcp" : "ktls",
	       b->split ? "split" : "shared", c.records, c.checked);
	if (b->rx == RX_TCP)
		rx_check_free(&c);
}


/* ==== Programs we start: ktlsd, the file server, nginx ==== */

#define MAX_CHILDREN 8
static pid_t children[MAX_CHILDREN];

/* At exit (a die() included): nothing we started may outlive us. */
static void kill_children(void)
{
	int i;

	if (getpid() != main_pid)
		return;
	for (i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0) {
			kill(-children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
}

/* Where a program of the build is: $env, else dir-of-this-binary/rel. */
static void tool_path(char *out, size_t size, const char *env, const char *rel)
{
	const char *e = getenv(env);
	char self[PATH_MAX];
	ssize_t n;

	if (e && *e) {
		snprintf(out, size, "%s", e);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	snprintf(out, size, "%s/%s", dirname(self), rel);
}

/*
 * Start argv[0] in its own process group (so that stopping it stops its
 * own children too), stdin from /dev/null, stdout and stderr appended to
 * log.
 */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid;
	int i;

	for (i = 0; i < MAX_CHILDREN && children[i] > 0; i++)
		;
	if (i == MAX_CHILDREN)
		die("too many programs started");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		alarm(0);	/* an alarm outlives exec */
		setpgid(0, 0);
		if (null < 0 || out < 0 || dup2(null, 0) < 0 ||
		    dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		fprintf(stderr, "bench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	children[i] = pid;
	return pid;
}

/* Whether pid has exited (then reaped and forgotten). */
static int child_gone(pid_t pid)
{
	int i;

	if (waitpid(pid, NULL, WNOHANG) != pid)
		return 0;
	for (i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
	return 1;
}

/* Ask it (and its group) to stop; insist after timeout seconds. */
static void stop(pid_t pid, int sig, double timeout)
{
	double end = now() + timeout;

	if (pid <= 0)
		return;
	kill(-pid, sig);
	while (!child_gone(pid)) {
		if (now() > end) {
			fprintf(stderr, "bench: pid %d did not stop in %.0f s: "
				"killed\n", (int)pid, timeout);
			kill(-pid, SIGKILL);
			end = now() + 3600;
		}
		sleep_s(0.01);
	}
}

/* The last lines of a log, for a failure message. */
static void show_log(const char *log)
{
	char buf[2048];
	ssize_t n;
	off_t size;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0,
	      SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		fprintf(stderr, "---- end of %s ----\n%s\n----\n", log, buf);
	}
}

/* Open descriptors of a process, or -1. */
static long proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	fmt(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- ktlsd ---- */

struct daemon {
	pid_t pid;
	char sock[108];
	char conf[PATH_MAX], log[PATH_MAX];
};

/*
 * Start build/ktlsd in the foreground with profiles "ec" and "rsa"
 * (servers, TLS 1.3 AES-128-GCM, the work directory's certificates) and
 * "psk" (the same with PSK_IDENTITY's key, no certificate), and wait
 * until its handoff socket answers.
 */
static void daemon_start(struct daemon *d, const struct opts *o,
			 unsigned max_inflight, unsigned timeout_ms)
{
	static const char *const profiles[] = { "ec", "rsa", "psk" };
	char bin[PATH_MAX], text[4096], prof[1024];
	char *argv[] = { bin, "-f", "-c", d->conf, NULL };
	struct ktls_handoff *h;
	double end;
	size_t i;
	int ret;

	tool_path(bin, sizeof(bin), "KTLSD", "../ktlsd");
	if (access(bin, X_OK))
		die("no ktlsd at %s (make builds it; $KTLSD names another)", bin);
	fmt(d->sock, sizeof(d->sock), "%s/ktlsd.sock", o->dir);
	fmt(d->conf, sizeof(d->conf), "%s/ktlsd.conf", o->dir);
	fmt(d->log, sizeof(d->log), "%s/ktlsd.log", o->dir);
	fmt(text, sizeof(text),
	    "[ktlsd]\n"
	    "socket = %s\n"
	    "socket_mode = 0600\n"
	    "control_socket = %s/ktlsd-control.sock\n"
	    "workers = %u\n"
	    "max_inflight = %u\n"
	    "log = stderr\n"
	    "log_level = warning\n",
	    d->sock, o->dir, o->workers, max_inflight);
	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (!strcmp(profiles[i], "psk"))
			fmt(prof, sizeof(prof), "\n[profile psk]\n"
			    "psk_identity = " PSK_IDENTITY "\n"
			    "psk_key = " PSK_KEY_HEX "\n");
		else
			fmt(prof, sizeof(prof),
			    "\n[profile %s]\n"
			    "certificate = %s/%s.pem\n"
			    "key = %s/%s.key\n", profiles[i], o->dir,
			    profiles[i], o->dir, profiles[i]);
		if (strlen(text) + strlen(prof) >= sizeof(text))
			die("ktlsd configuration too long");
		strcat(text, prof);
		fmt(prof, sizeof(prof),
		    "role = server\n"
		    "versions = 1.3\n"
		    "ciphers = aes-128-gcm\n"
		    "handshake_timeout = %u\n", timeout_ms);
		if (strlen(text) + strlen(prof) >= sizeof(text))
			die("ktlsd configuration too long");
		strcat(text, prof);
	}
	write_text(d->conf, text);
	unlink(d->sock);
	d->pid = spawn(argv, d->log);
	for (end = now() + 60;; sleep_s(0.05)) {
		ret = ktls_handoff_open(&h, d->sock);
		if (!ret) {
			ktls_handoff_close(h);
			return;
		}
		if (child_gone(d->pid)) {
			show_log(d->log);
			die("ktlsd exited at start (its log is above)");
		}
		if (now() > end) {
			show_log(d->log);
			die("ktlsd did not open %s within 60 s: %s", d->sock,
			    ktls_strerror(ret));
		}
	}
}

static void daemon_stop(struct daemon *d)
{
	stop(d->pid, SIGTERM, 30);
	d->pid = 0;
}

/* ---- TLS clients (GnuTLS), the same code against every server ---- */

static gnutls_certificate_credentials_t client_cred(const struct opts *o,
						    const char *cert)
{
	gnutls_certificate_credentials_t cred;
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%s.pem", o->dir, cert);
	if (gnutls_certificate_allocate_credentials(&cred) ||
	    gnutls_certificate_set_x509_trust_file(cred, path,
						   GNUTLS_X509_FMT_PEM) != 1)
		die("cannot load %s as the clients' trust anchor", path);
	return cred;
}

/*
 * A non-blocking client on fd that verifies the server's certificate
 * (chain and name), as a real client does.
 */
static gnutls_session_t client_session(gnutls_certificate_credentials_t cred,
				       int fd)
{
	gnutls_session_t gs;

	if (gnutls_init(&gs, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) ||
	    gnutls_priority_set_direct(gs, HS_PRIORITY, NULL) ||
	    gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, cred) ||
	    gnutls_server_name_set(gs, GNUTLS_NAME_DNS, "localhost", 9))
		die("GnuTLS client setup failed");
	gnutls_session_set_verify_cert(gs, "localhost", 0);
	gnutls_transport_set_int(gs, fd);
	return gs;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		die("fcntl: %s", strerror(errno));
}

/* Close without TIME_WAIT: long runs would fill the table otherwise. */
static void close_reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* A blocking loopback connection to addr, and (lfd >= 0) its accepted end. */
static int connect_to(const struct sockaddr_in *addr, int lfd, int *accepted)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		die("connect to 127.0.0.1:%u: %s", ntohs(addr->sin_port),
		    strerror(errno));
	if (lfd >= 0) {
		*accepted = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (*accepted < 0)
			die("accept: %s", strerror(errno));
	}
	return fd;
}

/* A listening loopback socket with a deep backlog; *addr gets its address. */
static int listener(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) ||
	    listen(fd, 4096) || getsockname(fd, (struct sockaddr *)addr, &len))
		die("loopback listener: %s", strerror(errno));
	return fd;
}

static void ep_set(int ep, int op, int fd, unsigned events, uint64_t data)
{
	struct epoll_event ee = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, op, fd, &ee))
		die("epoll_ctl: %s", strerror(errno));
}

/* ==== Handshakes through the handoff (P1, P6) ==== */

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
};

struct slot {
	int cfd, sfd;			/* client end, accepted end */
	gnutls_session_t gs;
	double t_submit, t_reply;
	int busy, cdone, cfail, sdone, queued;
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

#define EP_HANDOFF	UINT64_MAX

static void hs_error(struct hs_thread *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void hs_error(struct hs_thread *t, const char *fmt, ...)
{
	va_list ap;

	t->errors++;
	if (t->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->first_error, sizeof(t->first_error), fmt, ap);
	va_end(ap);
}

static void handoff_events(struct hs_thread *t)
{
	int want = EPOLLIN | (t->n_queue ? EPOLLOUT : 0);

	if (want != t->h_events) {
		ep_set(t->ep, EPOLL_CTL_MOD, ktls_handoff_fd(t->h), want,
		       EP_HANDOFF);
		t->h_events = want;
	}
}

/* Submit slot i's accepted end, or queue it until the connection drains. */
static void hs_submit(struct hs_thread *t, unsigned i)
{
	struct slot *s = &t->slots[i];
	uint64_t id;
	int ret;

	if (!t->n_queue) {
		s->t_submit = now();
		ret = ktls_handoff_submit(t->h, s->sfd, &t->req, &id);
		if (!ret)
			return;
		if (ret != -EAGAIN)
			die("ktls_handoff_submit: %s (%s)", ktls_strerror(ret),
			    ktls_handoff_error(t->h));
	}
	s->queued = 1;
	t->queue[t->n_queue++] = i;
	handoff_events(t);
}

static void hs_flush_queue(struct hs_thread *t)
{
	unsigned done = 0;
	uint64_t id;
	int ret;

	while (done < t->n_queue) {
		struct slot *s = &t->slots[t->queue[done]];

		s->t_submit = now();
		ret = ktls_handoff_submit(t->h, s->sfd, &t->req, &id);
		if (ret == -EAGAIN)
			break;
		if (ret)
			die("ktls_handoff_submit: %s (%s)", ktls_strerror(ret),
			    ktls_handoff_error(t->h));
		s->queued = 0;
		done++;
	}
	memmove(t->queue, t->queue + done, (t->n_queue - done) * sizeof(*t->queue));
	t->n_queue -= done;
	handoff_events(t);
}

static void slot_free(struct hs_thread *t, struct slot *s)
{
	if (s->gs)
		gnutls_deinit(s->gs);
	if (s->cfd >= 0)
		close_reset(s->cfd);
	if (s->sfd >= 0)
		close_reset(s->sfd);
	s->gs = NULL;
	s->cfd = s->sfd = -1;
	s->busy = 0;
	atomic_fetch_add(&t->run->finished, 1);
}

static void slot_done(struct hs_thread *t, struct slot *s)
{
	double end = now();

	t->ok++;
	rec_add(&t->recs, end, (s->t_reply - s->t_submit) * 1000);
	slot_free(t, s);
}

static void client_step(struct hs_thread *t, unsigned i)
{
	struct slot *s = &t->slots[i];
	int ret;

	if (s->cdone || s->cfail)
		return;
	ret = gnutls_handshake(s->gs);
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		ep_set(t->ep, EPOLL_CTL_MOD, s->cfd,
		       gnutls_record_get_direction(s->gs) ? EPOLLOUT : EPOLLIN, i);
		return;
	}
	if (ret < 0) {
		/* Freed when ktlsd's reply comes, so the fd is not reused. */
		hs_error(t, "client handshake: %s", gnutls_strerror(ret));
		s->cfail = 1;
		epoll_ctl(t->ep, EPOLL_CTL_DEL, s->cfd, NULL);
		return;
	}
	s->cdone = 1;
	/* Nothing more comes to the client: ktlsd sends no tickets. */
	epoll_ctl(t->ep, EPOLL_CTL_DEL, s->cfd, NULL);
	if (s->sdone)
		slot_done(t, s);
}

/* The client of one handshake: certificate-verifying, or with the PSK. */
static gnutls_session_t hs_client_session(const struct hs_run *r, int fd)
{
	gnutls_session_t gs;

	if (!r->psk)
		return client_session(r->cred, fd);
	if (gnutls_init(&gs, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) ||
	    gnutls_priority_set(gs, r->psk_prio) ||
	    gnutls_credentials_set(gs, GNUTLS_CRD_PSK, r->psk))
		die("GnuTLS PSK client setup failed");
	gnutls_transport_set_int(gs, fd);
	return gs;
}

static int may_start(struct hs_run *r)
{
	if (atomic_load(&r->stop))
		return 0;
	if (r->windowed)
		return 1;
	if (atomic_fetch_add(&r->started, 1) < atomic_load(&r->limit))
		return 1;
	atomic_fetch_sub(&r->started, 1);
	return 0;
}

static void slot_start(struct hs_thread *t, unsigned i)
{
	struct slot *s = &t->slots[i];

	if (!may_start(t->run))
		return;
	memset(s, 0, sizeof(*s));
	s->busy = 1;
	s->cfd = connect_to(&t->addr, t->lfd, &s->sfd);
	nodelay(s->cfd);
	nodelay(s->sfd);
	set_nonblock(s->cfd);
	s->gs = hs_client_session(t->run, s->cfd);
	hs_submit(t, i);
	ep_set(t->ep, EPOLL_CTL_ADD, s->cfd, EPOLLOUT, i);
	client_step(t, i);
}

static void hs_results(struct hs_thread *t)
{
	struct ktls_handoff_result r;
	unsigned i;
	int ret;

	while ((ret = ktls_handoff_result(t->h, &r)) == 1) {
		struct slot *s = NULL;

		for (i = 0; i < t->n; i++)
			if (t->slots[i].busy && t->slots[i].sfd == r.fd) {
				s = &t->slots[i];
				break;
			}
		if (!s)
			die("a handoff reply for an unknown socket (fd %d)", r.fd);
		s->t_reply = now();
		if (r.status || s->cfail) {
			if (!s->cfail) {
				hs_error(t, "ktlsd: %s (%s)",
					 ktls_strerror(r.status),
					 ktls_handoff_error(t->h));
				if (!s->cdone)
					epoll_ctl(t->ep, EPOLL_CTL_DEL, s->cfd, NULL);
			}
			ktls_session_free(r.session);
			slot_free(t, s);
			continue;
		}
		if (!t->group[0]) {
			const struct ktls_info *in = ktls_session_info(r.session);

			/* A PSK handshake has no signature, psk_ke no group. */
			snprintf(t->group, sizeof(t->group), "%s",
				 !in || !in->group ? "?" : in->group[0] ?
				 in->group : "none");
			snprintf(t->sigalg, sizeof(t->sigalg), "%s",
				 !in || !in->sigalg ? "?" : in->sigalg[0] ?
				 in->sigalg : "none");
			snprintf(t->cipher, sizeof(t->cipher), "%s",
				 in && in->cipher_name ? in->cipher_name : "?");
		}
		ktls_session_free(r.session);
		s->sdone = 1;
		if (s->cdone)
			slot_done(t, s);
	}
	if (ret < 0)
		die("the handoff connection failed: %s (%s)", ktls_strerror(ret),
		    ktls_handoff_error(t->h));
}

static void *hs_thread_main(void *arg)
{
	struct hs_thread *t = arg;
	struct hs_run *r = t->run;
	struct epoll_event ev[64];
	unsigned i;
	int n;

	for (;;) {
		if (atomic_load(&r->stop) || (r->windowed && window_over(&r->win)))
			break;
		for (i = 0; i < t->n; i++)
			if (!t->slots[i].busy)
				slot_start(t, i);
		n = epoll_wait(t->ep, ev, 64, 50);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int k = 0; k < n; k++) {
			if (ev[k].data.u64 == EP_HANDOFF) {
				if (ev[k].events & EPOLLOUT)
					hs_flush_queue(t);
				hs_results(t);
			} else {
				i = (unsigned)ev[k].data.u64;
				if (t->slots[i].busy)
					client_step(t, i);
			}
		}
	}
	/* Whatever is in flight is dropped: ktlsd sees the clients go. */
	for (i = 0; i < t->n; i++)
		if (t->slots[i].busy)
			slot_free(t, &t->slots[i]);
	return NULL;
}

static void hs_thread_init(struct hs_thread *t, struct hs_run *r, unsigned n)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->run = r;
	t->n = n;
	t->slots = xcalloc(n, sizeof(*t->slots));
	t->queue = xcalloc(n, sizeof(*t->queue));
	for (unsigned i = 0; i < n; i++)
		t->slots[i].cfd = t->slots[i].sfd = -1;
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep < 0)
		die("epoll_create1: %s", strerror(errno));
	t->lfd = listener(&t->addr);
	ret = ktls_handoff_open(&t->h, r->sock);
	if (ret)
		die("ktls_handoff_open %s: %s", r->sock, ktls_strerror(ret));
	t->req.size = sizeof(t->req);
	t->req.profile = r->profile;
	t->h_events = EPOLLIN;
	ep_set(t->ep, EPOLL_CTL_ADD, ktls_handoff_fd(t->h), EPOLLIN, EP_HANDOFF);
}

static void hs_thread_free(struct hs_thread *t)
{
	ktls_handoff_close(t->h);
	close(t->lfd);
	close(t->ep);
	free(t->slots);
	free(t->queue);
	free(t->recs.v);
}

/* Client threads for a run; clients spread over them. */
struct hs_pool {
	struct hs_run run;
	unsigned n;
	struct hs_thread t[MAX_THREADS];
};

static void hs_pool_start(struct hs_pool *p, const struct daemon *d,
			  const struct opts *o, unsigned threads, int windowed)
{
	unsigned i;
	int ret;

	p->run.sock = d->sock;
	p->run.profile = o->cert;
	p->run.windowed = windowed;
	if (!strncmp(o->cert, "psk", 3)) {
		gnutls_datum_t key = { (unsigned char *)PSK_KEY_HEX,
				       sizeof(PSK_KEY_HEX) - 1 };

		p->run.profile = "psk";
		/* Parsed once: this client is to cost little next to ktlsd. */
		if (gnutls_priority_init(&p->run.psk_prio, strcmp(o->cert, "psk") ?
					 PSK_DHE_PRIORITY : PSK_PRIORITY, NULL) ||
		    gnutls_psk_allocate_client_credentials(&p->run.psk) ||
		    gnutls_psk_set_client_credentials(p->run.psk, PSK_IDENTITY,
						      &key, GNUTLS_PSK_KEY_HEX))
			die("GnuTLS PSK client credentials failed");
	} else {
		p->run.cred = client_cred(o, o->cert);
	}
	p->n = threads;
	for (i = 0; i < threads; i++)
		hs_thread_init(&p->t[i], &p->run,
			       o->clients / threads + (i < o->clients % threads));
	for (i = 0; i < threads; i++) {
		ret = pthread_create(&p->t[i].tid, NULL, hs_thread_main, &p->t[i]);
		if (ret)
			die("pthread_create: %s", strerror(ret));
	}
}

/* What a pool's threads did, summed up. */
struct hs_sum {
	struct recs recs;
	unsigned long ok, errors;
	char info[200], first_error[300];
};

/* Join the threads (they end at t1, or when told to stop) and sum up. */
static void hs_pool_join(struct hs_pool *p, struct hs_sum *sum)
{
	unsigned i;

	atomic_store(&p->run.stop, !p->run.windowed);
	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < p->n; i++) {
		struct hs_thread *t = &p->t[i];

		pthread_join(t->tid, NULL);
		sum->ok += t->ok;
		sum->errors += t->errors;
		recs_merge(&sum->recs, &t->recs);
		if (!sum->info[0] && t->group[0])
			snprintf(sum->info, sizeof(sum->info),
				 "group=%s sigalg=%s cipher=%s", t->group,
				 t->sigalg, t->cipher);
		if (!sum->first_error[0] && t->first_error[0])
			snprintf(sum->first_error, sizeof(sum->first_error),
				 "%s", t->first_error);
		hs_thread_free(t);
	}
	if (p->run.cred)
		gnutls_certificate_free_credentials(p->run.cred);
	if (p->run.psk)
		gnutls_psk_free_client_credentials(p->run.psk);
	if (p->run.psk_prio)
		gnutls_priority_deinit(p->run.psk_prio);
}

/* CPU seconds (user + system) a process has used so far, or -1. */
static double proc_cpu(pid_t pid)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* After the name: state, then utime and stime are the 12th, 13th. */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/*
 * Open the window once `ready` handshakes have finished and warmup
 * seconds have passed; close it seconds later. Returns the CPU seconds
 * used inside it by this process and by `other` (0: none).
 */
static double run_window(struct window *w, const struct opts *o,
			 atomic_ulong *finished, unsigned long ready, pid_t other)
{
	double start = now(), t0, cpu0, cpu1;

	while ((finished && atomic_load(finished) < ready) ||
	       now() < start + o->warmup) {
		if (now() > start + 600)
			die("no handshake completes (%lu of %lu after 600 s)",
			    finished ? atomic_load(finished) : 0, ready);
		sleep_s(0.02);
	}
	cpu0 = cpu_seconds() + (other ? proc_cpu(other) : 0);
	t0 = now();
	atomic_store(&w->t1, t0 + o->seconds);
	atomic_store(&w->t0, t0);
	sleep_s(o->seconds);
	cpu1 = cpu_seconds() + (other ? proc_cpu(other) : 0);
	return cpu1 - cpu0;
}

static void hs_print(const char *name, const struct opts *o,
		     const struct recs *r, struct window *w, double cpu,
		     unsigned long errors, const char *info,
		     const char *first_error)
{
	double p50, p99;
	unsigned long n = in_window_stats(r, w, &p50, &p99);

	if (first_error[0])
		fprintf(stderr, "bench: %s: %lu errors, the first: %s\n", name,
			errors, first_error);
	printf("%s value=%.2f unit=hs/s seconds=%.2f count=%lu p50_ms=%.2f "
	       "p99_ms=%.2f cpu_ms_per_hs=%.2f errors=%lu %s\n", name,
	       n / o->seconds, o->seconds, n, p50, p99,
	       n ? cpu * 1000 / n : 0.0, errors,
	       info[0] ? info : "group=? sigalg=? cipher=?");
}

static void hs_handoff(const struct opts *o)
{
	struct daemon d = { 0 };
	struct hs_pool *p = xcalloc(1, sizeof(*p));
	struct hs_sum sum;
	double cpu;

	side = "hs-handoff";
	if (o->workers == 1)
		pin_cpu(0);	/* ktlsd and its clients share one CPU */
	raise_nofile(4 * o->clients + 1024);
	daemon_start(&d, o, o->clients * 2 + 64, 60000);
	window_init(&p->run.win);
	hs_pool_start(p, &d, o, o->workers, 1);
	/* The first round of clients all start at once: let it pass. */
	cpu = run_window(&p->run.win, o, &p->run.finished, o->clients, d.pid);
	hs_pool_join(p, &sum);
	daemon_stop(&d);
	hs_print("hs-handoff", o, &sum.recs, &p->run.win, cpu, sum.errors,
		 sum.info, sum.first_error);
	free(sum.recs.v);
	free(p);
}

/* ---- The floor: client and server in one process, no daemon ---- */

struct floor_thread {
	const struct opts *o;
	pthread_t tid;
	gnutls_certificate_credentials_t scred, ccred;
	struct window *win;
	atomic_ulong *finished;
	struct recs recs;
	char info[200];
};

static void *floor_main(void *arg)
{
	struct floor_thread *f = arg;

	while (!window_over(f->win)) {
		gnutls_session_t c, s;
		int sv[2], cdone = 0, sdone = 0, ret, spins = 0;
		double start = now(), end;

		if (f->o->tcp) {
			ret = tcp_pair(sv);
			if (ret)
				die("loopback TCP pair: %s", strerror(-ret));
			nodelay(sv[0]);
			nodelay(sv[1]);
			set_nonblock(sv[0]);
			set_nonblock(sv[1]);
		} else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				      SOCK_NONBLOCK, 0, sv)) {
			die("socketpair: %s", strerror(errno));
		}
		c = client_session(f->ccred, sv[0]);
		/* As libktls sets a server up: no tickets, no client certificate. */
		if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK |
				GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS) ||
		    gnutls_priority_set_direct(s, HS_PRIORITY, NULL) ||
		    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, f->scred))
			die("GnuTLS server setup failed");
		gnutls_transport_set_int(s, sv[1]);
		while (!cdone || !sdone) {
			if (!cdone) {
				ret = gnutls_handshake(c);
				if (!ret)
					cdone = 1;
				else if (gnutls_error_is_fatal(ret))
					die("floor client: %s", gnutls_strerror(ret));
			}
			if (!sdone) {
				ret = gnutls_handshake(s);
				if (!ret)
					sdone = 1;
				else if (gnutls_error_is_fatal(ret))
					die("floor server: %s", gnutls_strerror(ret));
			}
			if (++spins > 10000)
				die("floor handshake makes no progress");
		}
		end = now();
		rec_add(&f->recs, end, (end - start) * 1000);
		atomic_fetch_add(f->finished, 1);
		if (!f->info[0])
			snprintf(f->info, sizeof(f->info),
				 "group=%s sigalg=%s cipher=%s",
				 gnutls_group_get_name(gnutls_group_get(s)),
				 gnutls_sign_get_name(gnutls_sign_algorithm_get(s)),
				 gnutls_cipher_get_name(gnutls_cipher_get(s)));
		gnutls_deinit(c);
		gnutls_deinit(s);
		if (f->o->tcp) {
			close_reset(sv[0]);
			close_reset(sv[1]);
		} else {
			close(sv[0]);
			close(sv[1]);
		}
	}
	return NULL;
}

static void hs_floor(const struct opts *o)
{
	struct floor_thread f[MAX_THREADS];
	gnutls_certificate_credentials_t scred, ccred;
	struct window win;
	atomic_ulong finished = 0;
	struct recs recs = { 0 };
	char cert[PATH_MAX], key[PATH_MAX];
	double cpu;
	unsigned i;
	int ret;

	side = "hs-floor";
	if (!strncmp(o->cert, "psk", 3))
		die("the floor takes --cert ec or rsa");
	if (o->workers == 1)
		pin_cpu(0);
	fmt(cert, sizeof(cert), "%s/%s.pem", o->dir, o->cert);
	fmt(key, sizeof(key), "%s/%s.key", o->dir, o->cert);
	if (gnutls_certificate_allocate_credentials(&scred) ||
	    gnutls_certificate_set_x509_key_file(scred, cert, key,
						 GNUTLS_X509_FMT_PEM) < 0)
		die("cannot load %s and %s", cert, key);
	ccred = client_cred(o, o->cert);
	window_init(&win);
	for (i = 0; i < o->workers; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].o = o;
		f[i].scred = scred;
		f[i].ccred = ccred;
		f[i].win = &win;
		f[i].finished = &finished;
		ret = pthread_create(&f[i].tid, NULL, floor_main, &f[i]);
		if (ret)
			die("pthread_create: %s", strerror(ret));
	}
	cpu = run_window(&win, o, &finished, o->workers, 0);
	for (i = 0; i < o->workers; i++) {
		pthread_join(f[i].tid, NULL);
		recs_merge(&recs, &f[i].recs);
		free(f[i].recs.v);
	}
	hs_print("hs-floor", o, &recs, &win, cpu, 0, f[0].info, "");
	free(recs.v);
	gnutls_certificate_free_credentials(scred);
	gnutls_certificate_free_credentials(ccred);
}

/* ==== The daemon's footprint (P6, P7) ==== */

/* Settle, then one sample of the daemon's RSS and descriptors. */
static void sample(pid_t pid, long *rss, long *fds)
{
	sleep_s(0.5);
	*rss = proc_rss_kib(pid);
	*fds = proc_fds(pid);
	if (*rss < 0 || *fds < 0)
		die("cannot read /proc/%d (did ktlsd die?)", (int)pid);
}

/*
 * A few complete handshakes first, so that what every daemon allocates
 * once (worker arenas, GnuTLS's lazy set-up) is in the baseline.
 */
static void warm_up(const struct daemon *d, const struct opts *o,
		    unsigned long n)
{
	struct hs_pool *p = xcalloc(1, sizeof(*p));
	struct opts w = *o;
	struct hs_sum sum;

	w.clients = 8;
	atomic_store(&p->run.limit, n);
	hs_pool_start(p, d, &w, 2, 0);
	while (atomic_load(&p->run.finished) < n)
		sleep_s(0.02);
	hs_pool_join(p, &sum);
	if (sum.errors)
		die("warm-up handshakes failed: %s", sum.first_error);
	free(sum.recs.v);
	free(p);
}

/* Read replies; while clients are held, any reply is an error. */
static unsigned long drain_replies(struct ktls_handoff *h, unsigned long *errors,
				   char *first, size_t first_len)
{
	struct ktls_handoff_result r;
	unsigned long n = 0;
	int ret;

	while ((ret = ktls_handoff_result(h, &r)) == 1) {
		n++;
		if (errors) {
			(*errors)++;
			if (!first[0])
				snprintf(first, first_len, "%s (%s)",
					 ktls_strerror(r.status),
					 ktls_handoff_error(h));
		}
		ktls_session_free(r.session);
	}
	if (ret < 0)
		die("the handoff connection failed: %s (%s)", ktls_strerror(ret),
		    ktls_handoff_error(h));
	return n;
}

static void mem_inflight(const struct opts *o)
{
	struct daemon d = { 0 };
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "ec" };
	struct ktls_handoff *h;
	struct sockaddr_in addr;
	unsigned long counts[8], max = 0, held = 0, errors = 0, replies;
	long base_rss, base_fds, rss, fds;
	char first[300] = "", *end;
	const char *p = o->counts;
	int *cfd, *sfd, lfd, ret;
	size_t n_counts = 0, k;
	struct pollfd pfd;
	double t;

	side = "mem-inflight";
	while (*p && n_counts < 8) {
		counts[n_counts] = strtoul(p, &end, 10);
		if (end == p || counts[n_counts] <= max)
			die("--counts takes increasing numbers: 1000,5000,10000");
		max = counts[n_counts++];
		p = *end == ',' ? end + 1 : end;
	}
	if (!n_counts)
		die("--counts missing");
	raise_nofile(2 * max + 4096);
	cfd = xcalloc(max, sizeof(*cfd));
	sfd = xcalloc(max, sizeof(*sfd));
	daemon_start(&d, o, max + 1024, 600000);
	warm_up(&d, o, 32);
	ret = ktls_handoff_open(&h, d.sock);
	if (ret)
		die("ktls_handoff_open: %s", ktls_strerror(ret));
	lfd = listener(&addr);
	sample(d.pid, &base_rss, &base_fds);
	printf("inflight-base rss_kib=%ld fds=%ld\n", base_rss, base_fds);
	fflush(stdout);

	pfd.fd = ktls_handoff_fd(h);
	for (k = 0; k < n_counts; k++) {
		uint64_t id;

		t = now();
		for (; held < counts[k]; held++) {
			cfd[held] = connect_to(&addr, lfd, &sfd[held]);
			/* Each request goes out before the next connection. */
			while ((ret = ktls_handoff_submit(h, sfd[held], &req,
							  &id)) == -EAGAIN) {
				pfd.events = POLLOUT | POLLIN;
				poll(&pfd, 1, 1000);
				drain_replies(h, &errors, first, sizeof(first));
			}
			if (ret)
				die("ktls_handoff_submit: %s", ktls_strerror(ret));
		}
		/* ktlsd holds a duplicate of each socket while it waits. */
		for (;;) {
			drain_replies(h, &errors, first, sizeof(first));
			fds = proc_fds(d.pid);
			if (fds < 0)
				die("ktlsd is gone");
			if (fds >= base_fds + (long)counts[k] - (long)errors)
				break;
			if (now() - t > 600)
				die("ktlsd holds %ld of %lu sockets after 600 s",
				    fds - base_fds, counts[k]);
			sleep_s(0.1);
		}
		sample(d.pid, &rss, &fds);
		drain_replies(h, &errors, first, sizeof(first));
		printf("inflight n=%lu held=%ld errors=%lu rss_kib=%ld "
		       "base_rss_kib=%ld per_kib=%.2f fds=%ld base_fds=%ld "
		       "fill_s=%.1f\n", counts[k], fds - base_fds, errors, rss,
		       base_rss, (double)(rss - base_rss) / counts[k], fds,
		       base_fds, now() - t);
		fflush(stdout);
		if (errors)
			fprintf(stderr, "bench: %s: the first error reply: %s\n",
				side, first);
	}

	/* The clients leave: every handshake fails, every socket goes. */
	t = now();
	for (k = 0; k < max; k++)
		close_reset(cfd[k]);
	for (replies = errors; replies < max && now() - t < 600;) {
		pfd.events = POLLIN;
		poll(&pfd, 1, 200);
		replies += drain_replies(h, NULL, NULL, 0);
	}
	for (k = 0; k < max; k++)
		close(sfd[k]);
	while ((fds = proc_fds(d.pid)) > base_fds && now() - t < 600)
		sleep_s(0.1);
	sample(d.pid, &rss, &fds);
	printf("inflight-released n=%lu replies=%lu fds=%ld base_fds=%ld "
	       "rss_kib=%ld base_rss_kib=%ld drain_s=%.1f\n", max, replies, fds,
	       base_fds, rss, base_rss, now() - t);
	ktls_handoff_close(h);
	close(lfd);
	daemon_stop(&d);
	free(cfd);
	free(sfd);
}

/* Start up to limit handshakes in all, wait for them, sample. */
static void churn_to(struct hs_pool *p, const struct daemon *d,
		     unsigned long limit, long *rss, long *fds)
{
	atomic_store(&p->run.limit, limit);
	while (atomic_load(&p->run.finished) < limit) {
		if (child_gone(d->pid))
			die("ktlsd died");
		sleep_s(0.02);
	}
	sample(d->pid, rss, fds);
}

static void mem_churn(const struct opts *o)
{
	struct daemon d = { 0 };
	struct hs_pool *p = xcalloc(1, sizeof(*p));
	struct hs_sum sum;
	unsigned long second, step, mid;
	int q;
	long base_rss, base_fds, rss1, fds1, rss2, fds2;
	double t0, t1, t2, rate, dcpu, bcpu;

	side = "mem-churn";
	raise_nofile(4 * o->clients + 1024);
	daemon_start(&d, o, o->clients * 2 + 64, 60000);
	sample(d.pid, &base_rss, &base_fds);
	hs_pool_start(p, &d, o, o->workers, 0);
	t0 = now();
	churn_to(p, &d, o->first, &rss1, &fds1);
	t1 = now();
	printf("churn-%s n=%lu rss_kib=%ld fds=%ld base_rss_kib=%ld base_fds=%ld "
	       "seconds=%.1f\n", o->cert, o->first, rss1, fds1, base_rss,
	       base_fds, t1 - t0);
	fflush(stdout);
	/* As many more as the budget allows at the rate just seen. */
	rate = o->first / (t1 - t0);
	second = o->first + (unsigned long)(rate * o->budget);
	step = o->first >= 1000 ? 1000 : 100;
	second = second / step * step;
	if (second > o->max)
		second = o->max;
	if (second < 2 * o->first)
		second = 2 * o->first;
	dcpu = proc_cpu(d.pid);
	bcpu = cpu_seconds();
	/* Samples on the way too: growth that goes on tells a leak from noise. */
	for (q = 1; q < 4; q++) {
		mid = o->first + (second - o->first) * q / 4;
		churn_to(p, &d, mid, &rss2, &fds2);
		printf("churn-%s n=%lu rss_kib=%ld fds=%ld seconds=%.1f\n", o->cert,
		       mid, rss2, fds2, now() - t1);
		fflush(stdout);
	}
	churn_to(p, &d, second, &rss2, &fds2);
	t2 = now();
	dcpu = proc_cpu(d.pid) - dcpu;
	bcpu = cpu_seconds() - bcpu;
	hs_pool_join(p, &sum);
	daemon_stop(&d);
	printf("churn-%s n=%lu rss_kib=%ld fds=%ld base_rss_kib=%ld base_fds=%ld "
	       "seconds=%.1f rate=%.1f errors=%lu wanted=%lu "
	       "ktlsd_cpu_ms_per_hs=%.2f clients_cpu_ms_per_hs=%.2f %s\n",
	       o->cert, second, rss2, fds2, base_rss, base_fds, t2 - t1,
	       (second - o->first) / (t2 - t1), sum.errors, o->max,
	       dcpu * 1000 / (second - o->first),
	       bcpu * 1000 / (second - o->first),
	       sum.info[0] ? sum.info : "group=? sigalg=? cipher=?");
	/* The counts are of completed handshakes: a failed one voids them. */
	if (sum.errors)
		die("%lu handshakes failed, the first: %s", sum.errors,
		    sum.first_error);
	free(sum.recs.v);
	free(p);
}

/* ==== HTTPS: examples/ktls-fileserver against nginx (P2) ==== */

/* The files both servers serve: WORK/www/1m and WORK/www/1k. */
static void make_www(const struct opts *o)
{
	static const struct { const char *name; size_t len; } files[] = {
		{ "1m", 1u << 20 }, { "1k", 1024 },
	};
	static unsigned char block[1u << 20];
	char path[PATH_MAX];
	size_t i;
	int fd;

	fmt(path, sizeof(path), "%s/www", o->dir);
	mkdir(path, 0755);
	fill_pattern(block, sizeof(block), 4243, 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fmt(path, sizeof(path), "%s/www/%s", o->dir, files[i].name);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write_full(fd, block, files[i].len) < 0 || close(fd))
			die("writing %s: %s", path, strerror(errno));
	}
}

static void find_nginx(char *out, size_t size)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/local/sbin",
					    "/usr/bin", "/usr/local/bin", NULL };
	const char *e = getenv("NGINX");
	size_t i;

	if (e && *e) {
		snprintf(out, size, "%s", e);
		return;
	}
	for (i = 0; dirs[i]; i++) {
		snprintf(out, size, "%s/nginx", dirs[i]);
		if (!access(out, X_OK))
			return;
	}
	die("nginx is not installed here (make bench runs P2 in the trixie "
	    "root, which has it)");
}

/*
 * nginx as the issue puts it: kTLS through OpenSSL (ssl_conf_command
 * Options KTLS), sendfile on; TLS 1.3 only, X25519, no session tickets
 * (ktlsd sends none), no access log (ours logs nothing per request
 * either with -n); as many worker processes as ktlsd has workers.
 */
static pid_t nginx_start(const struct opts *o, int port)
{
	char bin[PATH_MAX], prefix[PATH_MAX], conf[PATH_MAX], log[PATH_MAX];
	char text[4096];
	char *argv[] = { bin, "-p", prefix, "-e", log, "-c", conf, NULL };
	pid_t pid;

	find_nginx(bin, sizeof(bin));
	fmt(prefix, sizeof(prefix), "%s/nginx/", o->dir);
	mkdir(prefix, 0755);
	fmt(conf, sizeof(conf), "%snginx.conf", prefix);
	fmt(log, sizeof(log), "%serror.log", prefix);
	fmt(text, sizeof(text),
		"%s"
		"worker_processes %u;\n"
		"daemon off;\n"
		"pid %snginx.pid;\n"
		"error_log %s warn;\n"
		"events { worker_connections 512; }\n"
		"http {\n"
		"	access_log off;\n"
		"	sendfile on;\n"
		"	keepalive_requests 1000000;\n"
		"	keepalive_timeout 60s;\n"
		"	default_type application/octet-stream;\n"
		"	client_body_temp_path %stmp;\n"
		"	server {\n"
		"		listen 127.0.0.1:%d ssl;\n"
		"		ssl_certificate %s/ec.pem;\n"
		"		ssl_certificate_key %s/ec.key;\n"
		"		ssl_protocols TLSv1.3;\n"
		"		ssl_ecdh_curve X25519;\n"
		"		ssl_session_tickets off;\n"
		"		ssl_conf_command Options KTLS;\n"
		"		ssl_conf_command NumTickets 0;\n"
		"		root %s/www;\n"
		"	}\n"
		"}\n",
		geteuid() ? "" : "user root;\n", o->workers, prefix, log, prefix,
		port, o->dir, o->dir, o->dir);
	write_text(conf, text);
	pid = spawn(argv, log);
	if (wait_listen(port, 30000)) {
		show_log(log);
		die("nginx did not listen on port %d (its log is above)", port);
	}
	return pid;
}

/* ktlsd, and the file server handing every connection to it. */
static pid_t fileserver_start(const struct opts *o, struct daemon *d, int port)
{
	char bin[PATH_MAX], listen_at[64], root[PATH_MAX], log[PATH_MAX];
	char *argv[] = { bin, "-l", listen_at, "-s", d->sock, "-p", "ec", "-n",
			 root, NULL };
	pid_t pid;

	tool_path(bin, sizeof(bin), "KTLS_FILESERVER", "../examples/ktls-fileserver");
	if (access(bin, X_OK))
		die("no file server at %s (make builds it)", bin);
	daemon_start(d, o, 4096, 60000);
	fmt(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
	fmt(root, sizeof(root), "%s/www", o->dir);
	fmt(log, sizeof(log), "%s/fileserver.log", o->dir);
	pid = spawn(argv, log);
	if (wait_listen(port, 30000)) {
		show_log(log);
		die("ktls-fileserver did not listen on port %d", port);
	}
	return pid;
}

/* The load client: threads of non-blocking GnuTLS connections. */
enum { H_HANDSHAKE, H_SEND, H_HEAD, H_BODY };

struct hconn {
	int fd;
	gnutls_session_t gs;
	int st;
	char head[8192];
	size_t hlen;
	long long left;
};

struct http_thread {
	const struct opts *o;
	pthread_t tid;
	struct sockaddr_in addr;
	gnutls_certificate_credentials_t cred;
	struct window *win;
	atomic_ulong *finished;		/* responses, all threads */
	unsigned n;
	struct hconn *c;
	int ep;
	char req[256];
	size_t req_len;
	unsigned long long bytes;	/* body bytes inside the window */
	unsigned long responses;	/* completed inside the window */
	unsigned long errors;
	char info[200], first_error[300];
};

static int in_window(const struct http_thread *t)
{
	double x = now();

	return x >= atomic_load(&t->win->t0) && x < atomic_load(&t->win->t1);
}

static void hconn_open(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];

	c->fd = connect_to(&t->addr, -1, NULL);
	nodelay(c->fd);
	set_nonblock(c->fd);
	c->gs = client_session(t->cred, c->fd);
	c->st = H_HANDSHAKE;
	c->hlen = 0;
	ep_set(t->ep, EPOLL_CTL_ADD, c->fd, EPOLLOUT, i);
}

static void hconn_close(struct http_thread *t, unsigned i)
{
	struct hconn *c = &t->c[i];

	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	gnutls_deinit(c->gs);
	close(c->fd);
	c->fd = -1;
}

static void http_fail(struct http_thread *t, unsigned i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void http_fail(struct http_thread *t, unsigned i, const char *fmt, ...)
{
	va_list ap;

	t->errors++;
	if (!t->first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(t->first_error, sizeof(t->first_error), fmt, ap);
		va_end(ap);
	}
	hconn_close(t, i);
	hconn_open(t, i);
}

/* The head is complete at end (after its blank line): check it. */
static int parse_head(struct hconn *c, size_t end)
{
	const char *cl;

	c->head[end - 1] = 0;
	if (strncmp(c->head, "HTTP/1.1 200 ", 13))
		return -1;
	cl = strcasestr(c->head, "\r\nContent-Length:");
	if (!cl)
		return -1;
	c->left = strtoll(cl + 17, NULL, 10);
	return 0;
}

/* Run connection i as far as it goes without waiting. */
static void hconn_step(struct http_thread *t, unsigned i)
{
	static __thread unsigned char scratch[BENCH_CHUNK];
	struct hconn *c = &t->c[i];
	ssize_t n;
	char *e;
	int ret;

	for (;;) {
		switch (c->st) {
		case H_HANDSHAKE:
			ret = gnutls_handshake(c->gs);
			if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
				ep_set(t->ep, EPOLL_CTL_MOD, c->fd,
				       gnutls_record_get_direction(c->gs) ?
				       EPOLLOUT : EPOLLIN, i);
				return;
			}
			if (ret < 0) {
				http_fail(t, i, "handshake: %s", gnutls_strerror(ret));
				return;
			}
			if (!t->info[0])
				snprintf(t->info, sizeof(t->info),
					 "group=%s cipher=%s",
					 gnutls_group_get_name(gnutls_group_get(c->gs)),
					 gnutls_cipher_get_name(gnutls_cipher_get(c->gs)));
			c->st = H_SEND;
			break;
		case H_SEND:
			ret = gnutls_record_send(c->gs, t->req, t->req_len);
			if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
				ep_set(t->ep, EPOLL_CTL_MOD, c->fd, EPOLLOUT, i);
				return;
			}
			if (ret != (int)t->req_len) {
				http_fail(t, i, "sending the request: %s",
					  ret < 0 ? gnutls_strerror(ret) : "short");
				return;
			}
			ep_set(t->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, i);
			c->st = H_HEAD;
			c->hlen = 0;
			break;
		case H_HEAD:
			n = gnutls_record_recv(c->gs, c->head + c->hlen,
					       sizeof(c->head) - 1 - c->hlen);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				return;
			if (n <= 0) {
				http_fail(t, i, "reading the response head: %s",
					  n ? gnutls_strerror(n) : "closed");
				return;
			}
			c->hlen += n;
			c->head[c->hlen] = 0;
			e = strstr(c->head, "\r\n\r\n");
			if (!e) {
				if (c->hlen == sizeof(c->head) - 1) {
					http_fail(t, i, "response head too long");
					return;
				}
				break;
			}
			n = c->head + c->hlen - (e + 4);	/* body bytes here */
			if (parse_head(c, e + 4 - c->head)) {
				http_fail(t, i, "bad response: %.60s", c->head);
				return;
			}
			c->left -= n;
			if (in_window(t))
				t->bytes += n;
			c->st = H_BODY;
			break;
		case H_BODY:
			if (c->left > 0) {
				n = gnutls_record_recv(c->gs, scratch,
						       c->left < (long long)sizeof(scratch) ?
						       (size_t)c->left : sizeof(scratch));
				if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
					return;
				if (n <= 0) {
					http_fail(t, i, "reading the body: %s",
						  n ? gnutls_strerror(n) : "closed");
					return;
				}
				c->left -= n;
				if (in_window(t))
					t->bytes += n;
				break;
			}
			if (c->left < 0) {
				http_fail(t, i, "more body than Content-Length");
				return;
			}
			if (in_window(t))
				t->responses++;
			atomic_fetch_add(t->finished, 1);
			if (t->o->close) {
				hconn_close(t, i);
				hconn_open(t, i);
				return;
			}
			c->st = H_SEND;
			break;
		}
	}
}

static void *http_main(void *arg)
{
	struct http_thread *t = arg;
	struct epoll_event ev[64];
	unsigned i;
	int n;

	for (i = 0; i < t->n; i++)
		hconn_open(t, i);
	while (!window_over(t->win)) {
		n = epoll_wait(t->ep, ev, 64, 50);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int k = 0; k < n; k++)
			hconn_step(t, (unsigned)ev[k].data.u64);
	}
	for (i = 0; i < t->n; i++)
		hconn_close(t, i);
	return NULL;
}

static void http_get(const struct opts *o)
{
	struct http_thread *t = xcalloc(o->workers, sizeof(*t));
	struct daemon d = { 0 };
	struct window win;
	atomic_ulong finished = 0;
	unsigned long long bytes = 0;
	unsigned long responses = 0, errors = 0;
	long long tx0, tx1;
	pid_t server;
	unsigned i;
	int port, ktls = !strcmp(o->server, "ktls"), ret;

	side = "http-get";
	if (!ktls && strcmp(o->server, "nginx"))
		die("--server takes ktls or nginx");
	if (!o->file)
		die("--file missing");
	raise_nofile(4 * o->clients + 1024);
	make_www(o);
	port = free_port();
	if (port < 0)
		die("no free port");
	tx0 = tls_stat("TlsTxSw");
	server = ktls ? fileserver_start(o, &d, port) : nginx_start(o, port);
	window_init(&win);
	for (i = 0; i < o->workers; i++) {
		t[i].o = o;
		t[i].cred = client_cred(o, "ec");
		t[i].addr.sin_family = AF_INET;
		t[i].addr.sin_port = htons(port);
		t[i].addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		t[i].win = &win;
		t[i].finished = &finished;
		t[i].n = o->clients / o->workers + (i < o->clients % o->workers);
		t[i].c = xcalloc(t[i].n, sizeof(*t[i].c));
		t[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if (t[i].ep < 0)
			die("epoll_create1: %s", strerror(errno));
		t[i].req_len = snprintf(t[i].req, sizeof(t[i].req),
					"GET /%s HTTP/1.1\r\nHost: localhost\r\n%s\r\n",
					o->file, o->close ? "Connection: close\r\n" : "");
		ret = pthread_create(&t[i].tid, NULL, http_main, &t[i]);
		if (ret)
			die("pthread_create: %s", strerror(ret));
	}
	/* Every connection's first response is in before the window. */
	run_window(&win, o, &finished, o->clients, 0);
	for (i = 0; i < o->workers; i++) {
		pthread_join(t[i].tid, NULL);
		bytes += t[i].bytes;
		responses += t[i].responses;
		errors += t[i].errors;
		if (t[i].first_error[0])
			fprintf(stderr, "bench: http-get: %lu errors, the first: %s\n",
				t[i].errors, t[i].first_error);
	}
	stop(server, SIGTERM, 30);
	if (ktls)
		daemon_stop(&d);
	tx1 = tls_stat("TlsTxSw");
	if (o->close)
		printf("http-get value=%.2f unit=conn/s", responses / o->seconds);
	else
		printf("http-get value=%.3f unit=MiB/s",
		       bytes / o->seconds / (1 << 20));
	printf(" seconds=%.2f server=%s responses=%lu mib=%.1f errors=%lu "
	       "ktls_tx_sockets=%lld %s\n", o->seconds, o->server, responses,
	       bytes / (double)(1 << 20), errors,
	       tx0 >= 0 && tx1 >= 0 ? tx1 - tx0 : -1LL,
	       t[0].info[0] ? t[0].info : "group=? cipher=?");
	for (i = 0; i < o->workers; i++) {
		gnutls_certificate_free_credentials(t[i].cred);
		free(t[i].c);
		close(t[i].ep);
	}
	free(t);
}

/* ==== Entry ==== */

static int probe(void)
{
	struct ktls_probe p = { .size = sizeof(p) };
	int err = ktls_probe(&p);

	if (err) {
		fprintf(stderr, "bench: probe: %s\n", ktls_strerror(err));
		return 1;
	}
	if (p.ulp) {
		fprintf(stderr, "bench: kernel %s has no kTLS: %s\n", p.kernel,
			p.why);
		return 1;
	}
	if (!(p.tx13 & p.rx13 & KTLS_CIPHER_AES_128_GCM)) {
		fprintf(stderr, "bench: kernel %s lacks TLS 1.3 AES-128-GCM "
			"both ways\n", p.kernel);
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench probe\n"
		"       bench ktls-sendfile|gnutls-send|raw-sendfile [--size MIB]\n"
		"             [--receiver tcp|ktls] [--cpus split|shared]\n"
		"       bench hs-handoff|hs-floor --dir WORK --cert ec|rsa|psk|psk-dhe "
		"[--workers N] [--clients N]\n"
		"             [--seconds S] [--warmup S] [--tcp (floor only)]\n"
		"       bench http-get --dir WORK --server ktls|nginx --file 1m|1k "
		"[--close] [--workers N]\n"
		"             [--clients N] [--seconds S] [--warmup S]\n"
		"       bench mem-inflight --dir WORK --counts N,N,...\n"
		"       bench mem-churn --dir WORK --first N --max N --budget S "
		"[--clients N]\n"
		"             [--cert ec|rsa|psk|psk-dhe]\n"
		"(see the top of tests/bench/bench.c)\n");
	exit(2);
}

static unsigned long num(const char *name, const char *v, unsigned long lo,
			 unsigned long hi)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		die("%s takes %lu to %lu", name, lo, hi);
	return n;
}

static double secs(const char *name, const char *v)
{
	char *end;
	double d = strtod(v, &end);

	if (*end || !(d >= 0) || d > 3600)
		die("%s takes seconds, 0 to 3600", name);
	return d;
}

static void parse(int argc, char **argv, struct opts *o)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "--close") || !strcmp(k, "--tcp")) {
			*(k[2] == 'c' ? &o->close : &o->tcp) = 1;
			continue;
		}
		if (!v || strncmp(k, "--", 2))
			usage();
		i++;
		if (!strcmp(k, "--size"))
			o->len = num(k, v, 1, BENCH_MAX_MIB) << 20;
		else if (!strcmp(k, "--receiver"))
			o->receiver = v;
		else if (!strcmp(k, "--cpus"))
			o->cpus = v;
		else if (!strcmp(k, "--dir"))
			o->dir = v;
		else if (!strcmp(k, "--cert"))
			o->cert = v;
		else if (!strcmp(k, "--workers"))
			o->workers = num(k, v, 1, MAX_THREADS);
		else if (!strcmp(k, "--clients"))
			o->clients = num(k, v, 1, MAX_SLOTS);
		else if (!strcmp(k, "--seconds"))
			o->seconds = secs(k, v);
		else if (!strcmp(k, "--warmup"))
			o->warmup = secs(k, v);
		else if (!strcmp(k, "--server"))
			o->server = v;
		else if (!strcmp(k, "--file"))
			o->file = v;
		else if (!strcmp(k, "--counts"))
			o->counts = v;
		else if (!strcmp(k, "--first"))
			o->first = num(k, v, 1, 100000000);
		else if (!strcmp(k, "--max"))
			o->max = num(k, v, 1, 100000000);
		else if (!strcmp(k, "--budget"))
			o->budget = secs(k, v);
		else
			usage();
	}
	if (o->seconds <= 0)
		die("--seconds must be above 0");
	if (o->clients < o->workers)
		o->clients = o->workers;
	if (strcmp(o->cert, "ec") && strcmp(o->cert, "rsa") &&
	    strcmp(o->cert, "psk") && strcmp(o->cert, "psk-dhe"))
		die("--cert takes ec, rsa, psk or psk-dhe");
	if (strcmp(o->receiver, "tcp") && strcmp(o->receiver, "ktls"))
		die("--receiver takes tcp or ktls");
	if (strcmp(o->cpus, "split") && strcmp(o->cpus, "shared"))
		die("--cpus takes split or shared");
}

static void data_run(enum measure m, const struct opts *o)
{
	struct bench b = { .m = m, .len = o->len };
	pid_t pid;
	int err;

	b.rx = strcmp(o->receiver, "ktls") ? RX_TCP : RX_KTLS;
	b.split = !strcmp(o->cpus, "split");
	if (b.split && get_nprocs() < 2)
		die("--cpus split needs 2 CPUs; this machine has %d", get_nprocs());
	if (b.m != M_RAW_SENDFILE && make_test_cert())
		die("could not make a test certificate (is openssl installed?)");
	b.file = make_file(b.len);
	err = tcp_pair(b.fd);
	if (err)
		die("loopback TCP pair: %s", strerror(-err));
	if (b.m == M_RAW_SENDFILE)
		raw_keys(&b);
	if (pipe2(b.report, O_CLOEXEC) || pipe2(b.go, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		sender(&b);
	receiver(&b, pid);
}

static void on_alarm(int sig)
{
	static const char msg[] = "bench: timed out\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	kill_children();
	_exit(1);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.len = 64u << 20, .receiver = "tcp", .cpus = "split", .cert = "ec", .workers = 1, .clients = 64,
		.seconds = 10, .warmup = 1, .first = 1000, .max = 100000,
		.budget = 60,
	};
	size_t i;

	if (argc == 2 && !strcmp(argv[1], "probe"))
		return probe();
	if (argc < 2)
		usage();
	for (i = 0; i < M_COUNT; i++)
		if (!strcmp(argv[1], measure_names[i]))
			break;
	if (i == M_COUNT)
		usage();
	parse(argc, argv, &o);
	if (i >= M_HS_HANDOFF && !o.dir)
		die("--dir missing (the work directory with the certificates)");

	/* A hung peer must not hang the suite, nor outlive it. */
	main_pid = getpid();
	atexit(kill_children);
	signal(SIGALRM, on_alarm);
	alarm(BENCH_TIMEOUT_S);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	switch ((enum measure)i) {
	case M_KTLS_SENDFILE:
	case M_GNUTLS_SEND:
	case M_RAW_SENDFILE:
		data_run(i, &o);
		break;
	case M_HS_HANDOFF:
		hs_handoff(&o);
		break;
	case M_HS_FLOOR:
		hs_floor(&o);
		break;
	case M_HTTP_GET:
		http_get(&o);
		break;
	case M_MEM_INFLIGHT:
		mem_inflight(&o);
		break;
	case M_MEM_CHURN:
		mem_churn(&o);
		break;
	case M_COUNT:
		break;
	}
	return 0;
}
