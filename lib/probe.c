// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What kernel TLS can do on this machine, found by trying it: attach the
 * "tls" ULP to a loopback TCP connection and install dummy keys for each
 * version and cipher. Reading kernel versions or config files would guess;
 * the kernel's own answer to setsockopt() is the fact.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "internal.h"

/* A listening socket on 127.0.0.1 and its address; -errno on failure. */
static int probe_listen(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd, err;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)sa, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * A fresh connection to the listener: fd[0] the connecting side, fd[1]
 * the accepted one. 0 or -errno, with nothing left open on failure.
 */
static int probe_connect(int lfd, const struct sockaddr_in *sa, int fd[2])
{
	int err;

	fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd[0] < 0)
		return -errno;
	if (connect(fd[0], (const struct sockaddr *)sa, sizeof(*sa)))
		goto err;
	fd[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd[1] < 0)
		goto err;
	return 0;
err:
	err = -errno;
	close(fd[0]);
	fd[0] = -1;
	return err;
}

static void probe_close(int fd[2])
{
	close(fd[0]);
	close(fd[1]);
}

static int probe_set_ulp(int fd)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	return 0;
}

/* Install dummy keys for one direction; 0 or -errno. */
static int probe_install(int fd, int dir, unsigned short version, unsigned cipher,
			 unsigned char fill)
{
	union ktls_crypto_info ci;

	/* Any bytes will do: nothing is ever sent with these keys. */
	memset(&ci, fill, sizeof(ci));
	ci.info.version = version;
	ci.info.cipher_type = keys_kernel_cipher(cipher);
	if (setsockopt(fd, SOL_TLS, dir, &ci, keys_crypto_info_size(cipher)))
		return -errno;
	return 0;
}

/* Does the kernel have any tls module on disk for this release? */
static int probe_module_on_disk(const char *release)
{
	static const char *const dirs[] = {"/lib/modules", "/usr/lib/modules"};
	char path[256];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/kernel/net/tls", dirs[i], release);
		if (!stat(path, &st) && S_ISDIR(st.st_mode))
			return 1;
	}
	return 0;
}

/* Is "tls" among the ULPs that the kernel has registered? */
static int probe_ulp_registered(void)
{
	char buf[256], *tok, *save;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "re");
	int found = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, "tls"))
				found = 1;
	}
	fclose(f);
	return found;
}

/* 1 if this process has CAP_NET_ADMIN in its effective set, 0 if not. */
static int probe_net_admin(void)
{
	char line[128];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "re");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			found = 1;
			break;
		}
	fclose(f);
	return found && (caps >> CAP_NET_ADMIN & 1);
}

/* The operator-facing reason why TCP_ULP "tls" failed with err. */
static void probe_explain(struct ktls_probe *r, int err)
{
	const char *why;

	if (err != -ENOENT) {
		snprintf(r->why, sizeof(r->why),
			 "The kernel refused the TLS upper layer protocol (%s).", strerror(-err));
		return;
	}
	if (probe_ulp_registered() || !access("/sys/module/tls", F_OK))
		why = "The tls module is loaded but the kernel still refused "
		      "TCP_ULP \"tls\": check the kernel log.";
	else if (probe_module_on_disk(r->kernel) && !probe_net_admin())
		why = "The tls kernel module is not loaded, and the kernel "
		      "loads it on demand only for a process with "
		      "CAP_NET_ADMIN: run \"modprobe tls\" as root (or list "
		      "tls in /etc/modules-load.d/).";
	else if (probe_module_on_disk(r->kernel))
		why = "The kernel could not load its tls module: run "
		      "\"modprobe tls\" as root and check the kernel log.";
	else if (probe_net_admin())
		why = "This kernel has no TLS support (built without "
		      "CONFIG_TLS, or its tls module is not installed): boot a "
		      "kernel with CONFIG_TLS=m or =y.";
	else
		/* In a container /lib/modules is often absent: don't
		 * conclude that the kernel lacks TLS. */
		why = "The tls module is not loaded and not installed here: "
		      "run \"modprobe tls\" as root where the kernel's modules "
		      "are (the host of a container), or boot a kernel with "
		      "CONFIG_TLS=m or =y.";
	snprintf(r->why, sizeof(r->why), "%s", why);
}

/*
 * One version and one cipher on a fresh connection: TX, then RX, then
 * (TLS 1.3, once) a second TX to see whether the kernel takes a new key.
 */
static int probe_one(int lfd, const struct sockaddr_in *sa, struct ktls_probe *r,
		     unsigned short version, unsigned cipher, int *rekey_tried)
{
	unsigned *tx = version == TLS_1_2_VERSION ? &r->tx12 : &r->tx13;
	unsigned *rx = version == TLS_1_2_VERSION ? &r->rx12 : &r->rx13;
	int fd[2], err;

	err = probe_connect(lfd, sa, fd);
	if (err)
		return err;
	err = probe_set_ulp(fd[0]);
	if (err) {
		/* It worked on the first connection: the module went away. */
		r->ulp = err;
		goto out;
	}
	if (!probe_install(fd[0], TLS_TX, version, cipher, 0x11)) {
		*tx |= cipher;
		if (version == TLS_1_3_VERSION && !*rekey_tried) {
			*rekey_tried = 1;
			/* EBUSY before 6.14: a key, once set, stays. */
			r->rekey = !probe_install(fd[0], TLS_TX, version, cipher, 0x22);
		}
	}
	if (!probe_install(fd[0], TLS_RX, version, cipher, 0x33))
		*rx |= cipher;
	err = 0;
out:
	probe_close(fd);
	return err;
}

/* Copy one field of r to p if the caller's struct is long enough for it. */
static void probe_copy_field(struct ktls_probe *p, const struct ktls_probe *r, size_t off,
			     size_t len)
{
	if (off + len <= p->size)
		memcpy((char *)p + off, (const char *)r + off, len);
}

#define PROBE_COPY(p, r, f) probe_copy_field(p, r, offsetof(struct ktls_probe, f), sizeof(r->f))

static void probe_copy_out(struct ktls_probe *p, const struct ktls_probe *r)
{
	PROBE_COPY(p, r, ulp);
	PROBE_COPY(p, r, tx12);
	PROBE_COPY(p, r, rx12);
	PROBE_COPY(p, r, tx13);
	PROBE_COPY(p, r, rx13);
	PROBE_COPY(p, r, rekey);
	PROBE_COPY(p, r, kernel);
	PROBE_COPY(p, r, why);
}

/*
 * Find out what kernel TLS can do here (see ktls.h). p->size must cover
 * at least p->ulp; fields beyond p->size are left alone, so a caller
 * built against an older, shorter struct keeps working. Thread-safe: it
 * touches nothing but its own sockets.
 */
KTLS_EXPORT int ktls_probe(struct ktls_probe *p)
{
	static const unsigned short versions[] = {TLS_1_2_VERSION, TLS_1_3_VERSION};
	struct ktls_probe r;
	struct sockaddr_in sa;
	struct utsname u;
	int lfd, fd[2], err, rekey_tried = 0;
	size_t v;
	unsigned c;

	if (!p || p->size < offsetof(struct ktls_probe, ulp) + sizeof(p->ulp))
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	if (!uname(&u))
		snprintf(r.kernel, sizeof(r.kernel), "%s", u.release);

	lfd = probe_listen(&sa);
	if (lfd < 0)
		return lfd;
	/* The ULP alone first: without it nothing else can be tried. */
	err = probe_connect(lfd, &sa, fd);
	if (err)
		goto out;
	r.ulp = probe_set_ulp(fd[0]);
	probe_close(fd);
	if (r.ulp) {
		probe_explain(&r, r.ulp);
		goto done;
	}

	for (v = 0; v < sizeof(versions) / sizeof(versions[0]); v++)
		for (c = 1; c & KTLS_CIPHER_ALL; c <<= 1) {
			err = probe_one(lfd, &sa, &r, versions[v], c, &rekey_tried);
			if (err)
				goto out;
		}
	if (r.ulp)
		probe_explain(&r, r.ulp);
	else if (!(r.tx12 | r.tx13) || !(r.rx12 | r.rx13))
		snprintf(r.why, sizeof(r.why), "%s",
			 "The kernel has TLS but takes none of the ciphers: "
			 "its crypto modules (gcm, ccm, chacha20poly1305) "
			 "are missing or failed to load.");
done:
	probe_copy_out(p, &r);
	err = 0;
out:
	close(lfd);
	return err;
}
