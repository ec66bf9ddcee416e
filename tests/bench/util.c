// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What every measure of the bench uses: failing, clocks and CPU time,
 * the completed handshakes and the counting window, small file and
 * process helpers.
 */
#include <dirent.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>

#include "bench.h"
#include "hsproc.h"

const char *side = "setup";

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench: %s: ", side);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* User plus system CPU seconds of this process so far. */
double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die("out of memory");
	return p;
}

void start_thread(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	int ret = pthread_create(tid, NULL, fn, arg);

	if (ret)
		die("pthread_create: %s", strerror(ret));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v[0..n), sorting v; 0 for none. */
static double quantile(double *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(q * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

void rec_add(struct recs *r, double end, double ms)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		if (!r->v)
			die("out of memory");
	}
	r->v[r->n].end = end;
	r->v[r->n++].ms = ms;
}

void recs_merge(struct recs *to, const struct recs *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		rec_add(to, from->v[i].end, from->v[i].ms);
}

void window_init(struct window *w)
{
	atomic_store(&w->t0, INFINITY);
	atomic_store(&w->t1, INFINITY);
}

int window_over(struct window *w)
{
	return now() >= atomic_load(&w->t1);
}

/* Those records that ended inside the window; their p50 and p99 times. */
unsigned long in_window_stats(const struct recs *r, struct window *w,
			      double *p50, double *p99)
{
	double t0 = atomic_load(&w->t0), t1 = atomic_load(&w->t1);
	double *v = xcalloc(r->n + 1, sizeof(*v));
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].end >= t0 && r->v[i].end < t1)
			v[n++] = r->v[i].ms;
	*p50 = quantile(v, n, 0.50);
	*p99 = quantile(v, n, 0.99);
	free(v);
	return n;
}

void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write_full(fd, text, strlen(text)) < 0 || close(fd))
		die("writing %s: %s", path, strerror(errno));
}

/* snprintf() that refuses to truncate: paths and configurations. */
void fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("text too long for its buffer: %.60s...", buf);
}

/* Confine this process (and what it starts from now on) to one CPU. */
void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity to CPU %d: %s", cpu, strerror(errno));
}

/* Enough descriptors for n of everything; the daemon inherits the limit. */
void need_nofile(rlim_t n)
{
	int err = raise_nofile(n);

	if (err)
		die("cannot raise RLIMIT_NOFILE to %llu (%s): run as root, or "
		    "raise the hard limit", (unsigned long long)n,
		    strerror(-err));
}

/* Open descriptors of a process, or -1. */
long proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	fmt(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* CPU seconds (user + system) a process has used so far, or -1. */
double proc_cpu(pid_t pid)
{
	unsigned long long ut, st;
	char buf[1024];
	const char *p = proc_stat(pid, buf, sizeof(buf), NULL, 0);

	/* From the state: utime and stime are the 12th and 13th fields. */
	if (!p || sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/*
 * Open the window once `ready` handshakes have finished and warmup
 * seconds have passed; close it seconds later. Returns the CPU seconds
 * used inside it by this process and by `other` (0: none).
 */
double run_window(struct window *w, const struct opts *o,
		  atomic_ulong *finished, unsigned long ready, pid_t other)
{
	double start = now(), t0, cpu0, cpu1;

	while ((finished && atomic_load(finished) < ready) ||
	       now() < start + o->warmup) {
		if (now() > start + 600)
			die("no handshake completes (%lu of %lu after 600 s)",
			    finished ? atomic_load(finished) : 0, ready);
		sleep_s(0.02);
	}
	cpu0 = cpu_seconds() + (other ? proc_cpu(other) : 0);
	t0 = now();
	atomic_store(&w->t1, t0 + o->seconds);
	atomic_store(&w->t0, t0);
	sleep_s(o->seconds);
	cpu1 = cpu_seconds() + (other ? proc_cpu(other) : 0);
	return cpu1 - cpu0;
}
