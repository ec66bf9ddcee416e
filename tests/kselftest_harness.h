/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's kselftest harness, as tests/fetch-harness puts it into
 * $(B)/kselftest (unmodified), plus a leak check at the end of each test
 * when the tests are built with AddressSanitizer (make SANITIZE=1).
 *
 * Tests include "kselftest_harness.h" and get this file: the Makefile
 * names tests/ with -iquote, so it comes first for quoted includes, and
 * the harness's own directory with -I, so that <kselftest_harness.h>
 * below is the real one.
 *
 * Why a leak check of our own: the harness runs each test in a child
 * that ends with _exit(), so LeakSanitizer's check at exit never runs
 * where the test ran. TEST_HARNESS_MAIN is redefined to route every
 * test's function through leakcheck_run(), which asks LeakSanitizer
 * in that child, after the fixture's teardown, and fails the test when
 * memory was lost. The parent's own check at exit stays as it was.
 */
#ifndef KTLS_TESTS_KSELFTEST_HARNESS_H
#define KTLS_TESTS_KSELFTEST_HARNESS_H

/*
 * Helper units (tests/lib/, and helpers that a group of tests shares) are
 * compiled once and linked into many tests; they define KTLS_TEST_HELPER
 * and include this file for ASSERT_*() and TH_LOG() on the test's
 * _metadata. The harness defines a few functions and variables outside
 * any static or inline: in a helper unit they are made weak, so the test
 * program's own copies (the same code) are the ones linked, and nobody
 * defines them twice. The rest of the harness, which a helper never runs,
 * is allowed to go unused there.
 */
#ifdef KTLS_TEST_HELPER
#pragma weak _fixture_global
#pragma weak __active_test
#pragma weak __wait_for_test
#pragma weak __run_test
#endif

/* kselftest.h passes its own format strings on to vprintf(). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#ifdef KTLS_TEST_HELPER
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#include <kselftest_harness.h>
#pragma GCC diagnostic pop

#if defined(__SANITIZE_ADDRESS__)
#define KTLS_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KTLS_LEAK_CHECK 1
#endif
#endif

/* The leak check belongs to the test program's main(), not to helpers. */
#if defined(KTLS_LEAK_CHECK) && !defined(KTLS_TEST_HELPER)
#include <sanitizer/lsan_interface.h>

typedef void (*leakcheck_fn)(struct __test_metadata *,
			     struct __fixture_variant_metadata *);

/* Each test's own function, by test: a list, reachable, never freed. */
static struct leakcheck_entry {
	struct __test_metadata *t;
	leakcheck_fn fn;
	struct leakcheck_entry *next;
} *leakcheck_entries;

/*
 * In the test's child: the test's own function (setup, body, teardown),
 * then the leak check. A leak fails the test, a skipped one too (its skip
 * path lost the memory); the harness then exits the child with the test's
 * step number, which it reports as a failure.
 */
static void leakcheck_run(struct __test_metadata *t,
			  struct __fixture_variant_metadata *variant)
{
	struct leakcheck_entry *e;

	for (e = leakcheck_entries; e && e->t != t; e = e->next)
		;
	if (!e) {
		ksft_print_msg("%s: no function recorded for this test\n", t->name);
		_exit(KSFT_FAIL);
	}
	e->fn(t, variant);
	if (!__lsan_do_recoverable_leak_check())
		return;
	ksft_print_msg("%s: LeakSanitizer: memory lost by the test (report above)\n",
		       t->name);
	fflush(stdout);	/* the child ends with _exit() */
	t->skip = 0;
	t->passed = 0;
}

/* Route t through the leak check; 0, or -ENOMEM. */
static inline int leakcheck_wrap(struct __test_metadata *t)
{
	struct leakcheck_entry *e;

	if (t->fn == leakcheck_run)
		return 0;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->t = t;
	e->fn = t->fn;
	e->next = leakcheck_entries;
	leakcheck_entries = e;
	t->fn = leakcheck_run;
	return 0;
}

static inline int leakcheck_wrap_all(void)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			if (leakcheck_wrap(t))
				return -ENOMEM;
	return 0;
}

/*
 * tests/lsan.supp (the Makefile passes its path), wherever the binary
 * runs from. A test file that needs a suppression to match on frames in
 * GnuTLS (built without frame pointers) defines KTLS_LSAN_OPTIONS as
 * ":fast_unwind_on_malloc=0" before including this: full unwinding on
 * every malloc, which costs up to 20 times the CPU, so not for all.
 * $LSAN_OPTIONS still overrides.
 */
#ifdef KTLS_LSAN_SUPPRESSIONS
#ifndef KTLS_LSAN_OPTIONS
#define KTLS_LSAN_OPTIONS ""
#endif
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "suppressions=" KTLS_LSAN_SUPPRESSIONS ":print_suppressions=0"
	       KTLS_LSAN_OPTIONS;
}
#endif

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN \
	static void __attribute__((constructor)) \
	__constructor_order_last(void) \
	{ \
		if (!__constructor_order) \
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	} \
	int main(int argc, char **argv) { \
		if (leakcheck_wrap_all()) { \
			perror("leak check"); \
			return KSFT_FAIL; \
		} \
		return test_harness_run(argc, argv); \
	}
#endif /* KTLS_LEAK_CHECK */

#endif /* KTLS_TESTS_KSELFTEST_HARNESS_H */
