// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench: one data-path measurement per run, for tests/bench/run.
 *
 *   bench probe                  exit 0 if this kernel can run the measures
 *   bench MEASURE [--size MIB]   one transfer (default 64 MiB)
 *
 * MEASURE is one of
 *   ktls-sendfile  libktls client and libktls server; the server sendfile()s
 *   gnutls-send    libktls client, GnuTLS server in userspace: read() into a
 *                  buffer, gnutls_record_send()
 *   raw-sendfile   no handshake: keys set by hand as in tests/vm/raw_ktls.c,
 *                  then sendfile() (the kernel-only limit)
 *
 * Every measure runs TLS 1.3 AES-128-GCM over a loopback TCP pair, with the
 * sender (the server) in a forked child and the receiver (the client) here.
 * The receiver is the same code in every measure: the kernel decrypts (kTLS
 * RX) and recvmsg() reads into a 64 KiB buffer that is thrown away. Only
 * the sender differs, which is what the measures compare. The file is a
 * memfd, so every sender reads it from memory, as from a warm page cache.
 *
 * The clock runs on the receiver, from just before it sends a one-byte
 * "go" record (the sender starts on it) to the last byte received; the
 * handshakes are outside it. Prints one line:
 *
 *   MEASURE mib_s=R seconds=T bytes=N sender_cpu_s=C receiver_cpu_s=C
 */
#include <fcntl.h>
#include <linux/tls.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include <ktls.h>

#include "peers.h"

#define BENCH_CHUNK	(64u << 10)	/* receive buffer; GnuTLS read() size */
#define BENCH_MAX_MIB	4096u
#define BENCH_TIMEOUT_S	900		/* nothing here may hang a CI job */
#define BENCH_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM"

enum { REC_ALERT = 21, REC_HANDSHAKE = 22, REC_DATA = 23 };

enum measure { M_KTLS_SENDFILE, M_GNUTLS_SEND, M_RAW_SENDFILE };

static const char *const measure_names[] = {
	[M_KTLS_SENDFILE] = "ktls-sendfile",
	[M_GNUTLS_SEND] = "gnutls-send",
	[M_RAW_SENDFILE] = "raw-sendfile",
};

struct bench {
	enum measure m;
	size_t len;		/* bytes to transfer */
	int file;		/* memfd holding them */
	int fd[2];		/* [0] receiver (client), [1] sender (server) */
	int report[2];		/* pipe: the sender's CPU seconds */
};

static const char *side = "setup";

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

/* User plus system CPU seconds of this process so far. */
static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

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

/* ---- The handshakes ---- */

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

/* A GnuTLS server in userspace on fd, same version and cipher. */
static gnutls_session_t gnutls_server(int fd,
				      gnutls_certificate_credentials_t *cred)
{
	gnutls_session_t gs;
	int ret;

	if (gnutls_certificate_allocate_credentials(cred) ||
	    gnutls_certificate_set_x509_key_file(*cred, TEST_CERT, TEST_KEY,
						 GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_init(&gs, GNUTLS_SERVER) ||
	    gnutls_priority_set_direct(gs, BENCH_PRIORITY, NULL) ||
	    gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, *cred))
		die("GnuTLS server setup failed");
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

/* Hand-set keys, one pair per direction, as tests/vm/raw_ktls.c does. */
static void raw_keys(int fd[2])
{
	struct tls12_crypto_info_aes_gcm_128 ci[2];
	int i;

	for (i = 0; i < 2; i++) {
		memset(&ci[i], 0, sizeof(ci[i]));
		ci[i].info.version = TLS_1_3_VERSION;
		ci[i].info.cipher_type = TLS_CIPHER_AES_GCM_128;
		fill_pattern(ci[i].key, sizeof(ci[i].key), 7 + i, 0);
		fill_pattern(ci[i].salt, sizeof(ci[i].salt), 7 + i, 100);
		fill_pattern(ci[i].iv, sizeof(ci[i].iv), 7 + i, 200);
	}
	for (i = 0; i < 2; i++) {
		int err = tcp_set_ulp_tls(fd[i]);

		if (err)
			die("TCP_ULP tls: %s", strerror(-err));
	}
	/* fd[i] sends with ci[i]; its peer receives with the same keys. */
	for (i = 0; i < 2; i++)
		if (setsockopt(fd[i], SOL_TLS, TLS_TX, &ci[i], sizeof(ci[i])) ||
		    setsockopt(fd[!i], SOL_TLS, TLS_RX, &ci[i], sizeof(ci[i])))
			die("installing hand-set keys: %s", strerror(errno));
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

static void wait_go_ktls(int fd)
{
	char go;

	if (recv_data(fd, &go, 1) != 1)
		die("no start signal from the receiver");
}

static void wait_go_gnutls(gnutls_session_t gs)
{
	char go;
	ssize_t n;

	do
		n = gnutls_record_recv(gs, &go, 1);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	if (n != 1)
		die("no start signal from the receiver");
}

static void sender(struct bench *b)
{
	gnutls_certificate_credentials_t cred = NULL;
	struct ktls_config *cfg = NULL;
	struct ktls_session *s = NULL;
	gnutls_session_t gs = NULL;
	double cpu = 0;
	char buf[64];
	int n;

	side = "sender";
	close(b->fd[0]);
	close(b->report[0]);
	switch (b->m) {
	case M_KTLS_SENDFILE:
		s = ktls_side(KTLS_SERVER, b->fd[1], &cfg);
		/* fall through */
	case M_RAW_SENDFILE:
		wait_go_ktls(b->fd[1]);
		cpu = cpu_seconds();
		send_sendfile(b);
		break;
	case M_GNUTLS_SEND:
		gs = gnutls_server(b->fd[1], &cred);
		wait_go_gnutls(gs);
		cpu = cpu_seconds();
		send_gnutls(b, gs);
		break;
	}
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

static void receiver(struct bench *b, pid_t pid)
{
	static unsigned char buf[BENCH_CHUNK];
	struct ktls_config *cfg = NULL;
	struct ktls_session *s = NULL;
	double t0, t1, cpu0, cpu1, scpu;
	size_t got = 0;

	side = "receiver";
	close(b->fd[1]);
	close(b->report[1]);
	if (b->m != M_RAW_SENDFILE)
		s = ktls_side(KTLS_CLIENT, b->fd[0], &cfg);

	t0 = now();
	cpu0 = cpu_seconds();
	if (send(b->fd[0], "g", 1, 0) != 1)
		die("sending the start signal: %s", strerror(errno));
	while (got < b->len) {
		ssize_t n = recv_data(b->fd[0], buf, sizeof(buf));

		if (n <= 0)
			die("after %zu of %zu bytes: %s", got, b->len,
			    n ? strerror(-n) : "the sender closed");
		got += n;
	}
	t1 = now();
	cpu1 = cpu_seconds();

	close(b->fd[0]);
	scpu = sender_cpu(b, pid);
	ktls_session_free(s);
	ktls_config_free(cfg);
	printf("%s mib_s=%.3f seconds=%.4f bytes=%zu sender_cpu_s=%.3f "
	       "receiver_cpu_s=%.3f\n", measure_names[b->m],
	       b->len / (t1 - t0) / (1 << 20), t1 - t0, b->len, scpu,
	       cpu1 - cpu0);
}

/* ---- Entry ---- */

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
		"       bench ktls-sendfile|gnutls-send|raw-sendfile [--size MIB]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench b = { .len = 64u << 20 };
	unsigned long mib;
	size_t i;
	pid_t pid;
	char *end;
	int err;

	if (argc == 2 && !strcmp(argv[1], "probe"))
		return probe();
	if (argc != 2 && argc != 4)
		usage();
	for (i = 0; i < sizeof(measure_names) / sizeof(measure_names[0]); i++)
		if (!strcmp(argv[1], measure_names[i]))
			break;
	if (i == sizeof(measure_names) / sizeof(measure_names[0]))
		usage();
	b.m = i;
	if (argc == 4) {
		if (strcmp(argv[2], "--size"))
			usage();
		errno = 0;
		mib = strtoul(argv[3], &end, 10);
		if (errno || *end || !mib || mib > BENCH_MAX_MIB)
			die("--size takes 1 to %u (MiB)", BENCH_MAX_MIB);
		b.len = (size_t)mib << 20;
	}

	/* A hung peer must not hang the suite; the child inherits the alarm. */
	alarm(BENCH_TIMEOUT_S);
	signal(SIGPIPE, SIG_IGN);
	if (b.m != M_RAW_SENDFILE && make_test_cert())
		die("could not make a test certificate (is openssl installed?)");
	b.file = make_file(b.len);
	err = tcp_pair(b.fd);
	if (err)
		die("loopback TCP pair: %s", strerror(-err));
	if (b.m == M_RAW_SENDFILE)
		raw_keys(b.fd);
	if (pipe2(b.report, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		sender(&b);
	receiver(&b, pid);
	return 0;
}
