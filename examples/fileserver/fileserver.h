/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What crosses between the file server's files: http.c parses requests,
 * opens files beneath ROOT and writes response heads; main.c is the
 * program that hands connections to ktlsd and serves them.
 */
#ifndef KTLS_FILESERVER_H
#define KTLS_FILESERVER_H

#include <stddef.h>
#include <sys/stat.h>

#define HEAD_MAX	(16 * 1024)	/* request line and headers */

struct request {
	const char *method, *target;
	char path[HEAD_MAX];	/* decoded, without the query */
	int minor;		/* HTTP/1.minor */
	int head;		/* HEAD: no body in the response */
	int keep;		/* keep the connection after the response */
};

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

#endif
