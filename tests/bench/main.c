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
 * Receive path (P8): the same pair, but what is timed is the receiver, the
 * client: the server encrypts the records beforehand (with the keys of
 * its GnuTLS handshake, not timed) and sends them with sendfile() over
 * plain TCP, so that only the client decrypts while the clock runs.
 *   ktls-recv      libktls client: kTLS RX and recvmsg(); --no-pad sets
 *                  TLS_RX_EXPECT_NO_PAD (the run fails if the kernel does
 *                  not take it)
 *   gnutls-recv    GnuTLS client in userspace: gnutls_record_recv()
 *   options: --size, --cpus as above
 *
 * Handshakes (P1): TLS 1.3, X25519, one certificate (--cert ec: ECDSA
 * P-256, --cert rsa: RSA-2048), the same GnuTLS client code on both sides.
 * hs-handoff and mem-churn also take --cert psk (an external PSK, psk_ke:
 * no certificate, no key share) and psk-dhe (the PSK with X25519).
 *   hs-handoff     build/ktlsd with --workers N runs the server side: loopback
 *                  TCP pairs, the accepted end handed over with
 *                  ktls_handoff_submit(), --clients concurrent handshakes
 *   hs-accept      the same server side in accept mode: ktlsd listens (a
 *                  profile with listen =), one client thread dials it and
 *                  subscribes with ktls_handoff_subscribe(); a handshake
 *                  counts once its socket is delivered and the client is done
 *   hs-floor       GnuTLS client and server in one process over socketpairs,
 *                  --workers threads, one handshake at a time each (--tcp:
 *                  over loopback TCP pairs instead, to tell costs apart)
 *   options: --dir WORK (certificates {ec,rsa}.{pem,key}; sockets and logs
 *   go there), --cert, --workers, --clients (64), --seconds (counted),
 *   --warmup (seconds before counting)
 *
 * HTTPS (P2): --server ktls (examples/ktls-fileserver and build/ktlsd),
 * ktls-accept (the same in accept mode: ktlsd listens, the file server
 * subscribes) or --server nginx (with kTLS), all serving WORK/www; the same GnuTLS load
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
 *
 * Files: this one parses the options and runs the measure; one file per
 * row family, handshakes.c (P1), http.c (P2), datapath.c (P4, P5, P8; its
 * receiver's record check in recordcheck.c), footprint.c (P6, P7);
 * spawn.c starts ktlsd, the file server and nginx; client.c and util.c
 * hold what the measures share; bench.h declares it all.
 */
#include <signal.h>

#include "bench.h"

#define BENCH_MAX_MIB	4096u
#define BENCH_TIMEOUT_S	1200		/* nothing here may hang a CI job */
#define MAX_SLOTS	4096		/* concurrent clients per thread */

const char *const measure_names[M_COUNT] = {
	[M_KTLS_SENDFILE] = "ktls-sendfile",
	[M_GNUTLS_SEND] = "gnutls-send",
	[M_RAW_SENDFILE] = "raw-sendfile",
	[M_KTLS_RECV] = "ktls-recv",
	[M_GNUTLS_RECV] = "gnutls-recv",
	[M_HS_HANDOFF] = "hs-handoff",
	[M_HS_FLOOR] = "hs-floor",
	[M_HTTP_GET] = "http-get",
	[M_MEM_INFLIGHT] = "mem-inflight",
	[M_MEM_CHURN] = "mem-churn",
	[M_HS_ACCEPT] = "hs-accept",
	[M_HS_RESUMED] = "hs-resumed",
	[M_HS_FULL] = "hs-full",
};

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
		"       bench ktls-recv|gnutls-recv [--size MIB] [--no-pad] "
		"[--cpus split|shared]\n"
		"       bench hs-handoff|hs-accept|hs-floor --dir WORK --cert ec|rsa|psk|psk-dhe "
		"[--keys-in-process] "
		"[--workers N] [--clients N]\n"
		"             [--seconds S] [--warmup S] [--tcp] [--keyproc [--alternate N [--control]]]\n"
		"             (these: floor only; --alternate: blocks of N handshakes with the\n"
		"             key in the key process and in memory take turns, both reported;\n"
		"             --control: both in the key process, the ratio must be 1)\n"
		"       bench http-get --dir WORK --server ktls|ktls-accept|nginx --file 1m|1k "
		"[--close] [--workers N]\n"
		"             [--clients N] [--seconds S] [--warmup S]\n"
		"       bench hs-resumed|hs-full --dir WORK --cert ec|rsa "
		"[--workers N] [--clients N]\n"
		"             [--seconds S] [--warmup S]\n"
		"       bench mem-inflight --dir WORK --counts N,N,...\n"
		"       bench mem-churn --dir WORK --first N --max N --budget S "
		"[--clients N]\n"
		"             [--cert ec|rsa|psk|psk-dhe]\n"
		"(see the top of tests/bench/main.c)\n");
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
		if (!strcmp(k, "--no-pad") || !strcmp(k, "--keyproc")) {
			*(k[2] == 'n' ? &o->no_pad : &o->keyproc) = 1;
			continue;
		}
		/* --alternate's A/A control: both halves sign alike. */
		if (!strcmp(k, "--control")) {
			o->control = 1;
			continue;
		}
		/* P1k's B: ktlsd as before its key process (it says so loudly). */
		if (!strcmp(k, "--keys-in-process")) {
			setenv("KTLSD_BENCH_KEYS_IN_PROCESS", "1", 1);
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
		else if (!strcmp(k, "--alternate"))
			o->alternate = num(k, v, 1, 100000);
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
	case M_KTLS_RECV:
	case M_GNUTLS_RECV:
		data_run(i, &o);
		break;
	case M_HS_HANDOFF:
		hs_handoff(&o);
		break;
	case M_HS_FLOOR:
		hs_floor(&o);
		break;
	case M_HS_ACCEPT:
		hs_accept(&o);
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
	case M_HS_RESUMED:
	case M_HS_FULL:
		hs_client(&o, i == M_HS_RESUMED);
		break;
	case M_COUNT:
		break;
	}
	return 0;
}
