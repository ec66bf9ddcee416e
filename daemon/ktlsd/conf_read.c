// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The lines of both configuration files, ktlsd.conf and tlshd's, through
 * one reader: it counts lines, follows section headers, refuses a line
 * with a NUL byte or one longer than the buffer (either would be read as
 * something else), and wipes every line it leaves behind (a psk_key
 * maybe). Errors name the file and line.
 *
 * ktlsd.conf goes through libinih with this reader. tlshd's file does not:
 * it is a GLib key file, and Debian's libinih, built with its options
 * fixed (200-byte lines, indented lines continuing the previous value, ';'
 * after a blank starting a comment), would cut long paths, take an
 * indented key for part of the previous value and cut a value at " ;",
 * where GLib reads all of them as written. So the same reader feeds a
 * small key-file splitter instead.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf_parse.h"

/* GLib's own limit is memory; ours, a path and its key with room. */
#define KEYFILE_LINE_MAX	4096

int conf_fail(struct parse *p, int line, int err, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->ret)
		return p->ret;
	p->ret = err;
	p->err_line = line;
	if (!p->err || !p->errlen)
		return err;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->file);
	if (n < 0 || (size_t)n >= p->errlen)
		return err;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * One line into buf (size bytes, NUL-terminated, the newline kept if it
 * fits): its length; 0 at the end of the file; -E2BIG for a line of more
 * than size - 1 characters (buf holds its start), -EILSEQ for one with a
 * NUL byte (both read to their end, so that the next call reads the next
 * line); -EIO on a read error.
 */
static int conf_read_line(FILE *f, char *buf, size_t size)
{
	size_t len = 0;
	int ch, nul = 0, big = 0;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		nul |= !ch;
		if (len < size - 1)
			buf[len++] = ch;
		else
			big = 1;
	}
	if (ch == '\n' && len < size - 1)
		buf[len++] = '\n';
	buf[len] = '\0';
	if (ferror(f))
		return -EIO;
	if (nul)
		return -EILSEQ;
	if (big)
		return -E2BIG;
	return len;
}

static int is_comment(const struct parse *p, const char *s)
{
	s += strspn(s, " \t");
	return *s == '#' || (p->syntax == SYNTAX_INI && *s == ';');
}

/*
 * A header, "[name]": p->begin() sees it as the lines go by, empty
 * sections and names longer than inih's 50-byte section buffer too.
 */
static void header(struct parse *p, const char *line)
{
	const char *end = strchr(line, ']');
	char name[128];

	if (!end) {
		bad(p, "syntax error: 'key = value' or '[section]' expected");
		return;
	}
	if ((size_t)(end - line) > sizeof(name)) {
		bad(p, "section name too long");
		return;
	}
	memcpy(name, line + 1, end - line - 1);
	name[end - line - 1] = '\0';
	p->begin(p, name);
}

/* What a line says before its settings: a header, or an error. */
static void look(struct parse *p, char *s, int ret, int size)
{
	const char *t;

	if (ret == -EILSEQ) {
		bad(p, "a NUL byte in the line");
		return;
	}
	if (ret == -E2BIG && !is_comment(p, s)) {
		bad(p, "line longer than %d characters", size - 1);
		return;
	}
	if (p->line == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
		memmove(s, s + 3, strlen(s + 3) + 1);
	t = s + strspn(s, " \t");
	if (*s == '[' || (p->syntax == SYNTAX_KEYFILE && *t == '['))
		header(p, t);
	else if (!is_comment(p, s) && *t == '[')
		bad(p, "a section header must start at the beginning of the line");
}

/*
 * The reader, inih's or the key file's. It refuses lines longer than the
 * buffer, which inih would cut in two and parse as two lines (over-long
 * comments are cut short instead), and lines with a NUL byte, which C
 * strings would take to end there.
 *
 * buf is the parser's line buffer: each call wipes what the last line
 * left there, and the last call leaves it empty.
 */
static char *conf_reader(char *buf, int size, void *user)
{
	struct parse *p = user;
	int ret;

	explicit_bzero(buf, size);
	if (p->ret)
		return NULL;
	ret = conf_read_line(p->f, buf, size);
	if (ret && ret != -EIO) {
		p->line++;
		look(p, buf, ret, size);
	}
	/* At the end, conf_parse_file() tells a read error. */
	if (ret && ret != -EIO && !p->ret)
		return buf;
	explicit_bzero(buf, size);
	return NULL;
}

/*
 * inih's handler, for every "key = value" line. The value lies in inih's
 * line buffer, which it no longer needs once we return: whatever became
 * of the line, a key in it is wiped (a psk_key refused as a duplicate, in
 * the wrong section or misspelt too).
 */
static int on_setting(void *user, const char *section, const char *name,
		      const char *value)
{
	struct parse *p = user;
	int ret = p->ret ? -1 : p->set(p, name, (char *)value);

	(void)section;	/* the reader follows the sections */
	explicit_bzero((char *)value, strlen(value));
	return !ret;
}

char *conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* GKeyFile's escapes in string values: \s \n \t \r \\. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			*o++ = *s;
			continue;
		}
		s++;
		*o++ = *s == 's' ? ' ' : *s == 'n' ? '\n' : *s == 't' ? '\t' :
		       *s == 'r' ? '\r' : *s;
	}
	*o = 0;
}

/* tlshd's file: "key=value" under a "[group]", as GLib reads it. */
static void parse_keyfile(struct parse *p)
{
	char buf[KEYFILE_LINE_MAX], *s, *eq;
	int in_group = 0;

	while (conf_reader(buf, sizeof(buf), p)) {
		s = conf_trim(buf);
		if (!*s || is_comment(p, s))
			continue;	/* a long comment too */
		if (*s == '[') {
			in_group = 1;	/* the reader told p->begin() */
			continue;
		}
		eq = strchr(s, '=');
		if (!eq || !in_group) {
			bad(p, "syntax error: 'key=value' or '[group]' "
			    "expected");
			continue;
		}
		*eq = 0;
		/* Blanks around go; "\s" is how GLib keeps one. */
		s = conf_trim(s);
		eq = conf_trim(eq + 1);
		unescape(eq);
		p->set(p, s, eq);
	}
}

/* The line of inih's syntax error, if it comes before ours: the first. */
static void inih_error(struct parse *p, int line)
{
	if (line == -2) {
		conf_fail(p, 0, -ENOMEM, "out of memory");
	} else if (line > 0 && (!p->ret || line < p->err_line)) {
		p->ret = 0;
		conf_fail(p, line, -EINVAL, "syntax error: 'key = value' or "
			  "'[section]' expected");
	}
}

int conf_parse_file(struct parse *p)
{
	char iobuf[4096];
	int line = 0, err;

	p->f = fopen(p->file, "re");
	if (!p->f) {
		err = errno;
		return conf_fail(p, 0, -err, "%s", strerror(err));
	}
	/* Our buffer, so that a PSK read through it can be wiped. */
	setvbuf(p->f, iobuf, _IOFBF, sizeof(iobuf));
	if (p->syntax == SYNTAX_INI)
		line = ini_parse_stream(conf_reader, p, on_setting, p);
	else
		parse_keyfile(p);
	if (!p->ret && ferror(p->f))
		conf_fail(p, 0, -EIO, "read error");
	fclose(p->f);
	explicit_bzero(iobuf, sizeof(iobuf));
	p->f = NULL;
	/* inih goes on after a syntax error: it may come before ours. */
	inih_error(p, line);
	return p->ret;
}
