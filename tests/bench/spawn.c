// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Programs the bench starts: ktlsd, the file server, nginx. Each runs in
 * its own process group with its output in a log, and none outlives the
 * bench (kill_children() runs at exit, a die() included).
 */
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>

#include "bench.h"

#define MAX_CHILDREN 8
static pid_t children[MAX_CHILDREN];
pid_t main_pid;

/* At exit (a die() included): nothing we started may outlive us. */
void kill_children(void)
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
void tool_path(char *out, size_t size, const char *env, const char *rel)
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
pid_t spawn(char *const argv[], const char *log)
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
int child_gone(pid_t pid)
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
void stop(pid_t pid, int sig, double timeout)
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
void show_log(const char *log)
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

/* ---- ktlsd ---- */

static void conf_append(char *text, size_t size, const char *more)
{
	if (strlen(text) + strlen(more) >= size)
		die("ktlsd configuration too long");
	strcat(text, more);
}

/*
 * Start build/ktlsd in the foreground with profiles "ec" and "rsa"
 * (servers, TLS 1.3 AES-128-GCM, the work directory's certificates) and
 * "psk" (the same with PSK_IDENTITY's key, no certificate), and wait
 * until its handoff socket answers.
 */
void daemon_start(struct daemon *d, const struct opts *o,
		  unsigned max_inflight, unsigned timeout_ms)
{
	daemon_start_more(d, o, max_inflight, timeout_ms, NULL);
}

void daemon_start_more(struct daemon *d, const struct opts *o,
		       unsigned max_inflight, unsigned timeout_ms,
		       const char *more)
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
	    "log_level = warning\n"
	    "%s",
	    d->sock, o->dir, o->workers, max_inflight,
	    getpwnam("ktlsd") ? "" : "user = nobody\n");
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
		conf_append(text, sizeof(text), prof);
		fmt(prof, sizeof(prof),
		    "role = server\n"
		    "versions = 1.3\n"
		    "ciphers = aes-128-gcm\n"
		    "handshake_timeout = %u\n", timeout_ms);
		conf_append(text, sizeof(text), prof);
	}
	if (more)
		conf_append(text, sizeof(text), more);
	write_text(d->conf, text);
	unlink(d->sock);
	d->pid = spawn(argv, d->log);
	for (end = now() + 60;; sleep_s(0.05)) {
		ret = ktls_handoff_open(&h, d->sock);
		if (!ret) {
			ktls_handoff_close(h);
			/* The socket answers before the child has its name. */
			d->hs = hs_wait(d->pid, 0, 10000);
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

void daemon_stop(struct daemon *d)
{
	stop(d->pid, SIGTERM, 30);
	d->pid = 0;
}

/* ---- nginx, and the file server in front of ktlsd (P2) ---- */

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
static pid_t nginx_run(const struct opts *o, int port, int plain)
{
	char bin[PATH_MAX], prefix[PATH_MAX], conf[PATH_MAX], log[PATH_MAX];
	char text[4096], ssl[1024];
	char *argv[] = { bin, "-p", prefix, "-e", log, "-c", conf, NULL };
	pid_t pid;

	fmt(ssl, sizeof(ssl),
		"		ssl_certificate %s/ec.pem;\n"
		"		ssl_certificate_key %s/ec.key;\n"
		"		ssl_protocols TLSv1.3;\n"
		"		ssl_ecdh_curve X25519;\n"
		"		ssl_session_tickets off;\n"
		"		ssl_conf_command Options KTLS;\n"
		"		ssl_conf_command NumTickets 0;\n", o->dir, o->dir);
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
		"		listen 127.0.0.1:%d%s;\n"
		"%s"
		"		root %s/www;\n"
		"	}\n"
		"}\n",
		geteuid() ? "" : "user root;\n", o->workers, prefix, log, prefix,
		port, plain ? "" : " ssl", plain ? "" : ssl, o->dir);
	write_text(conf, text);
	pid = spawn(argv, log);
	if (wait_listen(port, 30000)) {
		show_log(log);
		die("nginx did not listen on port %d (its log is above)", port);
	}
	return pid;
}

pid_t nginx_start(const struct opts *o, int port)
{
	return nginx_run(o, port, 0);
}

/*
 * The same nginx with a plain listen, under libktls-preload.so: ktlsd
 * (profile "ec") does every handshake, the kernel the records.
 */
pid_t nginx_preload_start(const struct opts *o, struct daemon *d, int port)
{
	char so[PATH_MAX], accept_env[64];
	pid_t pid;

	tool_path(so, sizeof(so), "KTLS_PRELOAD_SO", "../libktls-preload.so");
	if (access(so, R_OK))
		die("no %s (make builds it)", so);
	daemon_start(d, o, 4096, 60000);
	fmt(accept_env, sizeof(accept_env), "%d=ec", port);
	/* For nginx only: set around its start, then taken back. */
	setenv("KTLS_HANDOFF_SOCKET", d->sock, 1);
	setenv("KTLS_PRELOAD_ACCEPT", accept_env, 1);
	setenv("LD_PRELOAD", so, 1);
	pid = nginx_run(o, port, 1);
	unsetenv("LD_PRELOAD");
	unsetenv("KTLS_PRELOAD_ACCEPT");
	unsetenv("KTLS_HANDOFF_SOCKET");
	return pid;
}

/*
 * ktlsd (more: lines for its configuration, or NULL), then the file
 * server with mode (how it gets its connections) until who listens on
 * port.
 */
static pid_t fileserver_run(const struct opts *o, struct daemon *d, int port,
			    const char *more, char *const mode[],
			    const char *who)
{
	char bin[PATH_MAX], root[PATH_MAX], log[PATH_MAX], *argv[12] = { bin };
	int n = 1;
	pid_t pid;

	tool_path(bin, sizeof(bin), "KTLS_FILESERVER", "../examples/ktls-fileserver");
	if (access(bin, X_OK))
		die("no file server at %s (make builds it)", bin);
	daemon_start_more(d, o, 4096, 60000, more);
	fmt(root, sizeof(root), "%s/www", o->dir);
	fmt(log, sizeof(log), "%s/fileserver.log", o->dir);
	while (*mode && n < 7)
		argv[n++] = *mode++;
	argv[n++] = "-s";
	argv[n++] = d->sock;
	argv[n++] = "-n";
	argv[n] = root;
	pid = spawn(argv, log);
	if (wait_listen(port, 30000)) {
		show_log(log);
		die("%s did not listen on port %d", who, port);
	}
	return pid;
}

/*
 * Accept mode: ktlsd listens on port for a profile "acc" (ec's
 * certificate), and the file server takes the connections from it (-a);
 * connections wait in ktlsd's listen queue for its subscription.
 */
pid_t fileserver_accept_start(const struct opts *o, struct daemon *d,
			      int port)
{
	char more[PATH_MAX * 2], *mode[] = { "-a", "acc", NULL };

	fmt(more, sizeof(more), "\n[profile acc]\nrole = server\n"
	    "certificate = %s/ec.pem\nkey = %s/ec.key\nversions = 1.3\n"
	    "ciphers = aes-128-gcm\nlisten = 127.0.0.1:%d\n", o->dir, o->dir,
	    port);
	return fileserver_run(o, d, port, more, mode, "ktlsd");
}

/* ktlsd, and the file server handing every connection to it. */
pid_t fileserver_start(const struct opts *o, struct daemon *d, int port)
{
	char listen_at[64], *mode[] = { "-l", listen_at, "-p", "ec", NULL };

	fmt(listen_at, sizeof(listen_at), "127.0.0.1:%d", port);
	return fileserver_run(o, d, port, NULL, mode, "ktls-fileserver");
}
