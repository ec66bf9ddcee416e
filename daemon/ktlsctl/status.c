// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl status [--json]: every kTLS socket of this network namespace,
 * from sock_diag (lib/sockinfo.c), with the processes that hold it as
 * ss -p finds them (their /proc/PID/fd links), then the kernel's counters
 * (/proc/net/tls_stat) and what each means. ktlsd need not run. As root:
 * every socket; as another user: that user's own (the processes of other
 * users cannot be seen anyway).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/tls.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"

#define OWNERS_MAX 4

struct owner {
	int pid;
	char comm[17];
};

struct entry {
	struct tls_sock s;
	struct owner owners[OWNERS_MAX];
	unsigned n_owners;
};

struct list {
	struct entry *v;
	size_t n, cap;
	int all;			/* root: every user's sockets */
};

static int collect(const struct tls_sock *s, void *arg)
{
	struct list *l = arg;
	struct entry *v;

	if (!l->all && s->uid != geteuid())
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		v = realloc(l->v, l->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n++].s = *s;
	return 0;
}

static void add_owner(struct entry *e, int pid)
{
	char path[64];
	struct owner *o;
	FILE *f;
	unsigned i;

	for (i = 0; i < e->n_owners; i++)
		if (e->owners[i].pid == pid)
			return;
	if (e->n_owners == OWNERS_MAX)
		return;
	o = &e->owners[e->n_owners++];
	o->pid = pid;
	strcpy(o->comm, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f && fgets(o->comm, sizeof(o->comm), f))
		o->comm[strcspn(o->comm, "\n")] = 0;
	if (f)
		fclose(f);
}

/* One process's descriptors: who holds which of our sockets. */
static void scan_pid(struct list *l, int pid)
{
	char path[64], link[64], lnk[PATH_MAX];
	unsigned long ino;
	struct dirent *d;
	DIR *dir;
	ssize_t n;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return;		/* gone, or another user's */
	while ((d = readdir(dir))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(lnk, sizeof(lnk), "%s/%s", path, d->d_name);
		n = readlink(lnk, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		for (i = 0; i < l->n; i++)
			if (l->v[i].s.inode == ino)
				add_owner(&l->v[i], pid);
	}
	closedir(dir);
}

static void find_owners(struct list *l)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;

	while (l->n && proc && (d = readdir(proc)))
		if (isdigit((unsigned char)d->d_name[0]))
			scan_pid(l, atoi(d->d_name));
	if (proc)
		closedir(proc);
}

/* ---- Words for the kernel's numbers ---- */

static const char *version_name(unsigned v)
{
	return v == TLS_1_3_VERSION ? "1.3" : v == TLS_1_2_VERSION ? "1.2" : "-";
}

static const char *cipher_name(unsigned c)
{
	switch (c) {
	case TLS_CIPHER_AES_GCM_128: return "aes-128-gcm";
	case TLS_CIPHER_AES_GCM_256: return "aes-256-gcm";
	case TLS_CIPHER_AES_CCM_128: return "aes-128-ccm";
	case TLS_CIPHER_CHACHA20_POLY1305: return "chacha20-poly1305";
	case TLS_CIPHER_SM4_GCM: return "sm4-gcm";
	case TLS_CIPHER_SM4_CCM: return "sm4-ccm";
	case 57: return "aria-128-gcm";
	case 58: return "aria-256-gcm";
	}
	return "-";
}

/* Off (the ULP only), in the kernel, on the NIC, on the NIC record by record. */
static const char *conf_name(unsigned c)
{
	switch (c) {
	case TLS_CONF_SW: return "sw";
	case TLS_CONF_HW: return "hw";
	case TLS_CONF_HW_RECORD: return "hw-record";
	}
	return "-";
}

static const char *state_name(unsigned s)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "established", [TCP_SYN_SENT] = "syn-sent",
		[TCP_SYN_RECV] = "syn-recv", [TCP_FIN_WAIT1] = "fin-wait-1",
		[TCP_FIN_WAIT2] = "fin-wait-2", [TCP_TIME_WAIT] = "time-wait",
		[TCP_CLOSE] = "close", [TCP_CLOSE_WAIT] = "close-wait",
		[TCP_LAST_ACK] = "last-ack", [TCP_LISTEN] = "listen",
		[TCP_CLOSING] = "closing",
	};

	return s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "?";
}

static void address(const struct tls_sock *s, int peer, char *buf, size_t len)
{
	const uint8_t *a = peer ? s->dst : s->src;
	char host[INET6_ADDRSTRLEN] = "?";
	int v4mapped = s->family == AF_INET6 && !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);

	if (s->family == AF_INET || v4mapped)
		inet_ntop(AF_INET, v4mapped ? a + 12 : a, host, sizeof(host));
	else
		inet_ntop(AF_INET6, a, host, sizeof(host));
	snprintf(buf, len, s->family == AF_INET6 && !v4mapped ? "[%s]:%u" : "%s:%u",
		 host, peer ? s->dport : s->sport);
}

/* ---- Output ---- */

/* "comm[pid],..." or "-"; and the TCP state unless established. */
static void owners(const struct entry *e, char *buf, size_t len)
{
	size_t n = 0;
	unsigned k;

	buf[0] = 0;
	for (k = 0; k < e->n_owners && n < len; k++)
		n += snprintf(buf + n, len - n, "%s%s[%d]", k ? "," : "",
			      e->owners[k].comm, e->owners[k].pid);
	if (!e->n_owners)
		n = snprintf(buf, len, "-");
	if (e->s.state != TCP_ESTABLISHED && n < len)
		snprintf(buf + n, len - n, " (%s)", state_name(e->s.state));
}

static void print_table(const struct list *l)
{
	char local[64], peer[64], procs[160];
	size_t i;

	printf("%-22s %-22s %-3s %-17s %-9s %-9s %-3s %-5s %s\n", "LOCAL",
	       "PEER", "TLS", "CIPHER", "TX", "RX", "ZC", "NOPAD", "PROCESS");
	for (i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];

		address(&e->s, 0, local, sizeof(local));
		address(&e->s, 1, peer, sizeof(peer));
		owners(e, procs, sizeof(procs));
		printf("%-22s %-22s %-3s %-17s %-9s %-9s %-3s %-5s %s\n", local,
		       peer, version_name(e->s.version), cipher_name(e->s.cipher),
		       conf_name(e->s.txconf), conf_name(e->s.rxconf),
		       e->s.zc_sendfile ? "yes" : "no",
		       e->s.rx_no_pad ? "yes" : "no", procs);
	}
	if (!l->n)
		printf("(no kTLS sockets%s)\n", l->all ? "" : " of yours");
}

static void print_json_socket(const struct entry *e)
{
	char local[64], peer[64];
	unsigned k;

	address(&e->s, 0, local, sizeof(local));
	address(&e->s, 1, peer, sizeof(peer));
	printf("{\"local\":\"%s\",\"peer\":\"%s\",\"state\":\"%s\",\"uid\":%u,"
	       "\"inode\":%u,\"version\":\"%s\",\"cipher\":\"%s\",\"tx\":\"%s\","
	       "\"rx\":\"%s\",\"zerocopy_sendfile\":%s,\"rx_no_pad\":%s,"
	       "\"processes\":[", local, peer, state_name(e->s.state), e->s.uid,
	       e->s.inode, version_name(e->s.version), cipher_name(e->s.cipher),
	       conf_name(e->s.txconf), conf_name(e->s.rxconf),
	       e->s.zc_sendfile ? "true" : "false", e->s.rx_no_pad ? "true" : "false");
	for (k = 0; k < e->n_owners; k++) {
		printf("%s{\"pid\":%d,\"comm\":", k ? "," : "", e->owners[k].pid);
		ctl_json_string(e->owners[k].comm);
		putchar('}');
	}
	printf("]}");
}

static int counter_text(const char *name, unsigned long long v, void *arg)
{
	const char *meaning = tls_stat_meaning(name);

	(void)arg;
	printf("  %-20s %10llu  %s\n", name, v, meaning ? meaning : "");
	return 0;
}

static int counter_json(const char *name, unsigned long long v, void *arg)
{
	int *n = arg;

	printf("%s\"%s\":%llu", (*n)++ ? "," : "", name, v);
	return 0;
}

static const char status_usage[] = "usage: ktlsctl status [--json]\n";

int ctl_status(int argc, char **argv)
{
	struct list l = { .all = geteuid() == 0 };
	int json = 0, visible, ret, n;
	size_t i;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json"))) {
		fputs(status_usage, stderr);
		return 2;
	}
	json = argc == 2;
	visible = sockinfo_tls_visible();
	ret = visible > 0 ? sockinfo_tls_sockets(collect, &l) : 0;
	if (ret) {
		fprintf(stderr, "ktlsctl: sock_diag: %s\n", strerror(-ret));
		free(l.v);
		return 1;
	}
	find_owners(&l);
	if (!visible)
		fprintf(stderr, "ktlsctl: this kernel shows the TLS details of "
			"sockets to CAP_NET_ADMIN only (before Linux 6.15): run "
			"as root to see them\n");
	if (json) {
		printf("{\"sockets\":[");
		for (i = 0; i < l.n; i++) {
			fputs(i ? "," : "", stdout);
			print_json_socket(&l.v[i]);
		}
		printf("],\"all_users\":%s,\"details_withheld\":%s,\"tls_stat\":{",
		       l.all ? "true" : "false", visible ? "false" : "true");
		n = 0;
		tls_stat_read(NULL, counter_json, &n);
		printf("}}\n");
	} else {
		if (visible == -ENOENT)
			printf("(no kTLS here: the kernel's tls module is not loaded)\n");
		else
			print_table(&l);
		printf("\nThe kernel's kTLS counters (%s, this network namespace):\n",
		       TLS_STAT_PATH);
		if (tls_stat_read(NULL, counter_text, NULL) < 0)
			printf("  (none: the tls module is not loaded)\n");
		if (l.n)
			printf("\nPROCESS \"-\": no process holds the socket: the kernel's "
			       "own (NFS, NVMe over TLS), or one being handed over.\n");
	}
	free(l.v);
	return 0;
}
