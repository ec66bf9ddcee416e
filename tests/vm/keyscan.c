// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The proof that private keys stay in the key process: after 100 handoff
 * handshakes with an ECDSA key and 100 with an RSA key, every readable
 * mapping of the handshake process (the one named "ktlsd-hs" if there is
 * one, else ktlsd itself) is read through /proc/PID/mem, and none of the
 * keys' secret numbers is in it: the EC scalar, the RSA primes, in either
 * byte order, nor the PEM text of the key files. The same scan of the key
 * process ("ktlsd-key") must find every one of the numbers, and so must
 * the scan of ktlsd when it loads keys as it did before the key process
 * (the benchmark's switch): the controls that show the scan finds what is
 * there. The numbers are taken from the key files with GnuTLS here, not
 * by the code under test.
 */
#include <dirent.h>

#include <gnutls/x509.h>

#include "handoff_util.h"
#include "duo.h"

#define HANDSHAKES	100
#define RSA_DIR		"/tmp/ktlsd-keyscan"
#define RSA_CERT	RSA_DIR "/rsa.pem"
#define RSA_KEY		RSA_DIR "/rsa.key"
#define SCAN_PROFILES	EC_RSA_PROFILES(RSA_DIR)

/* A secret number as the key file holds it, to look for. */
struct secret {
	const char *what;
	uint8_t be[512], le[512];	/* big- and little-endian */
	size_t len;
	long hits;
};

/* d's value without leading zero bytes, both ways round, into s. */
static void secret_set(struct secret *s, const char *what,
		       const gnutls_datum_t *d)
{
	size_t skip = 0, i;

	while (skip < d->size && !d->data[skip])
		skip++;
	s->what = what;
	s->len = d->size - skip;
	if (s->len > sizeof(s->be))
		s->len = 0;
	for (i = 0; i < s->len; i++) {
		s->be[i] = d->data[skip + i];
		s->le[s->len - 1 - i] = d->data[skip + i];
	}
}

static gnutls_x509_privkey_t read_key(const char *path)
{
	gnutls_x509_privkey_t k = NULL;
	gnutls_datum_t pem = { 0 };
	int ok;

	ok = gnutls_load_file(path, &pem) >= 0 &&
	     gnutls_x509_privkey_init(&k) >= 0 &&
	     gnutls_x509_privkey_import(k, &pem, GNUTLS_X509_FMT_PEM) >= 0;
	gnutls_free(pem.data);
	if (!ok && k) {
		gnutls_x509_privkey_deinit(k);
		k = NULL;
	}
	return k;
}

/* The EC scalar, then the RSA primes p and q: 3 secrets, or -1. */
static int read_secrets(struct secret *s)
{
	gnutls_datum_t x = { 0 }, y = { 0 }, k = { 0 }, m = { 0 }, e = { 0 },
		       d = { 0 }, p = { 0 }, q = { 0 }, u = { 0 };
	gnutls_x509_privkey_t ec = read_key(TEST_KEY), rsa = read_key(RSA_KEY);
	gnutls_ecc_curve_t curve;
	int ret = -1;

	if (ec && rsa &&
	    gnutls_x509_privkey_export_ecc_raw(ec, &curve, &x, &y, &k) >= 0 &&
	    gnutls_x509_privkey_export_rsa_raw(rsa, &m, &e, &d, &p, &q, &u) >= 0) {
		secret_set(&s[0], "the EC scalar", &k);
		secret_set(&s[1], "RSA prime p", &p);
		secret_set(&s[2], "RSA prime q", &q);
		ret = s[0].len >= 28 && s[1].len >= 100 && s[2].len >= 100 ? 3 : -1;
	}
	gnutls_free(x.data);
	gnutls_free(y.data);
	gnutls_free(k.data);
	gnutls_free(m.data);
	gnutls_free(e.data);
	gnutls_free(d.data);
	gnutls_free(p.data);
	gnutls_free(q.data);
	gnutls_free(u.data);
	if (ec)
		gnutls_x509_privkey_deinit(ec);
	if (rsa)
		gnutls_x509_privkey_deinit(rsa);
	return ret;
}

/* The first base64 line of a PEM file, as text to look for. */
static int pem_line(const char *path, struct secret *s, const char *what)
{
	char line[128];
	FILE *f = fopen(path, "re");
	int ok = 0;

	if (!f)
		return -1;
	/* certtool writes a description before the armour. */
	while (!ok && fgets(line, sizeof(line), f))
		ok = !strncmp(line, "-----BEGIN", 10);
	ok = ok && fgets(line, sizeof(line), f);
	fclose(f);
	if (!ok || strlen(line) < 40)
		return -1;
	s->what = what;
	s->len = strcspn(line, "\n");
	memcpy(s->be, line, s->len);
	memcpy(s->le, line, s->len);	/* text has one order */
	return 0;
}

/* ---- Reading a process ---- */

/* Count each secret in buf[0..len). */
static void count_in(struct secret *s, int n, const uint8_t *buf, size_t len)
{
	const uint8_t *p;
	size_t left;
	int i, order;

	for (i = 0; i < n; i++)
		for (order = 0; order < 2; order++)
			for (p = buf, left = len;
			     (p = memmem(p, left, order ? s[i].le : s[i].be,
					 s[i].len)); p++, left = len - (p - buf))
				s[i].hits++;
}

#define CHUNK	(1 << 20)
#define OVERLAP	511	/* a secret's length at most, less one */

/* Every readable mapping of pid: the bytes read, or -errno. */
static long long scan(pid_t pid, struct secret *s, int n)
{
	static uint8_t buf[CHUNK + OVERLAP];
	unsigned long long start, end, at;
	long long total = 0;
	char path[64], line[512], perms[8];
	FILE *maps;
	ssize_t got;
	size_t keep, have;
	int mem;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || mem < 0) {
		if (maps)
			fclose(maps);
		return -errno;
	}
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) != 3 ||
		    perms[0] != 'r' || strstr(line, "[vvar") ||
		    strstr(line, "[vsyscall]"))
			continue;
		keep = 0;
		for (at = start; at < end; at += got) {
			got = pread(mem, buf + keep, end - at < CHUNK ?
				    end - at : CHUNK, at);
			if (got <= 0)
				break;
			count_in(s, n, buf, keep + got);
			total += got;
			/*
			 * The last bytes again at the start of the next read:
			 * a number across two reads is seen (one inside them
			 * is counted twice; zero or not is what matters).
			 */
			have = keep + got;
			keep = have < OVERLAP ? have : OVERLAP;
			memmove(buf, buf + have - keep, keep);
		}
	}
	close(mem);
	fclose(maps);
	return total;
}

/* The newest process with this comm (and parent ppid, unless 0), or 0. */
static pid_t find_comm(const char *comm, pid_t ppid)
{
	char path[300], buf[64];
	struct dirent *e;
	pid_t best = 0, pid, parent;
	DIR *dir = opendir("/proc");
	FILE *f;

	while (dir && (e = readdir(dir))) {
		pid = atoi(e->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		/* "PID (COMM) S PPID": comm has no ')' here. */
		if (fscanf(f, "%*d (%63[^)]) %*c %d", buf, &parent) == 2 &&
		    !strcmp(buf, comm) && (!ppid || parent == ppid) &&
		    pid > best)
			best = pid;
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return best;
}

/* ---- The handshakes ---- */

FIXTURE(scan)
{
	struct daemon d;
	struct ktls_config *ec, *rsa;	/* clients trusting each server */
};

/*
 * key_process: ktlsd as it is. keys_in_process: the control for the
 * handshake process's scan, ktlsd with the benchmark's switch that loads
 * keys as before the key process: there the scan must find them.
 */
FIXTURE_VARIANT(scan)
{
	int in_process;
	int handshakes;
};

FIXTURE_VARIANT_ADD(scan, key_process) { .in_process = 0, .handshakes = 100 };
FIXTURE_VARIANT_ADD(scan, keys_in_process) { .in_process = 1, .handshakes = 5 };

FIXTURE_SETUP(scan)
{
	if (variant->in_process)
		setenv("KTLSD_BENCH_KEYS_IN_PROCESS", "1", 1);
	else
		unsetenv("KTLSD_BENCH_KEYS_IN_PROCESS");
	ASSERT_EQ(0, make_test_cert());
	ASSERT_EQ(0, make_rsa_cert(RSA_DIR));
	ASSERT_EQ(0, ktls_config_new(&self->ec, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->ec, TEST_CERT));
	ASSERT_EQ(0, ktls_config_new(&self->rsa, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->rsa, RSA_CERT));
	daemon_start(_metadata, &self->d, SCAN_PROFILES, 64);
}

FIXTURE_TEARDOWN(scan)
{
	daemon_stop(_metadata, &self->d);
	ktls_config_free(self->ec);
	ktls_config_free(self->rsa);
	run_shell("rm -rf " RSA_DIR);
}

/* One handoff to profile, a libktls client at the far end: its status. */
static int one_handshake(struct __test_metadata *_metadata,
			 const struct daemon *d, const char *profile,
			 struct ktls_config *ccfg)
{
	struct duo_client cl = { 0 };
	struct conn c = { 0 };
	pthread_t th;
	int status;

	conn_pair(_metadata, &c);
	set_rcvtimeo(c.peer, 10000);
	cl.fd = c.peer;
	if (ktls_session_new(&cl.s, ccfg, c.peer) ||
	    ktls_session_set_server_name(cl.s, "localhost") ||
	    pthread_create(&th, NULL, duo_client_main, &cl)) {
		ktls_session_free(cl.s);
		conn_close(&c);
		return -ENOMEM;
	}
	status = conn_handoff(d, &c, profile, NULL, NULL, 0);
	if (status)
		shutdown(c.peer, SHUT_RDWR);
	pthread_join(th, NULL);
	if (!status && cl.ret != OK_STATUS)
		status = cl.ret;
	if (status)
		TH_LOG("%s: %s / %s", profile, c.msg, ktls_session_error(cl.s));
	ktls_session_free(cl.s);
	conn_close(&c);
	return status;
}

static void report(struct __test_metadata *_metadata, const char *who,
		   pid_t pid, long long bytes, const struct secret *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		TH_LOG("%s (pid %d, %lld KiB read): %s: %ld", who, (int)pid,
		       bytes >> 10, s[i].what, s[i].hits);
}

/* Each secret of s[0..n) found (want 1) or not (want 0): how many are not. */
static int unlike(struct __test_metadata *_metadata, const struct secret *s,
		  int n, int want, const char *where)
{
	int i, bad = 0;

	for (i = 0; i < n; i++)
		if (!!s[i].hits != want) {
			TH_LOG("%s %s in %s", s[i].what, want ? "is not" : "is",
			       where);
			bad++;
		}
	return bad;
}

TEST_F_TIMEOUT(scan, private_keys_only_in_the_key_process, 900)
{
	struct secret hs[5] = { 0 }, key[3] = { 0 };
	pid_t hs_pid, key_pid;
	long long bytes;
	int i;

	ASSERT_EQ(3, read_secrets(hs));
	memcpy(key, hs, sizeof(key));
	ASSERT_EQ(0, pem_line(TEST_KEY, &hs[3], "the EC key file's text"));
	ASSERT_EQ(0, pem_line(RSA_KEY, &hs[4], "the RSA key file's text"));
	for (i = 0; i < variant->handshakes; i++) {
		ASSERT_EQ(OK_STATUS, one_handshake(_metadata, &self->d, "ec",
						   self->ec)) TH_LOG("#%d", i);
		ASSERT_EQ(OK_STATUS, one_handshake(_metadata, &self->d, "rsa",
						   self->rsa)) TH_LOG("#%d", i);
	}
	hs_pid = find_comm("ktlsd-hs", 0);
	if (!hs_pid)
		hs_pid = self->d.pid;
	bytes = scan(hs_pid, hs, 5);
	ASSERT_LT(0, bytes) TH_LOG("reading pid %d: %s", (int)hs_pid,
				   strerror(-bytes));
	report(_metadata, "handshake process", hs_pid, bytes, hs, 5);
	if (variant->in_process) {
		/* The numbers, not the text: GnuTLS may have freed that. */
		EXPECT_EQ(0, unlike(_metadata, hs, 3, 1, "ktlsd: the scan "
				    "misses keys where they are"));
		return;
	}
	EXPECT_EQ(0, unlike(_metadata, hs, 5, 0, "the handshake process"));

	key_pid = find_comm("ktlsd-key", self->d.pid);
	if (!key_pid)
		key_pid = find_comm("ktlsd-key", 0);
	ASSERT_NE(0, key_pid) TH_LOG("no process named ktlsd-key");
	bytes = scan(key_pid, key, 3);
	ASSERT_LT(0, bytes) TH_LOG("reading pid %d: %s", (int)key_pid,
				   strerror(-bytes));
	report(_metadata, "key process", key_pid, bytes, key, 3);
	EXPECT_EQ(0, unlike(_metadata, key, 3, 1, "the key process: the "
			    "scan misses"));
}

/* ---- A key on a PKCS#11 token (SoftHSM) ---- */

#define P11_DIR		"/tmp/ktlsd-keyscan-p11"
#define P11_PIN		"1234"
#define P11_URL		"pkcs11:token=ktlsd-vm;object=k;type=private"
#define P11_CERT	P11_DIR "/cert.pem"
#define P11_KEYFILE	P11_DIR "/k.pem"
#define P11_HANDSHAKES	20

#define P11_PROFILES							\
	"[profile token]\n"						\
	"role = server\n"						\
	"certificate = " P11_CERT "\n"					\
	"key = " P11_URL ";pin-value=" P11_PIN "\n"			\
	"\n"								\
	"[profile file]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"

/*
 * A SoftHSM token holding an EC key, written to it (sensitive, not
 * extractable) from a file that stays here only so that the test knows
 * the scalar to look for; the certificate is made by signing with the
 * token's key. SOFTHSM2_CONF goes to ktlsd through the environment.
 */
static int make_token(void)
{
	setenv("SOFTHSM2_CONF", P11_DIR "/softhsm2.conf", 1);
	return run_shell("(set -e; rm -rf " P11_DIR "; mkdir -p " P11_DIR
			 "/tokens; cd " P11_DIR ";"
			 "printf 'directories.tokendir = " P11_DIR "/tokens\\n"
			 "objectstore.backend = file\\nlog.level = ERROR\\n'"
			 " >softhsm2.conf;"
			 "softhsm2-util --init-token --free --label ktlsd-vm"
			 " --pin " P11_PIN " --so-pin 5678;"
			 "export GNUTLS_PIN=" P11_PIN ";"
			 "certtool -p --key-type ecdsa --curve secp256r1"
			 " --outfile k.pem;"
			 "p11tool --login --write --load-privkey k.pem --label k"
			 " --mark-sign pkcs11:token=ktlsd-vm;"
			 "printf 'cn=localhost\\ndns_name=localhost\\n"
			 "ip_address=127.0.0.1\\nexpiration_days=2\\n"
			 "tls_www_server\\nsigning_key\\n' >tmpl;"
			 "certtool --load-privkey k.pem --pubkey-info"
			 " --outfile pub.pem;"
			 "certtool -s --load-privkey '" P11_URL "' --load-pubkey"
			 " pub.pem --template tmpl --outfile cert.pem)"
			 " >" P11_DIR ".log 2>&1") ?
			 -1 : 0;
}

/* The EC scalar of the key file at path into s: 0 or -1. */
static int ec_scalar(const char *path, struct secret *s, const char *what)
{
	gnutls_datum_t x = { 0 }, y = { 0 }, k = { 0 };
	gnutls_x509_privkey_t key = read_key(path);
	gnutls_ecc_curve_t curve;
	int ret = -1;

	if (key && gnutls_x509_privkey_export_ecc_raw(key, &curve, &x, &y,
						      &k) >= 0) {
		secret_set(s, what, &k);
		ret = s->len >= 28 ? 0 : -1;
	}
	gnutls_free(x.data);
	gnutls_free(y.data);
	gnutls_free(k.data);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return ret;
}

FIXTURE(p11)
{
	struct daemon d;
	struct ktls_config *tok, *file;	/* clients trusting each server */
};

FIXTURE_SETUP(p11)
{
	unsetenv("KTLSD_BENCH_KEYS_IN_PROCESS");
	if (run_shell("command -v softhsm2-util p11tool >/dev/null"))
		SKIP(return, "softhsm2 and gnutls-bin are not installed");
	ASSERT_EQ(0, make_test_cert());
	ASSERT_EQ(0, make_token()) TH_LOG("see " P11_DIR ".log");
	ASSERT_EQ(0, ktls_config_new(&self->tok, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->tok, P11_CERT));
	ASSERT_EQ(0, ktls_config_new(&self->file, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->file, TEST_CERT));
	daemon_start(_metadata, &self->d, P11_PROFILES, 64);
}

FIXTURE_TEARDOWN(p11)
{
	if (self->d.pid)
		daemon_stop(_metadata, &self->d);
	ktls_config_free(self->tok);
	ktls_config_free(self->file);
	run_shell("rm -rf " P11_DIR " " P11_DIR ".log");
}

/* The token's object: sensitive, not extractable (p11tool's flags). */
TEST_F(p11, token_key_is_sensitive_and_not_extractable)
{
	char flags[512] = "";
	FILE *f;

	RETURN_IF_SKIPPED();
	f = popen("GNUTLS_PIN=" P11_PIN " p11tool --login --list-all-privkeys "
		  "pkcs11:token=ktlsd-vm 2>/dev/null | grep 'Flags:'", "r");
	ASSERT_NE(NULL, f);
	if (!fgets(flags, sizeof(flags), f))
		flags[0] = 0;
	pclose(f);
	ASSERT_NE(NULL, strstr(flags, "CKA_SENSITIVE;")) TH_LOG("%s", flags);
	ASSERT_EQ(NULL, strstr(flags, "CKA_EXTRACTABLE")) TH_LOG("%s", flags);
}

/*
 * Handoff handshakes under privilege separation with the token's key and,
 * as the control, a key file's: each verifies against its certificate and
 * both ends install kTLS. Then the memory scans: the handshake process
 * holds neither scalar; the key process holds the file's (the scan finds
 * a key where it is) and not the token's, whose module (libsofthsm2) only
 * the key process maps.
 */
TEST_F_TIMEOUT(p11, handshakes_sign_on_the_token, 600)
{
	struct secret hs[2] = { 0 }, key[2] = { 0 };
	long long tx0 = tls_stat("TlsTxSw"), bytes;
	int64_t t0 = ms_now();
	pid_t hs_pid, key_pid;
	int i;

	RETURN_IF_SKIPPED();
	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	ASSERT_EQ(0, ec_scalar(P11_KEYFILE, &hs[0], "the token key's scalar"));
	ASSERT_EQ(0, ec_scalar(TEST_KEY, &hs[1], "the key file's scalar"));
	memcpy(key, hs, sizeof(key));
	for (i = 0; i < P11_HANDSHAKES; i++) {
		ASSERT_EQ(0, one_handshake(_metadata, &self->d, "token",
					   self->tok)) TH_LOG("#%d", i);
		ASSERT_EQ(0, one_handshake(_metadata, &self->d, "file",
					   self->file)) TH_LOG("#%d", i);
	}
	TH_LOG("%d handshakes with the token's key and %d with the file's in "
	       "%lld ms", P11_HANDSHAKES, P11_HANDSHAKES,
	       (long long)(ms_now() - t0));
	/* Both ends of each connection: kTLS transmit keys installed. */
	ASSERT_LE(tx0 + 4 * P11_HANDSHAKES, tls_stat("TlsTxSw"));
	EXPECT_EQ(P11_HANDSHAKES, log_count(&self->d, " profile token uid "))
		TH_LOG("%s", log_tail(&self->d));

	hs_pid = find_comm("ktlsd-hs", self->d.pid);
	key_pid = find_comm("ktlsd-key", self->d.pid);
	ASSERT_NE(0, hs_pid);
	ASSERT_NE(0, key_pid);
	bytes = scan(hs_pid, hs, 2);
	ASSERT_LT(0, bytes);
	report(_metadata, "handshake process", hs_pid, bytes, hs, 2);
	EXPECT_EQ(0, unlike(_metadata, hs, 2, 0, "the handshake process"));
	bytes = scan(key_pid, key, 2);
	ASSERT_LT(0, bytes);
	report(_metadata, "key process", key_pid, bytes, key, 2);
	EXPECT_EQ(0, unlike(_metadata, &key[0], 1, 0, "the key process"));
	EXPECT_EQ(0, unlike(_metadata, &key[1], 1, 1, "the key process: the "
			    "scan misses"));
	EXPECT_EQ(1, proc_maps_have(key_pid, "libsofthsm2"));
	EXPECT_EQ(0, proc_maps_have(hs_pid, "libsofthsm2"));
	EXPECT_EQ(0, proc_maps_have(self->d.pid, "libsofthsm2"));
}

TEST_HARNESS_MAIN
