// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Client resumption's keys in [profile NAME] (resume.c does the rest):
 * resumption = yes|no, resumption_cache = N; both for client profiles.
 */
#include <errno.h>

#include "conf_parse.h"
#include "daemon.h"

static struct profile *cur(struct parse *p)
{
	return &p->c->profiles[p->c->n_profiles - 1];
}

int resume_conf_enable(struct parse *p, const char *value)
{
	static const char *const words[] = { "yes", "no", NULL };
	int i = conf_choose(p, "resumption", value, words);

	if (i < 0)
		return i;
	cur(p)->resumption = i == 0;
	return 0;
}

int resume_conf_cache(struct parse *p, const char *value)
{
	return conf_number(p, "resumption_cache", value, 1, RESUME_CACHE_MAX,
			   &cur(p)->resumption_cache);
}

int resume_conf_check(struct parse *p, size_t i)
{
	const struct profile *pr = &p->c->profiles[i];
	const struct draft *d = p->drafts[i];
	int line = d->seen[P_RESUME] ? d->seen[P_RESUME] : d->seen[P_RESUME_CACHE];

	if (pr->role != KTLS_CLIENT && line)
		return conf_fail(p, line, -EINVAL, "%s is for client profiles",
				 d->seen[P_RESUME] ? "resumption" :
				 "resumption_cache");
	return 0;
}
