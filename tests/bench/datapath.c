// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The data path (P4, P5, P8): TLS 1.3 AES-128-GCM over a loopback TCP
 * pair, the sender (server) in a child process, the receiver (client)
 * here; what is timed is the sender (P4, P5) or the receiver (P8).
 */
#include <linux/tls.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/sysinfo.h>

#include "bench.h"

#define BENCH_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM"

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
	int no_pad;		/* ktls-recv: TLS_RX_EXPECT_NO_PAD */
};

static int receive_measure(enum measure m)
{
	return m == M_KTLS_RECV || m == M_GNUTLS_RECV;
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

/* ---- The data path's handshakes ---- */

/*
 * A libktls session on fd, TLS 1.3 AES-128-GCM only, installed in the
 * kernel with the kernel options opts (KTLS_OPT_*) and no others in
 * effect; *cfg must outlive it.
 */
static struct ktls_session *ktls_side(enum ktls_role role, int fd,
				      struct ktls_config **cfg, unsigned opts)
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
	if (!err && opts)
		err = ktls_config_set_kernel_options(*cfg, opts);
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
	if (in->options != opts)
		die("kernel options %#x in effect, not %#x", in->options, opts);
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

static void send_sendfile(const struct bench *b, int file, size_t len)
{
	off_t off = 0;

	while ((size_t)off < len) {
		ssize_t n = sendfile(b->fd[1], file, &off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("sendfile at %lld: %s", (long long)off,
			    n ? strerror(errno) : "no progress");
	}
}

/*
 * P8's sender: the whole file as TLS 1.3 records of 16 KiB, encrypted
 * with gs's send keys into a memfd before the clock starts; *len gets
 * its size. Sent over plain TCP, they cost the sender no crypto.
 */
static int encrypt_records(const struct bench *b, gnutls_session_t gs,
			   size_t *len)
{
	static unsigned char pt[16384 + 1], rec[REC_HDR + REC_MAX_CT];
	gnutls_aead_cipher_hd_t aead;
	gnutls_datum_t key, iv;
	unsigned char seqb[8], nonce[NONCE_LEN];
	uint64_t seq = 0;
	size_t done = 0;
	int fd, i;

	if (gnutls_record_get_state(gs, 0, NULL, &iv, &key, seqb) < 0 ||
	    key.size != KEY_LEN || iv.size != NONCE_LEN ||
	    gnutls_aead_cipher_init(&aead, GNUTLS_CIPHER_AES_128_GCM, &key) < 0)
		die("GnuTLS gave no AES-128-GCM send key");
	for (i = 0; i < 8; i++)
		seq = seq << 8 | seqb[i];
	fd = memfd_create("bench-records", MFD_CLOEXEC);
	if (fd < 0)
		die("memfd_create: %s", strerror(errno));
	*len = 0;
	while (done < b->len) {
		size_t n = b->len - done < 16384 ? b->len - done : 16384;
		size_t ct = REC_MAX_CT;

		if (pread(b->file, pt, n, done) != (ssize_t)n)
			die("reading the data file: %s", strerror(errno));
		pt[n] = REC_DATA;	/* the inner content type */
		rec[0] = REC_DATA;
		rec[1] = rec[2] = 3;
		rec[3] = (n + REC_OVERHEAD) >> 8;
		rec[4] = (n + REC_OVERHEAD) & 0xff;
		memcpy(nonce, iv.data, NONCE_LEN);
		for (i = 0; i < 8; i++)
			nonce[NONCE_LEN - 8 + i] ^= (unsigned char)(seq >> (56 - 8 * i));
		if (gnutls_aead_cipher_encrypt(aead, nonce, NONCE_LEN, rec,
					       REC_HDR, 16, pt, n + 1,
					       rec + REC_HDR, &ct) < 0 ||
		    ct != n + REC_OVERHEAD)
			die("encrypting record %llu failed", (unsigned long long)seq);
		if (write_full(fd, rec, REC_HDR + ct) < 0)
			die("writing the records: %s", strerror(errno));
		*len += REC_HDR + ct;
		done += n;
		seq++;
	}
	gnutls_aead_cipher_deinit(aead);
	return fd;
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
	size_t ct_len = 0;
	int n, ct = -1;
	double cpu;
	char buf[64];

	side = "sender";
	close(b->fd[0]);
	close(b->report[0]);
	close(b->go[1]);
	if (b->split)
		pin_cpu(1);
	if (b->m == M_KTLS_SENDFILE)
		s = ktls_side(KTLS_SERVER, b->fd[1], &cfg, 0);
	else if (b->m != M_RAW_SENDFILE)
		gs = gnutls_side(GNUTLS_SERVER, b->fd[1], &cred);
	if (receive_measure(b->m)) {
		ct = encrypt_records(b, gs, &ct_len);
		if (write(b->report[1], "r", 1) != 1)	/* ready */
			die("telling the receiver: %s", strerror(errno));
	}
	if (read(b->go[0], buf, 1) != 1)
		die("no start signal from the receiver");
	cpu = cpu_seconds();
	if (ct >= 0)
		send_sendfile(b, ct, ct_len);
	else if (gs)
		send_gnutls(b, gs);
	else
		send_sendfile(b, b->file, b->len);
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
		rx_check_init(c, b->raw_key, b->raw_iv, 0, b->file, b->len);
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
	rx_check_init(c, key.data, iv.data, s, b->file, b->len);
	return gs;
}

/*
 * P8's receiver, timed: everything the sender encrypted, through kTLS RX
 * (s) or GnuTLS (gs); one read in CHECK_EVERY is compared with the file,
 * the first and the last too, and the lengths must add up.
 */
static void receive_timed(struct bench *b, struct ktls_session *s,
			  gnutls_session_t gs, double *secs, double *cpu)
{
	static unsigned char buf[BENCH_CHUNK];
	const unsigned char *want;
	unsigned long reads = 0;
	double t0, cpu0;
	size_t got = 0;
	char ready;

	want = mmap(NULL, b->len, PROT_READ, MAP_SHARED, b->file, 0);
	if (want == MAP_FAILED)
		die("mapping the data file: %s", strerror(errno));
	if (read(b->report[0], &ready, 1) != 1)
		die("the sender did not get ready (see above)");
	t0 = now();
	cpu0 = cpu_seconds();
	if (write(b->go[1], "g", 1) != 1)
		die("sending the start signal: %s", strerror(errno));
	while (got < b->len) {
		ssize_t n;

		if (s) {
			n = ktls_recv(s, buf, sizeof(buf), 0, NULL);
		} else {
			do
				n = gnutls_record_recv(gs, buf, sizeof(buf));
			while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
		}
		if (n <= 0 || (size_t)n > b->len - got)
			die("after %zu of %zu bytes: %s", got, b->len,
			    n > 0 ? "too much data" : !n ? "the sender closed" :
			    s ? strerror(-n) : gnutls_strerror(n));
		if ((reads++ % CHECK_EVERY == 0 || got + n == b->len) &&
		    memcmp(buf, want + got, n))
			die("the %zu bytes at offset %zu are not the file's", (size_t)n, got);
		got += n;
	}
	*secs = now() - t0;
	*cpu = cpu_seconds() - cpu0;
	munmap((void *)want, b->len);
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
	if (b->m == M_KTLS_RECV)
		s = ktls_side(KTLS_CLIENT, b->fd[0], &cfg,
			      b->no_pad ? KTLS_OPT_RX_NO_PAD : 0);
	else if (b->m == M_GNUTLS_RECV)
		gs = gnutls_side(GNUTLS_CLIENT, b->fd[0], &cred);
	if (receive_measure(b->m)) {
		receive_timed(b, s, gs, &t1, &cpu1);
		t0 = cpu0 = 0;
		goto done;
	}
	if (b->rx == RX_TCP)
		gs = rx_tcp_setup(b, &c, &cred);
	else if (b->m != M_RAW_SENDFILE)
		s = ktls_side(KTLS_CLIENT, b->fd[0], &cfg, 0);

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
done:
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
	       "records=%lu decrypted=%lu%s\n", measure_names[b->m],
	       b->len / (t1 - t0) / (1 << 20), t1 - t0, b->len, scpu,
	       cpu1 - cpu0, receive_measure(b->m) ? (s ? "ktls" : "gnutls") :
	       b->rx == RX_TCP ? "tcp" : "ktls",
	       b->split ? "split" : "shared", c.records, c.checked,
	       b->m != M_KTLS_RECV ? "" : b->no_pad ? " no_pad=1" : " no_pad=0");
	if (b->rx == RX_TCP && !receive_measure(b->m))
		rx_check_free(&c);
}

void data_run(enum measure m, const struct opts *o)
{
	struct bench b = { .m = m, .len = o->len };
	pid_t pid;
	int err;

	b.rx = strcmp(o->receiver, "ktls") ? RX_TCP : RX_KTLS;
	b.no_pad = o->no_pad;
	if (b.no_pad && m != M_KTLS_RECV)
		die("--no-pad is for ktls-recv");
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
