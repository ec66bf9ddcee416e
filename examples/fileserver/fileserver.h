/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What crosses between the file server's files: main.c is the program and
 * the dispatcher, serve.c the serving pool, http.c parses requests,
 * opens files beneath ROOT and writes response heads.
 */
#ifndef KTLS_FILESERVER_H
#define KTLS_FILESERVER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define HEAD_MAX	(16 * 1024)	/* request line and headers */
#define PEER_MAX	(INET6_ADDRSTRLEN + 8)

struct ktls_session;

struct request {
	const char *method, *target;
	char path[HEAD_MAX];	/* decoded, without the query */
	int minor;		/* HTTP/1.minor */
	int head;		/* HEAD: no body in the response */
	int keep;		/* keep the connection after the response */
};

/* main.c */
extern int quiet;		/* -q: no line per request */
extern int silent;		/* -n: errors only */
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * serve.c: a fixed pool of threads, each serving its clients from an epoll
 * set. workers_init() starts them (1 to 64): 0 or -errno. start_worker()
 * gives one client (fd and session, taken) to the next thread in turn;
 * workers_running() counts the clients being served.
 */
int workers_init(unsigned threads);
void start_worker(int fd, struct ktls_session *s, const char *peer);
int workers_running(void);

/* http.c: files beneath ROOT */
int root_open(const char *dir);
int open_path(const char *path, struct stat *st, char *name,
	      size_t name_len);
int open_status(int err);
const char *content_type(const char *name);

/* http.c: requests and response heads */
size_t head_end(const char *b, size_t len);
int parse_request(char *buf, size_t len, struct request *r);
const char *reason(int status);
size_t format_head(char *out, size_t len, int status, const char *type,
		   long long length, int keep);

static inline int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline time_t mono_sec(void)
{
	return mono_ms() / 1000;
}

#endif
