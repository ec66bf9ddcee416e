// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * raw-ktls-demo: the kernel's TLS record layer with hand-set keys (no
 * handshake), as a first look at what the project builds on. Sends 64 MiB
 * with sendfile() over loopback, once as plain TCP and once through kTLS
 * (TLS 1.3, AES-GCM-128), checks every byte, and prints the rates and the
 * kernel's TLS counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define LEN (64u << 20)

static void die(const char *what)
{
	fprintf(stderr, "raw-ktls-demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void pair(int fd[2])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (void *)&sa, &len))
		die("listen");
	fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd[0] < 0 || connect(fd[0], (void *)&sa, sizeof(sa)))
		die("connect");
	fd[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (fd[1] < 0)
		die("accept");
	close(l);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Send the file over a fresh pair, optionally through kTLS; MiB/s. */
static double transfer(int file, const unsigned char *data, int tls)
{
	static unsigned char buf[1 << 16];
	struct tls12_crypto_info_aes_gcm_128 ci = {
		.info = { .version = TLS_1_3_VERSION,
			  .cipher_type = TLS_CIPHER_AES_GCM_128 },
	};
	size_t got = 0;
	double t0;
	pid_t pid;
	int fd[2], st;

	pair(fd);
	if (tls) {
		/* Fixed demo keys: both ends only need to agree. */
		memset(ci.key, 0x42, sizeof(ci.key));
		memset(ci.iv, 0x17, sizeof(ci.iv));
		memset(ci.salt, 0x99, sizeof(ci.salt));
		if (setsockopt(fd[0], IPPROTO_TCP, TCP_ULP, "tls", 4) ||
		    setsockopt(fd[1], IPPROTO_TCP, TCP_ULP, "tls", 4)) {
			if (errno == ENOENT)
				fprintf(stderr, "raw-ktls-demo: this kernel has no kTLS "
					"(TCP_ULP \"tls\" not available)\n");
			die("TCP_ULP tls");
		}
		if (setsockopt(fd[0], SOL_TLS, TLS_TX, &ci, sizeof(ci)) ||
		    setsockopt(fd[1], SOL_TLS, TLS_RX, &ci, sizeof(ci)))
			die("TLS_TX/TLS_RX");
		explicit_bzero(&ci, sizeof(ci));
	}
	t0 = now();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		off_t off = 0;

		while (off < (off_t)LEN)
			if (sendfile(fd[0], file, &off, LEN - off) <= 0)
				_exit(1);
		_exit(0);
	}
	close(fd[0]);
	while (got < LEN) {
		ssize_t n = read(fd[1], buf, sizeof(buf));

		if (n <= 0)
			die("read");
		if (memcmp(buf, data + got, n)) {
			fprintf(stderr, "raw-ktls-demo: data differs near %zu\n", got);
			exit(1);
		}
		got += n;
	}
	if (waitpid(pid, &st, 0) != pid || st)
		die("sendfile");
	close(fd[1]);
	return LEN / (now() - t0) / (1 << 20);
}

/* Does this kernel offer the "tls" ULP? */
static int probe(void)
{
	int fd[2], ok;

	pair(fd);
	ok = !setsockopt(fd[0], IPPROTO_TCP, TCP_ULP, "tls", 4);
	close(fd[0]);
	close(fd[1]);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	char path[] = "/tmp/raw-ktls-demo-XXXXXX", key[64];
	unsigned char *data = malloc(LEN);
	long long val;
	double plain, tls;
	unsigned i;
	FILE *f;
	int file;

	if (argc > 1 && !strcmp(argv[1], "--probe"))
		return probe();
	if (!data)
		die("malloc");
	for (i = 0; i < LEN; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	file = mkstemp(path);
	if (file < 0 || write(file, data, LEN) != (ssize_t)LEN)
		die("temporary file");
	unlink(path);

	plain = transfer(file, data, 0);
	tls = transfer(file, data, 1);
	printf("64 MiB by sendfile() over loopback, every byte checked:\n");
	printf("  plain TCP                      %8.1f MiB/s\n", plain);
	printf("  kTLS TLS 1.3 AES-GCM-128 (sw)  %8.1f MiB/s\n", tls);
	printf("kernel TLS counters (/proc/net/tls_stat):\n");
	f = fopen("/proc/net/tls_stat", "re");
	while (f && fscanf(f, "%63s %lld", key, &val) == 2)
		if (!strncmp(key, "TlsTx", 5) || !strncmp(key, "TlsRx", 5))
			printf("  %-24s %lld\n", key, val);
	if (f)
		fclose(f);
	free(data);
	return 0;
}
