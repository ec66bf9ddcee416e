// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daemon/ktlsd/config.c on the host: every field of a full file, the defaults,
 * one test per way a file can be wrong (each must name the file and line
 * and say what is wrong), who may use a profile, lookups and references.
 * The built ktls_config is checked through lib/internal.h: a value parsed
 * but never handed to libktls would otherwise pass unnoticed.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "kselftest_harness.h"
#include "internal.h"
#include "ktlsd.h"
#include "peers.h"
#include "upcall.h"

/* ---- Files every test shares, made once by the parent process ---- */

static struct {
	char dir[40];
	char crl[80];			/* an empty CRL issued by TEST_CERT */
	char other[80], other_key[80];	/* a second certificate and key */
	char tk[80], tk_open[80], tk_short[80];	/* ticket key files */
	pid_t owner;
	int ok;
} env;

static void env_remove(void)
{
	char cmd[80];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", env.dir);
	if (getpid() == env.owner && system(cmd))
		fprintf(stderr, "# could not remove %s\n", env.dir);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) ? -1 : 0;
}

static void __attribute__((constructor)) env_make(void)
{
	char tmpl[80];

	strcpy(env.dir, "/tmp/ktlsd-config-XXXXXX");
	if (!mkdtemp(env.dir))
		return;
	env.owner = getpid();
	atexit(env_remove);
	snprintf(env.crl, sizeof(env.crl), "%s/crl.pem", env.dir);
	snprintf(env.other, sizeof(env.other), "%s/other.pem", env.dir);
	snprintf(env.other_key, sizeof(env.other_key), "%s/other.key", env.dir);
	snprintf(tmpl, sizeof(tmpl), "%s/crl.tmpl", env.dir);
	snprintf(env.tk, sizeof(env.tk), "%s/tk", env.dir);
	snprintf(env.tk_open, sizeof(env.tk_open), "%s/tk-open", env.dir);
	snprintf(env.tk_short, sizeof(env.tk_short), "%s/tk-short", env.dir);
	env.ok = !make_test_cert() &&
		 !run("printf 'crl_next_update = 2\\ncrl_number = 1\\n' >%s", tmpl) &&
		 !run("certtool --generate-crl --load-ca-privkey %s"
		      " --load-ca-certificate %s --template %s --outfile %s"
		      " >/dev/null 2>&1", TEST_KEY, TEST_CERT, tmpl, env.crl) &&
		 !run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
		      " -nodes -days 2 -subj /CN=other -keyout %s -out %s"
		      " >/dev/null 2>&1", env.other_key, env.other) &&
		 !run("head -c 128 /dev/urandom >%s && chmod 600 %s", env.tk,
		      env.tk) &&
		 !run("head -c 64 /dev/urandom >%s && chmod 644 %s",
		      env.tk_open, env.tk_open) &&
		 !run("head -c 63 /dev/urandom >%s && chmod 600 %s",
		      env.tk_short, env.tk_short);
}

/*
 * Config text with placeholders: @CERT@ @KEY@ (tests/peers.h's pair),
 * @OTHER@ @OTHER_KEY@, @CRL@, @DIR@ (the scratch directory) and @LONG@
 * (300 letters, longer than inih's line buffer).
 */
static int expand(const char *in, char *out, size_t cap)
{
	static char lng[301];
	const struct { const char *tag, *text; } subst[] = {
		{ "@CERT@", TEST_CERT }, { "@KEY@", TEST_KEY },
		{ "@OTHER@", env.other }, { "@OTHER_KEY@", env.other_key },
		{ "@CRL@", env.crl }, { "@DIR@", env.dir }, { "@LONG@", lng },
		{ "@TK@", env.tk }, { "@TK_OPEN@", env.tk_open },
		{ "@TK_SHORT@", env.tk_short },
	};
	size_t n = 0, i;

	memset(lng, 'x', sizeof(lng) - 1);
	while (*in) {
		for (i = 0; i < sizeof(subst) / sizeof(subst[0]); i++)
			if (!strncmp(in, subst[i].tag, strlen(subst[i].tag)))
				break;
		if (i < sizeof(subst) / sizeof(subst[0])) {
			n += snprintf(out + n, cap - n, "%s", subst[i].text);
			in += strlen(subst[i].tag);
		} else if (n < cap) {
			out[n++] = *in++;
		}
		if (n >= cap)
			return -1;
	}
	out[n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *text)
{
	char buf[8192];
	FILE *f;

	if (expand(text, buf, sizeof(buf)))
		return -1;
	f = fopen(path, "we");
	if (!f)
		return -1;
	if (fputs(buf, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

FIXTURE(conf)
{
	struct conf *c;
	char path[96];
	char err[512];
};

FIXTURE_SETUP(conf)
{
	ASSERT_TRUE(env.ok) TH_LOG("could not make test certificates");
	/* Each test runs in its own process: the pid keeps files apart. */
	snprintf(self->path, sizeof(self->path), "%s/t%d.conf", env.dir, getpid());
}

FIXTURE_TEARDOWN(conf)
{
	conf_put(self->c);
	unlink(self->path);
}

/* Write the file and load it into self->c; conf_load()'s return. */
static int load(FIXTURE_DATA(conf) *self, const char *text)
{
	if (write_file(self->path, text)) {
		snprintf(self->err, sizeof(self->err), "cannot write %s", self->path);
		return -EIO;
	}
	return conf_load(self->path, &self->c, self->err, sizeof(self->err));
}

/* Each text refused, with an error that says want. */
struct refusal {
	const char *text, *want;
};

static void expect_refusals(struct __test_metadata *_metadata,
			    FIXTURE_DATA(conf) *self,
			    const struct refusal *bad, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		EXPECT_EQ(-EINVAL, load(self, bad[i].text)) TH_LOG("case %zu", i);
		EXPECT_NE(NULL, strstr(self->err, bad[i].want))
			TH_LOG("case %zu: '%s', not '%s'", i, self->err,
			       bad[i].want);
		conf_put(self->c);
		self->c = NULL;
	}
}

#define ASSERT_LOADS(text) do {						\
	int __r = load(self, text);					\
	ASSERT_EQ(0, __r) TH_LOG("%s", self->err);			\
	ASSERT_NE(NULL, self->c);					\
} while (0)

static const struct profile *profile(const struct conf *c, const char *name)
{
	return conf_profile(c, name, strlen(name));
}

/* ---- Files that load ---- */

static const char full_text[] =
	"# ktlsd's test configuration\n"
	"[ktlsd]\n"
	"socket = @DIR@/h.sock\n"
	"socket_mode = 0640 ; octal\n"
	"socket_group = 123\n"
	"workers = 3\n"
	"max_inflight = 77\n"
	"log = stderr\n"
	"log_level = debug\n"
	"\n"
	"[profile web]\n"
	"role = server\n"
	"certificate = @CERT@\n"
	"key = @KEY@\n"
	"certificate = @OTHER@\n"
	"key = @OTHER_KEY@\n"
	"ca = @CERT@\n"
	"crl = @CRL@\n"
	"client_certificate = require\n"
	"alpn = h2, http/1.1\n"
	"versions = 1.3\n"
	"ciphers = aes-256-gcm,chacha20-poly1305\n"
	"handshake_timeout = 2500\n"
	"allow_users = root 1000, nobody\n"
	"allow_groups = nogroup,4242\n"
	"\n"
	"[profile outbound]\n"
	"role = client\n"
	"ca = @OTHER@\n"
	"server_name = backend.example\n"
	"allow_override = sni alpn\n"
	"versions = 1.2\n"
	"verify = yes\n"
	"\n"
	"[profile psk.only_1]\n"
	"role = server\n"
	"psk_identity = id1\n"
	"psk_key = 00112233445566778899AaBbCcDdEeFf\n"
	"client_certificate = request\n"
	"ca = @OTHER@\n";

TEST_F(conf, full_file_daemon)
{
	ASSERT_LOADS(full_text);
	ASSERT_STREQ(self->path, self->c->path);
	ASSERT_NE((char *)self->path, self->c->path);
	ASSERT_EQ(1, atomic_load(&self->c->refs));
	ASSERT_NE(NULL, strstr(self->c->socket_path, "/h.sock"));
	ASSERT_EQ(0, strncmp(self->c->socket_path, env.dir, strlen(env.dir)));
	ASSERT_EQ(0640u, self->c->socket_mode);
	ASSERT_EQ(123u, self->c->socket_gid);
	ASSERT_EQ(3u, self->c->workers);
	ASSERT_EQ(77u, self->c->max_inflight);
	ASSERT_EQ(0, self->c->log_syslog);
	ASSERT_EQ(LOG_DEBUG, self->c->log_level);
	ASSERT_EQ(3u, self->c->n_profiles);
}

TEST_F(conf, full_file_server)
{
	const struct profile *p;
	struct passwd *nobody = getpwnam("nobody");
	struct group *nogroup = getgrnam("nogroup");

	ASSERT_NE(NULL, nobody);
	ASSERT_NE(NULL, nogroup);
	ASSERT_LOADS(full_text);
	p = profile(self->c, "web");
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("web", p->name);
	ASSERT_EQ(KTLS_SERVER, (int)p->role);
	ASSERT_NULL(p->server_name);
	ASSERT_EQ(2500u, p->timeout_ms);
	ASSERT_EQ(0u, p->overrides);
	ASSERT_EQ(3u, p->n_uids);
	ASSERT_EQ(0u, p->uids[0]);
	ASSERT_EQ(1000u, p->uids[1]);
	ASSERT_EQ(nobody->pw_uid, p->uids[2]);
	ASSERT_EQ(2u, p->n_gids);
	ASSERT_EQ(nogroup->gr_gid, p->gids[0]);
	ASSERT_EQ(4242u, p->gids[1]);

	ASSERT_NE(NULL, p->cfg);
	ASSERT_EQ(KTLS_SERVER, (int)p->cfg->role);
	ASSERT_TRUE(p->cfg->have_cert);
	ASSERT_TRUE(p->cfg->have_trust);
	ASSERT_EQ(KTLS_VERIFY_REQUIRE_CLIENT, p->cfg->verify);
	ASSERT_EQ(2u, p->cfg->n_alpn);
	ASSERT_EQ(2u, p->cfg->alpn[0].size);
	ASSERT_EQ(0, memcmp("h2", p->cfg->alpn[0].data, 2));
	ASSERT_EQ(8u, p->cfg->alpn[1].size);
	ASSERT_EQ(0, memcmp("http/1.1", p->cfg->alpn[1].data, 8));
	ASSERT_EQ(KTLS_TLS13, p->cfg->vmin);
	ASSERT_EQ(KTLS_TLS13, p->cfg->vmax);
	ASSERT_EQ(KTLS_CIPHER_AES_256_GCM | KTLS_CIPHER_CHACHA20_POLY1305,
		  p->cfg->ciphers);
	ASSERT_EQ(2500u, p->cfg->timeout_ms);
	ASSERT_NULL(p->cfg->psk_identity);
}

TEST_F(conf, full_file_client_and_psk)
{
	static const unsigned char key[16] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	};
	const struct profile *p;

	ASSERT_LOADS(full_text);
	p = profile(self->c, "outbound");
	ASSERT_NE(NULL, p);
	ASSERT_EQ(KTLS_CLIENT, (int)p->role);
	ASSERT_STREQ("backend.example", p->server_name);
	ASSERT_EQ(OVERRIDE_SNI | OVERRIDE_ALPN, p->overrides);
	ASSERT_EQ(10000u, p->timeout_ms);
	ASSERT_EQ(0u, p->n_uids);
	ASSERT_EQ(0u, p->n_gids);
	ASSERT_EQ(KTLS_CLIENT, (int)p->cfg->role);
	ASSERT_EQ(0u, p->cfg->verify);
	ASSERT_TRUE(p->cfg->have_trust);
	ASSERT_FALSE(p->cfg->have_cert);
	ASSERT_EQ(KTLS_TLS12, p->cfg->vmin);
	ASSERT_EQ(KTLS_TLS12, p->cfg->vmax);
	ASSERT_EQ(KTLS_CIPHER_ALL, p->cfg->ciphers);

	p = profile(self->c, "psk.only_1");
	ASSERT_NE(NULL, p);
	ASSERT_EQ(KTLS_SERVER, (int)p->role);
	ASSERT_FALSE(p->cfg->have_cert);
	ASSERT_EQ(KTLS_VERIFY_REQUEST_CLIENT, p->cfg->verify);
	ASSERT_STREQ("id1", p->cfg->psk_identity);
	ASSERT_EQ(sizeof(key), p->cfg->psk_key.size);
	ASSERT_EQ(0, memcmp(key, p->cfg->psk_key.data, sizeof(key)));
}

TEST_F(conf, defaults)
{
	const struct profile *p;

	/* No [ktlsd] at all: every daemon setting has its default. */
	ASSERT_LOADS("[profile p]\nrole = client\nverify = no\n");
	ASSERT_STREQ(KTLS_HANDOFF_SOCKET, self->c->socket_path);
	ASSERT_EQ(0660u, self->c->socket_mode);
	ASSERT_EQ((gid_t)-1, self->c->socket_gid);
	ASSERT_EQ(0u, self->c->workers);
	ASSERT_EQ(1024u, self->c->max_inflight);
	ASSERT_EQ(1, self->c->log_syslog);
	ASSERT_EQ(LOG_INFO, self->c->log_level);
	ASSERT_EQ(1u, self->c->n_profiles);
	p = &self->c->profiles[0];
	ASSERT_STREQ("p", p->name);
	ASSERT_EQ(KTLS_CLIENT, (int)p->role);
	ASSERT_NULL(p->server_name);
	ASSERT_EQ(10000u, p->timeout_ms);
	ASSERT_EQ(0u, p->overrides);
	ASSERT_EQ(0u, p->n_uids);
	ASSERT_EQ(0u, p->n_gids);
	ASSERT_EQ(KTLS_VERIFY_NONE, p->cfg->verify);
	ASSERT_FALSE(p->cfg->have_trust);	/* verify = no: none loaded */
	ASSERT_EQ(KTLS_TLS12, p->cfg->vmin);
	ASSERT_EQ(KTLS_TLS13, p->cfg->vmax);
	ASSERT_EQ(0u, p->cfg->n_alpn);
}

/* prefer_nic_offload: a second configuration, TLS 1.2 with AES-GCM only. */
TEST_F(conf, prefer_nic_offload_builds_tls12_gcm)
{
	const struct profile *p;

	ASSERT_LOADS("[profile p]\nrole = client\nverify = no\n"
		     "ciphers = aes-256-gcm chacha20-poly1305\n"
		     "prefer_nic_offload = yes\n");
	p = profile(self->c, "p");
	ASSERT_NE(NULL, p->nic_cfg);
	EXPECT_EQ(KTLS_TLS12, p->nic_cfg->vmin);
	EXPECT_EQ(KTLS_TLS12, p->nic_cfg->vmax);
	EXPECT_EQ(KTLS_CIPHER_AES_256_GCM, p->nic_cfg->ciphers);
	EXPECT_EQ(KTLS_VERIFY_NONE, p->nic_cfg->verify);
	/* The normal configuration keeps both versions and ciphers. */
	EXPECT_EQ(KTLS_TLS13, p->cfg->vmax);
	EXPECT_EQ(KTLS_CIPHER_AES_256_GCM | KTLS_CIPHER_CHACHA20_POLY1305,
		  p->cfg->ciphers);
}

TEST_F(conf, prefer_nic_offload_default_no)
{
	ASSERT_LOADS("[profile p]\nrole = client\nverify = no\n");
	EXPECT_NULL(profile(self->c, "p")->nic_cfg);
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS("[profile q]\nrole = client\nverify = no\n"
		     "prefer_nic_offload = no\n");
	EXPECT_NULL(profile(self->c, "q")->nic_cfg);
}

TEST_F(conf, prefer_nic_offload_refusals)
{
	ASSERT_EQ(-EINVAL, load(self, "[profile p]\nrole = client\n"
				"verify = no\nversions = 1.3\n"
				"prefer_nic_offload = yes\n"));
	EXPECT_NE(NULL, strstr(self->err, ".conf:5: prefer_nic_offload needs "
			       "TLS 1.2")) TH_LOG("%s", self->err);
	ASSERT_EQ(-EINVAL, load(self, "[profile p]\nrole = client\n"
				"verify = no\nprefer_nic_offload = yes\n"
				"ciphers = chacha20-poly1305\n"));
	EXPECT_NE(NULL, strstr(self->err, ".conf:4: prefer_nic_offload needs "
			       "aes-128-gcm")) TH_LOG("%s", self->err);
	ASSERT_EQ(-EINVAL, load(self, "[profile p]\nrole = client\n"
				"verify = no\nprefer_nic_offload = maybe\n"));
	EXPECT_NE(NULL, strstr(self->err, ".conf:4: prefer_nic_offload"))
		TH_LOG("%s", self->err);
}

/* ---- Client resumption: resumption and resumption_cache ---- */

#define CLI "[profile c]\nrole = client\nverify = no\n"

TEST_F(conf, resumption_keys)
{
	const struct profile *p;

	ASSERT_LOADS(CLI "resumption = yes\nresumption_cache = 65536\n");
	p = profile(self->c, "c");
	EXPECT_EQ(1, p->resumption);
	EXPECT_EQ(65536u, p->resumption_cache);
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS(CLI);
	EXPECT_EQ(0, profile(self->c, "c")->resumption) TH_LOG("on by default");
	EXPECT_EQ(0u, profile(self->c, "c")->resumption_cache);
}

TEST_F(conf, resumption_refusals)
{
	static const struct refusal bad[] = {
		{ CLI "resumption = maybe\n", ".conf:4: resumption" },
		{ CLI "resumption_cache = 0\n", ".conf:4: resumption_cache: "
		  "'0' is not a number from 1 to 65536" },
		{ CLI "resumption_cache = 65537\n", ".conf:4: resumption_cache" },
		{ "[profile web]\nrole = server\ncertificate = @CERT@\n"
		  "key = @KEY@\nresumption = yes\n", ".conf:5: resumption is "
		  "for client profiles" },
		{ "[profile web]\nrole = server\ncertificate = @CERT@\n"
		  "key = @KEY@\nresumption_cache = 4\n", ".conf:5: "
		  "resumption_cache is for client profiles" },
	};

	expect_refusals(_metadata, self, bad, sizeof(bad) / sizeof(bad[0]));
}

/* ---- Accept mode: listen and subscriber_queue ---- */

#define WEB "[profile web]\nrole = server\ncertificate = @CERT@\n" \
	       "key = @KEY@\n"

TEST_F(conf, listen_addresses)
{
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;
	const struct profile *p;

	ASSERT_LOADS(WEB "listen = 127.0.0.1:8443, [::1]:443\n"
		     "listen = 0.0.0.0:65535\nsubscriber_queue = 5\n");
	p = profile(self->c, "web");
	ASSERT_EQ(3u, p->n_listen);
	s4 = (const struct sockaddr_in *)&p->listen[0].sa;
	EXPECT_EQ(AF_INET, s4->sin_family);
	EXPECT_EQ(8443, ntohs(s4->sin_port));
	EXPECT_EQ(htonl(INADDR_LOOPBACK), s4->sin_addr.s_addr);
	EXPECT_EQ(sizeof(*s4), p->listen[0].len);
	s6 = (const struct sockaddr_in6 *)&p->listen[1].sa;
	EXPECT_EQ(AF_INET6, s6->sin6_family);
	EXPECT_EQ(443, ntohs(s6->sin6_port));
	EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	EXPECT_STREQ("[::1]:443", p->listen[1].text);
	EXPECT_EQ(6, p->listen[2].line);
	EXPECT_EQ(5u, p->subscriber_queue);
}

TEST_F(conf, listen_default_none)
{
	ASSERT_LOADS(WEB);
	EXPECT_EQ(0u, profile(self->c, "web")->n_listen);
	EXPECT_EQ(0u, profile(self->c, "web")->subscriber_queue);
}

/* Each bad line: refused, with the file, the line and the reason. */
TEST_F(conf, listen_refusals)
{
	static const struct refusal bad[] = {
		{ WEB "listen = localhost:443\n", ".conf:5: listen: "
		  "'localhost:443' is not ADDRESS:PORT" },
		{ WEB "listen = 127.0.0.1\n", ".conf:5: listen: '127.0.0.1'" },
		{ WEB "listen = 127.0.0.1:0\n", ".conf:5: listen:" },
		{ WEB "listen = 127.0.0.1:65536\n", ".conf:5: listen:" },
		{ WEB "listen = 127.0.0.1:+80\n", ".conf:5: listen:" },
		{ WEB "listen = ::1:443\n", ".conf:5: listen: '::1:443'" },
		{ WEB "listen = [127.0.0.1]:443\n", ".conf:5: listen:" },
		{ WEB "listen = 1.2.3.4:5 1.2.3.4:5\n", ".conf:5: listen: "
		  "1.2.3.4:5 twice" },
		{ WEB "subscriber_queue = 0\n", ".conf:5: subscriber_queue: "
		  "'0' is not a number from 1 to 4096" },
		{ WEB "subscriber_queue = 4097\n", ".conf:5: subscriber_queue" },
		{ "[profile c]\nrole = client\nverify = no\n"
		  "listen = 127.0.0.1:8443\n", ".conf:4: listen is for server "
		  "profiles" },
		{ "[profile c]\nsubscriber_queue = 3\nrole = client\n"
		  "verify = no\n", ".conf:2: subscriber_queue is for server "
		  "profiles" },
		{ WEB "listen = 127.0.0.1:8443\n"
		  "[profile two]\nrole = server\ncertificate = @CERT@\n"
		  "key = @KEY@\nlisten = 127.0.0.1:8443\n",
		  ".conf:10: listen: 127.0.0.1:8443 is profile web's already "
		  "(line 5)" },
	};

	expect_refusals(_metadata, self, bad, sizeof(bad) / sizeof(bad[0]));
}

TEST_F(conf, listen_change_is_seen)
{
	struct conf *old;

	ASSERT_LOADS(WEB "listen = 127.0.0.1:8443\n");
	old = conf_get(self->c);
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS(WEB "listen = 127.0.0.1:8443\nalpn = h2\n");
	EXPECT_EQ(0, accept_listen_differs(old, self->c));
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS(WEB "listen = 127.0.0.1:8444\n");
	EXPECT_EQ(1, accept_listen_differs(old, self->c));
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS(WEB);
	EXPECT_EQ(1, accept_listen_differs(old, self->c));
	EXPECT_EQ(1, accept_listen_differs(self->c, old));
	conf_put(old);
}

/*
 * Socket activation: a TCP listener named after a server profile is its
 * listener (and its listen lines are not bound); the Unix listener is
 * the handoff socket, named like systemd's default (the unit's name); a
 * second UDP one for the same profile, and one named after a client
 * profile, are closed (tests/unit/accept_activation.c has more).
 */
TEST_F(conf, activated_sockets_by_profile_name)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char *names[] = { "ktlsd.socket", "web", "web", "cl" };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct listeners ls = { 0 };
	int fds[4], i;

	ASSERT_LOADS(WEB "listen = 127.0.0.1:1\n"
		     "[profile cl]\nrole = client\nverify = no\n");
	fds[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fds[2] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	fds[3] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	for (i = 0; i < 4; i++)
		ASSERT_LE(0, fds[i]);
	/* An abstract name of the kernel's choosing: no file to remove. */
	ASSERT_EQ(0, bind(fds[0], (struct sockaddr *)&un, sizeof(sa_family_t)));
	ASSERT_EQ(0, listen(fds[0], 4));
	ASSERT_EQ(0, bind(fds[1], (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(fds[1], 4));
	ASSERT_EQ(fds[0], accept_activated(&ls, self->c, fds, names, 4));
	ASSERT_EQ(1u, ls.n_tcp);
	EXPECT_EQ(fds[1], ls.tcp[0].fd);
	EXPECT_STREQ("web", ls.tcp[0].profile);
	EXPECT_NE(0, fcntl(fds[1], F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(-1, fcntl(fds[2], F_GETFD));
	EXPECT_EQ(-1, fcntl(fds[3], F_GETFD));
	/* web's listen line (port 1, which root could bind) is left alone. */
	ASSERT_EQ(0, accept_listen(&ls, self->c, -1));
	EXPECT_EQ(1u, ls.n_tcp);
	accept_close(&ls);
	EXPECT_EQ(-1, fcntl(fds[1], F_GETFD));
	close(fds[0]);
}

#undef WEB

TEST_F(conf, empty_ktlsd_section_keeps_defaults)
{
	ASSERT_LOADS("[ktlsd]\n; everything commented out\n"
		     "[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(0660u, self->c->socket_mode);
	ASSERT_EQ(1024u, self->c->max_inflight);
}

/* The handoff's limits: idle connections, and what one uid may hold. */
TEST_F(conf, handoff_limits_defaults)
{
	ASSERT_LOADS("[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(60000u, self->c->idle_timeout_ms);
	ASSERT_EQ(64u, self->c->max_conns_per_uid);
	ASSERT_EQ(256u, self->c->max_inflight_per_uid);
}

TEST_F(conf, handoff_limits_set)
{
	ASSERT_LOADS("[ktlsd]\nidle_timeout = 1500\n"
		     "max_connections_per_uid = 3\nmax_inflight_per_uid = 7\n"
		     "[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(1500u, self->c->idle_timeout_ms);
	ASSERT_EQ(3u, self->c->max_conns_per_uid);
	ASSERT_EQ(7u, self->c->max_inflight_per_uid);
}

/* 0 turns the idle deadline off; the largest value is a day. */
TEST_F(conf, idle_timeout_bounds)
{
	ASSERT_LOADS("[ktlsd]\nidle_timeout = 0\n"
		     "[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(0u, self->c->idle_timeout_ms);
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS("[ktlsd]\nidle_timeout = 86400000\n"
		     "[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(86400000u, self->c->idle_timeout_ms);
}

/* Unset, the per-uid share follows max_inflight: a quarter, at least 1. */
TEST_F(conf, inflight_per_uid_follows_max_inflight)
{
	ASSERT_LOADS("[ktlsd]\nmax_inflight = 10\n"
		     "[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(2u, self->c->max_inflight_per_uid);
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS("[ktlsd]\nmax_inflight = 3\n"
		     "[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(1u, self->c->max_inflight_per_uid);
	conf_put(self->c);
	self->c = NULL;
	/* Equal to max_inflight: one user may have it all. */
	ASSERT_LOADS("[ktlsd]\nmax_inflight_per_uid = 3\nmax_inflight = 3\n"
		     "[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(3u, self->c->max_inflight_per_uid);
}

/* user: the handshake process's; "ktlsd" unless set; looked up at start. */
TEST_F(conf, user)
{
	ASSERT_LOADS("[profile p]\nrole = client\nverify = no\n");
	ASSERT_STREQ("ktlsd", self->c->user);
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS("[ktlsd]\nuser = no-such-user_1.x\n"
		     "[profile p]\nrole = client\nverify = no\n");
	ASSERT_STREQ("no-such-user_1.x", self->c->user);
}

/* metrics_file: off by default; a writable place and an interval. */
/* Ticket keys: two from a 0600 file, or a random one for tickets = yes. */
TEST_F(conf, ticket_keys)
{
	const struct profile *pr;

	ASSERT_LOADS("[profile a]\nrole = server\ncertificate = @CERT@\n"
		     "key = @KEY@\nticket_key_file = @TK@\n"
		     "[profile b]\nrole = server\ncertificate = @CERT@\n"
		     "key = @KEY@\ntickets = yes\n"
		     "[profile c]\nrole = server\ncertificate = @CERT@\n"
		     "key = @KEY@\n");
	pr = profile(self->c, "a");
	ASSERT_NE(NULL, pr);
	EXPECT_EQ(1, pr->cfg->tickets);
	EXPECT_EQ(64u, pr->cfg->ticket_key.size);
	EXPECT_EQ(64u, pr->cfg->ticket_prev.size);
	pr = profile(self->c, "b");
	EXPECT_EQ(1, pr->cfg->tickets);
	EXPECT_EQ(64u, pr->cfg->ticket_key.size);
	EXPECT_NULL(pr->cfg->ticket_prev.data);
	pr = profile(self->c, "c");
	EXPECT_EQ(0, pr->cfg->tickets);
	EXPECT_NULL(pr->cfg->ticket_key.data);
}

TEST_F(conf, metrics_file)
{
	char want[96];

	ASSERT_LOADS("[profile p]\nrole = client\nverify = no\n");
	ASSERT_NULL(self->c->metrics_path);
	ASSERT_EQ(15u, self->c->metrics_interval_s);
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS("[ktlsd]\nmetrics_file = @DIR@/ktlsd.prom\n"
		     "metrics_interval = 3600\n"
		     "[profile p]\nrole = client\nverify = no\n");
	snprintf(want, sizeof(want), "%s/ktlsd.prom", env.dir);
	ASSERT_STREQ(want, self->c->metrics_path);
	ASSERT_EQ(3600u, self->c->metrics_interval_s);
	/* Checking made and removed a file: the real one comes later. */
	ASSERT_NE(0, access(want, F_OK));
}

/*
 * A directory where nobody can create files, root included: the error
 * says so, on the metrics_file line. (-EACCES for a plain user.)
 */
TEST_F(conf, metrics_file_unwritable)
{
	ASSERT_GT(0, load(self, "[ktlsd]\nlog = stderr\n"
			  "metrics_file = /proc/ktlsd.prom\n"
			  "[profile p]\nrole = client\nverify = no\n"));
	ASSERT_NULL(self->c);
	ASSERT_EQ(0, strncmp(self->path, self->err, strlen(self->path)));
	ASSERT_NE(NULL, strstr(self->err, ":3: metrics_file: cannot create "
			       "files in /proc: ")) TH_LOG("%s", self->err);
}

/* In a test: skip it where the system's trust store does not load. */
#define SKIP_WITHOUT_SYSTEM_TRUST() do {				\
	struct ktls_config *__probe;					\
	int __r;							\
									\
	ASSERT_EQ(0, ktls_config_new(&__probe, KTLS_CLIENT));		\
	__r = ktls_config_set_ca_file(__probe, NULL);			\
	ktls_config_free(__probe);					\
	if (__r)							\
		SKIP(return, "no system trust store here: %s",		\
		     ktls_strerror(__r));				\
} while (0)

/* Without ca, verify = no or a PSK, a client trusts the system's store. */
TEST_F(conf, client_gets_system_trust)
{
	SKIP_WITHOUT_SYSTEM_TRUST();
	ASSERT_LOADS("[profile p]\nrole = client\n");
	ASSERT_TRUE(self->c->profiles[0].cfg->have_trust);
	ASSERT_EQ(0u, self->c->profiles[0].cfg->verify);
}

/* verify = chain: the chain only, and only when written down. */
TEST_F(conf, client_verify_chain)
{
	SKIP_WITHOUT_SYSTEM_TRUST();
	ASSERT_LOADS("[profile p]\nrole = client\nverify = chain\n");
	ASSERT_TRUE(self->c->profiles[0].cfg->have_trust);
	ASSERT_EQ(KTLS_VERIFY_CHAIN_ONLY, self->c->profiles[0].cfg->verify);
	ASSERT_EQ(KTLS_VERIFY_CHAIN_ONLY, self->c->profiles[0].verify);
}

TEST_F(conf, client_psk_needs_no_trust)
{
	ASSERT_LOADS("[profile p]\nrole = client\npsk_identity = me\n"
		     "psk_key = 000102030405060708090a0b0c0d0e0f\n");
	ASSERT_FALSE(self->c->profiles[0].cfg->have_trust);
	ASSERT_STREQ("me", self->c->profiles[0].cfg->psk_identity);
	ASSERT_EQ(16u, self->c->profiles[0].cfg->psk_key.size);
}

TEST_F(conf, ca_system_word)
{
	SKIP_WITHOUT_SYSTEM_TRUST();
	ASSERT_LOADS("[profile p]\nrole = client\nca = system\nverify = no\n");
	ASSERT_TRUE(self->c->profiles[0].cfg->have_trust);
}

/* A BOM, CRLF, both comment kinds, inline comments, lists over lines. */
TEST_F(conf, syntax_variants)
{
	const struct profile *p;

	ASSERT_LOADS("\xef\xbb\xbf; comment\r\n# another\r\n"
		     "[profile x] ; trailing\r\n"
		     "role = client ; inline\r\n"
		     "verify=no\r\n"
		     "allow_users = 10,\r\n"
		     "  11\t12\r\n"
		     "allow_users = 13\r\n"
		     "ciphers = aes-128-ccm\n"
		     "ciphers = aes-128-gcm\n");
	p = profile(self->c, "x");
	ASSERT_NE(NULL, p);
	ASSERT_EQ(4u, p->n_uids);
	ASSERT_EQ(10u, p->uids[0]);
	ASSERT_EQ(11u, p->uids[1]);
	ASSERT_EQ(12u, p->uids[2]);
	ASSERT_EQ(13u, p->uids[3]);
	ASSERT_EQ(KTLS_CIPHER_AES_128_CCM | KTLS_CIPHER_AES_128_GCM,
		  p->cfg->ciphers);
}

/* A long comment is fine, and the lines after it are still counted right. */
TEST_F(conf, long_comment_keeps_line_numbers)
{
	ASSERT_EQ(-EINVAL, load(self, "; @LONG@\n[profile a]\nrole = bogus\n"));
	ASSERT_NE(NULL, strstr(self->err, ".conf:3: role: 'bogus'"))
		TH_LOG("%s", self->err);
	conf_put(self->c);
	self->c = NULL;
	ASSERT_LOADS("; @LONG@\n[profile a]\nrole = client\nverify = no\n");
}

TEST_F(conf, profile_name_64_characters)
{
	const char *name = "a123456789b123456789c123456789d123456789"
			   "e123456789f123456789.-_X";
	char text[160];

	ASSERT_EQ(64, (int)strlen(name));
	snprintf(text, sizeof(text), "[profile %s]\nrole = client\nverify = no\n",
		 name);
	ASSERT_LOADS(text);
	ASSERT_NE(NULL, profile(self->c, name));
}

TEST_F(conf, missing_file)
{
	snprintf(self->path, sizeof(self->path), "%s/absent.conf", env.dir);
	ASSERT_EQ(-ENOENT, conf_load(self->path, &self->c, self->err,
				     sizeof(self->err)));
	ASSERT_NULL(self->c);
	ASSERT_NE(NULL, strstr(self->err, self->path)) TH_LOG("%s", self->err);
	ASSERT_NE(NULL, strstr(self->err, strerror(ENOENT)));
}

TEST_F(conf, bad_arguments)
{
	ASSERT_EQ(-EINVAL, conf_load(NULL, &self->c, self->err, sizeof(self->err)));
	ASSERT_EQ(-EINVAL, conf_load(self->path, NULL, NULL, 0));
	ASSERT_NULL(self->c);
}

/* A message that does not fit is cut, not overflowed; none is fine too. */
TEST_F(conf, small_error_buffer)
{
	char tiny[8];

	ASSERT_EQ(0, write_file(self->path, "[profile a]\nrole = peer\n"));
	memset(tiny, 'z', sizeof(tiny));
	ASSERT_EQ(-EINVAL, conf_load(self->path, &self->c, tiny, sizeof(tiny)));
	ASSERT_EQ('\0', tiny[sizeof(tiny) - 1]);
	ASSERT_EQ(-EINVAL, conf_load(self->path, &self->c, NULL, 0));
	ASSERT_NULL(self->c);
}

/* ---- Lines that are not what they seem ---- */

/* The file as bytes, NULs included. */
static int write_bytes(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = fd >= 0 && write(fd, buf, len) == (ssize_t)len ? 0 : -1;

	if (fd >= 0 && close(fd))
		ret = -1;
	return ret;
}

/*
 * A NUL byte ends a C string, not a line: refused, naming the line. Once
 * the rest of an over-long line after a NUL was read as a line of its
 * own, here allowing uid 4242.
 */
TEST_F(conf, nul_byte_in_a_line)
{
	static const char head[] = "[profile a]\nrole = client\nverify = no\n";
	static const char tail[] = "allow_users = 4242\n";
	static const char short_nul[] = "[profile a]\nrole = client\n"
					"verify = no\nserver_name = x\0y\n";
	char text[512], where[160];
	size_t n = sizeof(head) - 1;
	int ret;

	/* Line 4: "alpn = h2", a NUL, then x up to inih's 199 bytes. */
	memcpy(text, head, n);
	memcpy(text + n, "alpn = h2", 10);	/* with its NUL */
	memset(text + n + 10, 'x', 199 - 10);
	n += 199;
	memcpy(text + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	ASSERT_EQ(0, write_bytes(self->path, text, n));
	ret = conf_load(self->path, &self->c, self->err, sizeof(self->err));
	ASSERT_EQ(-EINVAL, ret)
		TH_LOG("loaded: %zu uid(s) allowed", self->c->profiles[0].n_uids);
	snprintf(where, sizeof(where), "%s:4: a NUL byte", self->path);
	ASSERT_EQ(0, strncmp(where, self->err, strlen(where)))
		TH_LOG("expected \"%s...\", got \"%s\"", where, self->err);

	/* A short line too: the part after the NUL is not ignored. */
	ASSERT_EQ(0, write_bytes(self->path, short_nul, sizeof(short_nul) - 1));
	ASSERT_EQ(-EINVAL, conf_load(self->path, &self->c, self->err,
				     sizeof(self->err)));
	ASSERT_EQ(0, strncmp(where, self->err, strlen(where)))
		TH_LOG("expected \"%s...\", got \"%s\"", where, self->err);
}

/* tlshd's file: a line too long for the buffer is refused, not split. */
TEST_F(conf, tlshd_long_line)
{
	static const char head[] = "[authenticate.server]\nx509.certificate=/";
	char text[5200], where[160];
	size_t n = sizeof(head) - 1;

	memcpy(text, head, n);
	memset(text + n, 'a', 5000);
	n += 5000;
	text[n++] = '\n';
	ASSERT_EQ(0, write_bytes(self->path, text, n));
	ASSERT_EQ(-EINVAL, conf_load_tlshd(self->path, &self->c, self->err,
					   sizeof(self->err)));
	ASSERT_NULL(self->c);
	snprintf(where, sizeof(where), "%s:2: line longer than 4095 characters",
		 self->path);
	ASSERT_STREQ(where, self->err);
}

/*
 * A comment longer than the buffer is skipped as a whole: its end, which
 * once was read as a line of its own, sets nothing.
 */
TEST_F(conf, tlshd_long_comment)
{
	static const char head[] = "[authenticate.server]\n#";
	static const char tail[] = "x509.certificate=/nonexistent.pem\n"
				   "[authenticate.client]\n";
	char text[5200];
	size_t n = sizeof(head) - 1;

	memcpy(text, head, n);
	memset(text + n, 'c', 4094);
	n += 4094;
	memcpy(text + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	ASSERT_EQ(0, write_bytes(self->path, text, n));
	ASSERT_EQ(0, conf_load_tlshd(self->path, &self->c, self->err,
				     sizeof(self->err)))
		TH_LOG("%s", self->err);
	ASSERT_EQ(0, self->c->upcall->server.have_cert);
}

TEST_F(conf, tlshd_nul_byte)
{
	static const char text[] = "[authenticate.client]\n"
				   "x509.truststore=" TEST_CERT "\0.pem\n";
	char where[160];

	ASSERT_EQ(0, write_bytes(self->path, text, sizeof(text) - 1));
	ASSERT_EQ(-EINVAL, conf_load_tlshd(self->path, &self->c, self->err,
					   sizeof(self->err)));
	snprintf(where, sizeof(where), "%s:2: a NUL byte in the line",
		 self->path);
	ASSERT_STREQ(where, self->err);
}

/* ---- tlshd's file: GLib's key-file syntax, and errors as FILE:LINE ---- */

/* Write tlshd's file and load it into self->c; conf_load_tlshd()'s return. */
static int load_tlshd(FIXTURE_DATA(conf) *self, const char *text)
{
	if (write_file(self->path, text)) {
		snprintf(self->err, sizeof(self->err), "cannot write %s", self->path);
		return -EIO;
	}
	return conf_load_tlshd(self->path, &self->c, self->err,
			       sizeof(self->err));
}

#define ASSERT_TLSHD_LOADS(text) do {					\
	int __r = load_tlshd(self, text);				\
	ASSERT_EQ(0, __r) TH_LOG("%s", self->err);			\
	ASSERT_NE(NULL, self->c);					\
} while (0)

/*
 * What GLib reads and INI readers often do not: an indented group and an
 * indented key (not a continuation of the line before), blanks around
 * '=', ';' as keyrings' separator, escapes. Both sides as tlshd has them:
 * TLS 1.3 only, the server asking for client certificates.
 */
TEST_F(conf, tlshd_glib_syntax)
{
	const struct upcall_conf *u;
	const struct profile *p;

	ASSERT_TLSHD_LOADS("# tlshd\n"
			   "  [authenticate]\n"
			   "keyrings = .nfs ; 12345;\n"
			   "[authenticate.server]\n"
			   "x509.certificate=@CERT@\n"
			   "  x509.private_key = @KEY@\n"
			   "x509.crl=@CRL@\n"
			   "[authenticate.client]\n"
			   "x509.truststore = @OTHER@\n"
			   "[debug]\n"
			   "loglevel=2\n");
	u = self->c->upcall;
	ASSERT_EQ(2u, u->n_keyrings);
	ASSERT_STREQ(".nfs", u->keyrings[0]);
	ASSERT_STREQ("12345", u->keyrings[1]);
	ASSERT_EQ(2, u->debug);
	p = u->server.p;
	ASSERT_EQ(&u->server.own, p);
	ASSERT_EQ(1, u->server.have_cert);
	ASSERT_TRUE(p->cfg->have_cert);
	ASSERT_STREQ(env.crl, p->crl);
	ASSERT_EQ(KTLS_VERIFY_REQUEST_CLIENT, p->cfg->verify);
	ASSERT_EQ(KTLS_TLS13, p->cfg->vmin);
	ASSERT_EQ(KTLS_TLS13, p->cfg->vmax);
	p = u->client.p;
	ASSERT_EQ(&u->client.own, p);
	ASSERT_STREQ(env.other, p->ca) TH_LOG("truststore: '%s'", p->ca);
	ASSERT_TRUE(p->cfg->have_trust);
	ASSERT_FALSE(p->cfg->have_cert);
	ASSERT_EQ(KTLS_TLS13, u->client.anon.cfg->vmin);
	ASSERT_TRUE(u->client.anon.cfg->have_trust);
	ASSERT_STREQ(env.other, u->client.anon.ca);
}

/* " ;" is part of a value, not a comment; a path may be long. */
TEST_F(conf, tlshd_value_as_written)
{
	char semi[160], lng[400], text[800], dir[300];

	snprintf(semi, sizeof(semi), "%s/a ;b.pem", env.dir);
	snprintf(dir, sizeof(dir), "%s/%0250d", env.dir, 0);
	snprintf(lng, sizeof(lng), "%s/ca.pem", dir);
	ASSERT_EQ(0, run("cp %s '%s' && mkdir %s && cp %s %s", env.other, semi,
			 dir, env.other, lng));
	snprintf(text, sizeof(text), "[authenticate.client]\n"
		 "x509.truststore = %s\n[authenticate.server]\n"
		 "x509.truststore=%s\n", semi, lng);
	ASSERT_TLSHD_LOADS(text);
	ASSERT_STREQ(semi, self->c->upcall->client.own.ca);
	ASSERT_STREQ(lng, self->c->upcall->server.own.ca);
	ASSERT_TRUE(self->c->upcall->server.own.cfg->have_trust);
}

/* GLib's escapes, after trimming: "\s" a blank that stays, "\\" a backslash. */
TEST_F(conf, tlshd_escapes)
{
	char text[400], want[160];

	snprintf(want, sizeof(want), "%s/ a\\b.pem ", env.dir);
	ASSERT_EQ(0, run("cp %s '%s'", env.other, want));
	snprintf(text, sizeof(text), "[authenticate.client]\n"
		 "x509.truststore=%s/\\sa\\\\b.pem\\s\n", env.dir);
	ASSERT_TLSHD_LOADS(text);
	ASSERT_STREQ(want, self->c->upcall->client.own.ca);
}

/* An unreadable truststore: the system's instead, as tlshd does. */
TEST_F(conf, tlshd_truststore_falls_back)
{
	ASSERT_TLSHD_LOADS("[authenticate.client]\n"
			   "x509.truststore=@DIR@/absent.pem\n");
	ASSERT_NULL(self->c->upcall->client.own.ca);
	ASSERT_NULL(self->c->upcall->client.anon.ca);
}

FIXTURE(tlshd_bad)
{
	struct conf *c;
	char path[96];
	char err[512];
};

FIXTURE_VARIANT(tlshd_bad)
{
	const char *text;
	int ret;
	int line;
	const char *says;
};

FIXTURE_SETUP(tlshd_bad)
{
	ASSERT_TRUE(env.ok) TH_LOG("could not make test certificates");
	snprintf(self->path, sizeof(self->path), "%s/t%d.conf", env.dir, getpid());
}

FIXTURE_TEARDOWN(tlshd_bad)
{
	conf_put(self->c);
	unlink(self->path);
}

#define TLSHD_BAD(name, txt, err, ln, word)				\
	FIXTURE_VARIANT_ADD(tlshd_bad, name) {				\
		.text = txt, .ret = err, .line = ln, .says = word,	\
	}

#define TSERVER "[authenticate.server]\n"
TLSHD_BAD(key_outside_group, "x509.crl=/x\n", -EINVAL, 1, "syntax error");
TLSHD_BAD(no_equals, "[authenticate]\nkeyrings\n", -EINVAL, 2, "syntax error");
TLSHD_BAD(unclosed_group, "# x\n[authenticate\n", -EINVAL, 2, "syntax error");
TLSHD_BAD(certificate_without_key, TSERVER "x509.certificate=@CERT@\n",
	  -EINVAL, 2, "[authenticate.server] has x509.certificate without "
	  "x509.private_key");
TLSHD_BAD(key_without_certificate, "[authenticate.client]\n\n"
	  "x509.private_key=@KEY@\n", -EINVAL, 3,
	  "[authenticate.client] has x509.private_key without");
TLSHD_BAD(certificate_missing, TSERVER "x509.private_key=@KEY@\n"
	  "x509.certificate=@DIR@/nope.pem\n", -ENOENT, 3, "/nope.pem: No such");
TLSHD_BAD(key_missing, TSERVER "x509.private_key=@DIR@/nope.key\n"
	  "x509.certificate=@CERT@\n", -ENOENT, 2, "/nope.key: No such");
TLSHD_BAD(key_of_other_certificate, TSERVER "x509.certificate=@CERT@\n"
	  "x509.private_key=@OTHER_KEY@\n", -KTLS_E_CONFIG, 2, "with key");
TLSHD_BAD(truststore_not_a_certificate, "[authenticate.client]\n"
	  "x509.truststore=@KEY@\n", -KTLS_E_CONFIG, 2, "key.pem: ");
TLSHD_BAD(crl_missing, TSERVER "\nx509.crl=@DIR@/crl0.pem\n", -ENOENT, 3,
	  "/crl0.pem: ");

TEST_F(tlshd_bad, fails)
{
	char where[160];
	int ret;

	ASSERT_EQ(0, write_file(self->path, variant->text));
	ret = conf_load_tlshd(self->path, &self->c, self->err, sizeof(self->err));
	ASSERT_EQ(variant->ret, ret) TH_LOG("%s", self->err);
	ASSERT_NULL(self->c);
	snprintf(where, sizeof(where), "%s:%d: ", self->path, variant->line);
	ASSERT_EQ(0, strncmp(where, self->err, strlen(where)))
		TH_LOG("expected \"%s...\", got \"%s\"", where, self->err);
	ASSERT_NE(NULL, strstr(self->err, variant->says))
		TH_LOG("expected \"%s\" in \"%s\"", variant->says, self->err);
}

/* ---- Lookups, permissions, references ---- */

TEST_F(conf, profile_lookup_by_length)
{
	const char buf[] = { 'w', 'e', 'b', '2', 'x', 'y' };	/* no NUL */

	ASSERT_LOADS("[profile web]\nrole = client\nverify = no\n"
		     "[profile web2]\nrole = client\nverify = no\n"
		     "[profile w]\nrole = client\nverify = no\n");
	ASSERT_EQ(&self->c->profiles[0], conf_profile(self->c, buf, 3));
	ASSERT_EQ(&self->c->profiles[1], conf_profile(self->c, buf, 4));
	ASSERT_EQ(&self->c->profiles[2], conf_profile(self->c, buf, 1));
	ASSERT_NULL(conf_profile(self->c, buf, 2));
	ASSERT_NULL(conf_profile(self->c, buf, 5));
	ASSERT_NULL(conf_profile(self->c, buf, 0));
	ASSERT_NULL(conf_profile(self->c, "WEB", 3));
	ASSERT_NULL(conf_profile(NULL, "web", 3));
}

TEST_F(conf, profile_allows)
{
	const gid_t listed[] = { 5, 4242 }, others[] = { 5, 6 };
	const struct profile *open, *closed;
	uid_t me = geteuid();

	ASSERT_LOADS("[profile open]\nrole = client\nverify = no\n"
		     "allow_users = 1000\nallow_groups = 4242\n"
		     "[profile closed]\nrole = client\nverify = no\n");
	open = profile(self->c, "open");
	closed = profile(self->c, "closed");
	ASSERT_TRUE(profile_allows(open, 0, 5, NULL, 0));
	ASSERT_TRUE(profile_allows(closed, 0, 5, NULL, 0));
	ASSERT_TRUE(profile_allows(open, 1000, 5, NULL, 0));
	ASSERT_TRUE(profile_allows(open, 2000, 5, listed, 2));
	ASSERT_FALSE(profile_allows(open, 2000, 5, others, 2));
	ASSERT_FALSE(profile_allows(open, 2000, 5, listed, 1));
	ASSERT_FALSE(profile_allows(open, 1001, 5, NULL, 0));
	ASSERT_FALSE(profile_allows(closed, 1000, 5, listed, 2));
	/* The primary group counts, with no supplementary group at all. */
	ASSERT_TRUE(profile_allows(open, 2000, 4242, NULL, 0));
	ASSERT_TRUE(profile_allows(open, 2000, 4242, others, 2));
	ASSERT_FALSE(profile_allows(closed, 2000, 4242, NULL, 0));
	/* Our own uid may; as root, become someone else to tell it from 0. */
	if (me == 0)
		ASSERT_EQ(0, seteuid(4321));
	ASSERT_TRUE(profile_allows(closed, geteuid(), 5, NULL, 0));
	ASSERT_FALSE(profile_allows(closed, geteuid() + 1, 5, others, 2));
	if (me == 0)
		ASSERT_EQ(0, seteuid(0));
}

TEST_F(conf, references)
{
	struct conf *c;

	ASSERT_LOADS("[profile p]\nrole = client\nverify = no\n");
	c = self->c;
	ASSERT_EQ(1, atomic_load(&c->refs));
	ASSERT_EQ(c, conf_get(c));
	ASSERT_EQ(c, conf_get(c));
	ASSERT_EQ(3, atomic_load(&c->refs));
	conf_put(c);
	conf_put(c);
	ASSERT_EQ(1, atomic_load(&c->refs));
	ASSERT_STREQ("p", c->profiles[0].name);	/* still there */
	conf_put(c);		/* the last: valgrind sees it freed */
	self->c = NULL;
	ASSERT_NULL(conf_get(NULL));
	conf_put(NULL);
}

/* A second load of the same file is a separate object (SIGHUP reloads). */
TEST_F(conf, reload_is_independent)
{
	struct conf *again = NULL;

	ASSERT_LOADS("[profile p]\nrole = client\nverify = no\n");
	ASSERT_EQ(0, conf_load(self->path, &again, self->err, sizeof(self->err)));
	ASSERT_NE(self->c, again);
	ASSERT_NE(self->c->profiles[0].cfg, again->profiles[0].cfg);
	conf_put(again);
	ASSERT_STREQ("p", self->c->profiles[0].name);
}

/* ---- Files that must not load: the error names file:line and why ---- */

FIXTURE(bad)
{
	struct conf *c;
	char path[96];
	char err[512];
};

FIXTURE_VARIANT(bad)
{
	const char *text;
	int ret;		/* conf_load()'s return */
	int line;		/* in the message; 0: none */
	const char *says;	/* and this in it */
};

FIXTURE_SETUP(bad)
{
	ASSERT_TRUE(env.ok) TH_LOG("could not make test certificates");
	snprintf(self->path, sizeof(self->path), "%s/b%d.conf", env.dir, getpid());
}

FIXTURE_TEARDOWN(bad)
{
	conf_put(self->c);
	unlink(self->path);
}

#define CLIENT "[profile a]\nrole = client\nverify = no\n"
#define SERVER "[profile a]\nrole = server\n"

#define BAD(name, txt, err, ln, word)					\
	FIXTURE_VARIANT_ADD(bad, name) {				\
		.text = txt, .ret = err, .line = ln, .says = word,	\
	}

/* The syntax */
BAD(syntax_error, "[profile a]\nrole client\n", -EINVAL, 2, "syntax error");
BAD(syntax_error_first, "[profile a]\ngarbage\nfoo = 1\n", -EINVAL, 2,
    "syntax error");
BAD(key_outside_section, "role = client\n" CLIENT, -EINVAL, 1,
    "'role' outside any section");
BAD(unknown_section, "[ktlsd]\n[profil a]\nrole = client\n", -EINVAL, 2,
    "unknown section [profil a]");
BAD(empty_unknown_section, CLIENT "[extra]\n", -EINVAL, 4,
    "unknown section [extra]");
BAD(unknown_key, CLIENT "alpn = h2\nfoo = 1\n", -EINVAL, 5,
    "unknown key 'foo'");
BAD(unknown_daemon_key, "[ktlsd]\nsockets = /x\n" CLIENT, -EINVAL, 2,
    "unknown key 'sockets' in [ktlsd]");
BAD(key_given_twice, CLIENT "role = server\n", -EINVAL, 4,
    "'role' given twice (first on line 2)");
BAD(empty_value, "[profile a]\nrole =\n", -EINVAL, 2, "'role' has no value");
BAD(long_line, CLIENT "server_name = @LONG@\n", -EINVAL, 4, "line longer than");
BAD(indented_header, CLIENT "  [profile b]\n", -EINVAL, 4,
    "must start at the beginning");
BAD(duplicate_ktlsd, "[ktlsd]\nworkers = 1\n[ktlsd]\n" CLIENT, -EINVAL, 3,
    "duplicate [ktlsd] (first on line 1)");
BAD(no_profile, "[ktlsd]\nworkers = 2\n", -EINVAL, 0, "no [profile NAME] section");
BAD(empty_file, "", -EINVAL, 0, "no [profile NAME] section");

/* [ktlsd] values */
BAD(bad_octal_mode, "[ktlsd]\nsocket_mode = 0890\n" CLIENT, -EINVAL, 2,
    "not an octal mode");
BAD(mode_too_large, "[ktlsd]\nsocket_mode = 17777\n" CLIENT, -EINVAL, 2,
    "not an octal mode");
BAD(bad_number, "[ktlsd]\nworkers = many\n" CLIENT, -EINVAL, 2,
    "workers: 'many' is not a number");
BAD(negative_number, "[ktlsd]\nworkers = -1\n" CLIENT, -EINVAL, 2,
    "not a number");
BAD(max_inflight_zero, "[ktlsd]\nmax_inflight = 0\n" CLIENT, -EINVAL, 2,
    "not a number from 1");
BAD(socket_relative, "[ktlsd]\nsocket = run/h.sock\n" CLIENT, -EINVAL, 2,
    "not an absolute path");
BAD(socket_path_too_long, "[ktlsd]\nsocket = /run/0123456789012345678901234567"
    "8901234567890123456789012345678901234567890123456789012345678901234567"
    "8901234567890123456789\n" CLIENT, -EINVAL, 2, "longer than a Unix socket");
BAD(unknown_socket_group, "[ktlsd]\nsocket_group = no-such-group-ktlsd\n" CLIENT,
    -EINVAL, 2, "no such group 'no-such-group-ktlsd'");
BAD(bad_log, "[ktlsd]\nlog = file\n" CLIENT, -EINVAL, 2,
    "log: 'file' is not one of: stderr, syslog");
BAD(bad_log_level, "[ktlsd]\nlog_level = loud\n" CLIENT, -EINVAL, 2,
    "'loud' is not one of: err, warning");

/* Profile headers */
BAD(duplicate_profile, CLIENT "[profile a]\nrole = client\n", -EINVAL, 4,
    "duplicate [profile a] (first on line 1)");
BAD(profile_without_name, "[profile]\nrole = client\n", -EINVAL, 1,
    "profile name ''");
BAD(bad_profile_name, "[profile a/b]\nrole = client\n", -EINVAL, 1,
    "profile name 'a/b'");
BAD(profile_name_65, "[profile a123456789b123456789c123456789d123456789"
    "e123456789f123456789.-_XY]\nrole = client\n", -EINVAL, 1, "profile name");
BAD(empty_profile, "[profile a]\n", -EINVAL, 1, "has no role");
BAD(no_role, "[profile a]\nverify = no\n", -EINVAL, 1, "has no role");

/* Profile values */
BAD(bad_role, "[profile a]\nrole = peer\n", -EINVAL, 2,
    "role: 'peer' is not one of: server, client");
BAD(key_without_certificate, SERVER "key = @KEY@\n", -EINVAL, 3,
    "key without a certificate");
BAD(key_twice, SERVER "certificate = @CERT@\nkey = @KEY@\nkey = @KEY@\n",
    -EINVAL, 5, "key without a certificate");
BAD(certificate_without_key, SERVER "certificate = @CERT@\nalpn = h2\n",
    -EINVAL, 3, "certificate without a key");
BAD(certificate_twice, SERVER "certificate = @CERT@\ncertificate = @OTHER@\n"
    "key = @OTHER_KEY@\n", -EINVAL, 3, "certificate without a key");
BAD(relative_certificate, SERVER "certificate = cert.pem\nkey = @KEY@\n",
    -EINVAL, 3, "certificate: 'cert.pem' is not an absolute path");
BAD(bad_psk_hex, SERVER "psk_identity = i\n"
    "psk_key = 0011223344556677889900112233445g\n", -EINVAL, 4,
    "not a hex string");
BAD(bad_psk_hex_first, SERVER "psk_identity = i\n"
    "psk_key = x0112233445566778899001122334455\n", -EINVAL, 4,
    "not a hex string");
BAD(odd_psk, SERVER "psk_identity = i\n"
    "psk_key = 00112233445566778899001122334455f\n", -EINVAL, 4, "hex digits");
BAD(short_psk, SERVER "psk_identity = i\n"
    "psk_key = 001122334455667788990011223344\n", -EINVAL, 4, "32 to 128 hex");
BAD(psk_key_alone, SERVER "psk_key = 00112233445566778899001122334455\n",
    -EINVAL, 3, "psk_identity and psk_key go together");
BAD(psk_identity_alone, CLIENT "psk_identity = i\n", -EINVAL, 4,
    "psk_identity and psk_key go together");
BAD(bad_client_certificate, SERVER "client_certificate = maybe\n", -EINVAL, 3,
    "'maybe' is not one of: none, request, require");
BAD(bad_verify, "[profile a]\nrole = client\nverify = off\n", -EINVAL, 3,
    "'off' is not one of: yes, no");
BAD(bad_version, CLIENT "versions = 1.2 1.1\n", -EINVAL, 4,
    "versions: '1.1' is not one of");
BAD(unknown_cipher, CLIENT "ciphers = aes-128-gcm rc4\n", -EINVAL, 4,
    "unknown cipher 'rc4'");
BAD(empty_list, CLIENT "alpn = ,\n", -EINVAL, 4, "alpn: the list is empty");
BAD(timeout_too_short, CLIENT "handshake_timeout = 99\n", -EINVAL, 4,
    "'99' is not a number from 100 to 600000");
BAD(timeout_too_long, CLIENT "handshake_timeout = 600001\n", -EINVAL, 4,
    "not a number from 100");
BAD(bad_override, CLIENT "allow_override = sni,port\n", -EINVAL, 4,
    "'port' is not one of: sni, alpn");
BAD(bad_server_name, CLIENT "server_name = a b\n", -EINVAL, 4,
    "not a host name");
BAD(unknown_user, CLIENT "allow_users = 1000 no-such-user-ktlsd\n", -EINVAL, 4,
    "no such user 'no-such-user-ktlsd'");
BAD(unknown_group, CLIENT "allow_groups = no-such-group-ktlsd\n", -EINVAL, 4,
    "no such group");
BAD(uid_minus_one, CLIENT "allow_users = 4294967295\n", -EINVAL, 4,
    "not a valid user id");
BAD(uid_not_number, CLIENT "allow_users = 12ab\n", -EINVAL, 4,
    "not a valid user id");

BAD(ticket_file_open_to_others, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "ticket_key_file = @TK_OPEN@\n", -EINVAL, 5,
    "tk-open: readable or writable by group or others (chmod 600)");
BAD(ticket_file_wrong_size, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "ticket_key_file = @TK_SHORT@\n", -EINVAL, 5,
    "tk-short: not one 64-byte key or two (128 bytes)");
BAD(ticket_file_missing, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "ticket_key_file = @DIR@/nope\n", -ENOENT, 5, "/nope: ");
BAD(ticket_file_is_dir, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "ticket_key_file = @DIR@\n", -EINVAL, 5, "not a regular file");
BAD(ticket_file_relative, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "ticket_key_file = tk\n", -EINVAL, 5, "ticket_key_file");
BAD(tickets_on_client, CLIENT "tickets = yes\n", -EINVAL, 4,
    "tickets and ticket_key_file are for server profiles");
BAD(ticket_file_on_client, CLIENT "ticket_key_file = @TK@\n", -EINVAL, 4,
    "tickets and ticket_key_file are for server profiles");
BAD(tickets_no_with_file, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "tickets = no\nticket_key_file = @TK@\n", -EINVAL, 5,
    "tickets = no with a ticket_key_file");
BAD(tickets_maybe, SERVER "tickets = maybe\n", -EINVAL, 3,
    "'maybe' is not one of: no, yes");

/* What only the whole profile tells */
BAD(server_without_credentials, "[ktlsd]\n" SERVER "alpn = h2\n", -EINVAL, 2,
    "server profile 'a' needs a certificate and key, or a PSK");
BAD(verify_on_server, SERVER "certificate = @CERT@\nkey = @KEY@\nverify = no\n",
    -EINVAL, 5, "verify is for client profiles");
BAD(server_name_on_server, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "server_name = x\n", -EINVAL, 5, "server_name is for client profiles");
BAD(override_on_server, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "allow_override = alpn\n", -EINVAL, 5, "allow_override is for client profiles");
BAD(client_certificate_on_client, CLIENT "client_certificate = none\n",
    -EINVAL, 4, "client_certificate is for server profiles");
BAD(require_without_ca, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "client_certificate = require\n", -EINVAL, 5, "needs a ca line");
BAD(request_without_ca, SERVER "certificate = @CERT@\nkey = @KEY@\n"
    "client_certificate = request\n", -EINVAL, 5,
    "client_certificate = request needs a ca line");
BAD(second_profile_bad, CLIENT "[profile b]\nrole = server\n", -EINVAL, 4,
    "server profile 'b'");

/* Credentials that do not load */
BAD(certificate_missing, SERVER "certificate = @DIR@/nope.pem\nkey = @KEY@\n",
    -ENOENT, 3, "/nope.pem: No such file");
BAD(key_missing, SERVER "certificate = @CERT@\nkey = @DIR@/nope.key\n",
    -ENOENT, 4, "/nope.key: No such file");
BAD(key_of_other_certificate, SERVER "certificate = @CERT@\n"
    "key = @OTHER_KEY@\n", -KTLS_E_CONFIG, 3, "with key");
BAD(ca_missing, CLIENT "ca = @DIR@/ca.pem\n", -ENOENT, 4, "/ca.pem: ");
BAD(ca_not_a_certificate, CLIENT "ca = @KEY@\n", -KTLS_E_CONFIG, 4, "key.pem: ");
BAD(crl_missing, CLIENT "crl = @DIR@/crl0.pem\n", -ENOENT, 4, "/crl0.pem: ");

/* [ktlsd]: the handoff's limits */
BAD(idle_timeout_seconds, "[ktlsd]\nidle_timeout = 60\n" CLIENT, -EINVAL, 2,
    "idle_timeout: '60' is not 0 (never) or a number of milliseconds from "
    "1000 to 86400000");
BAD(idle_timeout_too_long, "[ktlsd]\nidle_timeout = 86400001\n" CLIENT,
    -EINVAL, 2, "idle_timeout: '86400001' is not 0");
BAD(idle_timeout_unit, "[ktlsd]\nidle_timeout = 60s\n" CLIENT, -EINVAL, 2,
    "idle_timeout: '60s'");
BAD(idle_timeout_negative, "[ktlsd]\nidle_timeout = -1\n" CLIENT, -EINVAL, 2,
    "idle_timeout: '-1'");
BAD(idle_timeout_twice, "[ktlsd]\nidle_timeout = 0\nidle_timeout = 0\n"
    CLIENT, -EINVAL, 3, "'idle_timeout' given twice (first on line 2)");
BAD(conns_per_uid_zero, "[ktlsd]\nmax_connections_per_uid = 0\n" CLIENT,
    -EINVAL, 2, "max_connections_per_uid: '0' is not a number from 1 to "
    "1048576");
BAD(conns_per_uid_huge, "[ktlsd]\nworkers = 1\n"
    "max_connections_per_uid = 1048577\n" CLIENT, -EINVAL, 3,
    "max_connections_per_uid: '1048577' is not a number");
BAD(inflight_per_uid_zero, "[ktlsd]\nmax_inflight_per_uid = 0\n" CLIENT,
    -EINVAL, 2, "max_inflight_per_uid: '0' is not a number from 1");
BAD(inflight_per_uid_word, "[ktlsd]\nmax_inflight_per_uid = all\n" CLIENT,
    -EINVAL, 2, "max_inflight_per_uid: 'all' is not a number");
/* The line of the per-uid key, wherever max_inflight is. */
BAD(inflight_per_uid_over_total, "[ktlsd]\nmax_inflight_per_uid = 9\n"
    "max_inflight = 8\n" CLIENT, -EINVAL, 2,
    "max_inflight_per_uid: 9 is more than max_inflight (8)");
BAD(inflight_per_uid_over_default, "[ktlsd]\nlog = stderr\n"
    "max_inflight_per_uid = 1025\n" CLIENT, -EINVAL, 3,
    "max_inflight_per_uid: 1025 is more than max_inflight (1024)");

/* [ktlsd]: metrics_file and its interval */
BAD(metrics_relative, "[ktlsd]\nmetrics_file = ktlsd.prom\n" CLIENT, -EINVAL,
    2, "metrics_file: 'ktlsd.prom' is not an absolute path");
BAD(metrics_missing_dir, "[ktlsd]\nworkers = 1\n"
    "metrics_file = @DIR@/none/ktlsd.prom\n" CLIENT, -ENOENT, 3,
    "/none: No such file or directory");
BAD(metrics_dir_is_a_file, "[ktlsd]\nmetrics_file = @CERT@/ktlsd.prom\n"
    CLIENT, -ENOTDIR, 2, "cert.pem is not a directory");
BAD(metrics_path_is_a_dir, "[ktlsd]\nmetrics_file = @DIR@\n" CLIENT, -EISDIR,
    2, "is a directory");
BAD(metrics_trailing_slash, "[ktlsd]\nmetrics_file = @DIR@/\n" CLIENT,
    -EINVAL, 2, "is not the absolute path of a file");
BAD(user_empty, "[ktlsd]\nuser =\n" CLIENT, -EINVAL, 2,
    "'user' has no value");
BAD(user_slash, "[ktlsd]\nuser = ../root\n" CLIENT, -EINVAL, 2,
    "user: '../root' is not a user name");
BAD(user_dash, "[ktlsd]\nuser = -r\n" CLIENT, -EINVAL, 2,
    "user: '-r' is not a user name");
BAD(metrics_interval_zero, "[ktlsd]\nmetrics_file = @DIR@/m.prom\n"
    "metrics_interval = 0\n" CLIENT, -EINVAL, 3,
    "metrics_interval: '0' is not a number from 1 to 3600");
BAD(metrics_interval_too_long, "[ktlsd]\nmetrics_file = @DIR@/m.prom\n"
    "metrics_interval = 3601\n" CLIENT, -EINVAL, 3,
    "metrics_interval: '3601'");
BAD(metrics_interval_alone, "[ktlsd]\nlog = stderr\nmetrics_interval = 5\n"
    CLIENT, -EINVAL, 3, "metrics_interval without metrics_file");

TEST_F(bad, fails)
{
	char where[160];
	int ret;

	ASSERT_EQ(0, write_file(self->path, variant->text));
	ret = conf_load(self->path, &self->c, self->err, sizeof(self->err));
	ASSERT_EQ(variant->ret, ret) TH_LOG("%s", self->err);
	ASSERT_NULL(self->c);
	if (variant->line)
		snprintf(where, sizeof(where), "%s:%d: ", self->path, variant->line);
	else
		snprintf(where, sizeof(where), "%s: ", self->path);
	ASSERT_EQ(0, strncmp(where, self->err, strlen(where)))
		TH_LOG("expected \"%s...\", got \"%s\"", where, self->err);
	ASSERT_NE(NULL, strstr(self->err, variant->says))
		TH_LOG("expected \"%s\" in \"%s\"", variant->says, self->err);
}

TEST_HARNESS_MAIN
