/* An in-memory recorder of events, for rendering after the run (the seed's
 * table) and for tests. Event pointers are only valid during the callback
 * (trace.h), so each event is deep-copied: strings go to a per-log intern table
 * (a trace repeats a handful of host names and causes thousands of times) and
 * packet bytes are duplicated. */
#include "glasstcp/trace.h"

#include <stdlib.h>
#include <string.h>

struct gt_trace_log {
	gt_event *ev;
	size_t count;
	size_t cap;
	size_t dropped; /* events not recorded for want of memory */

	/* Interned strings. Each lives in its own allocation so pointers held by
	 * recorded events stay valid while the index array grows. */
	char **strs;
	size_t nstrs;
	size_t strs_cap;
};

gt_trace_log *gt_trace_log_new(void)
{
	return calloc(1, sizeof(gt_trace_log));
}

void gt_trace_log_free(gt_trace_log *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->count; i++)
		free((void *)log->ev[i].pkt);
	for (size_t i = 0; i < log->nstrs; i++)
		free(log->strs[i]);
	free(log->ev);
	free(log->strs);
	free(log);
}

/* Returns the log's copy of s (NULL stays NULL); false on allocation failure. */
static bool intern(gt_trace_log *log, const char *s, const char **out)
{
	*out = NULL;
	if (!s)
		return true;
	/* Linear: a trace has a few hosts and a few dozen distinct causes. Search
	 * from the newest, where the last host and cause usually are. */
	for (size_t i = log->nstrs; i-- > 0;) {
		if (strcmp(log->strs[i], s) == 0) {
			*out = log->strs[i];
			return true;
		}
	}
	if (log->nstrs == log->strs_cap) {
		size_t cap = log->strs_cap ? 2 * log->strs_cap : 8;
		char **strs = realloc(log->strs, cap * sizeof *strs);
		if (!strs)
			return false;
		log->strs = strs;
		log->strs_cap = cap;
	}
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);
	if (!copy)
		return false;
	memcpy(copy, s, n);
	log->strs[log->nstrs++] = copy;
	*out = copy;
	return true;
}

void gt_trace_log_record(void *user, const gt_event *ev)
{
	gt_trace_log *log = user;
	if (!log || !ev)
		return;
	/* An event callback cannot fail, so on allocation failure the event is
	 * not recorded rather than recorded half-copied. */
	if (log->count == log->cap) {
		size_t cap = log->cap ? 2 * log->cap : 64;
		gt_event *arr = realloc(log->ev, cap * sizeof *arr);
		if (!arr) {
			log->dropped++;
			return;
		}
		log->ev = arr;
		log->cap = cap;
	}
	gt_event copy = *ev;
	/* cause belongs to state events only (trace.h); elsewhere it is not
	 * promised to be initialised, so it is not followed. */
	if (!intern(log, ev->host, &copy.host) ||
	    !intern(log, ev->kind == GT_EV_STATE ? ev->cause : NULL, &copy.cause)) {
		log->dropped++;
		return;
	}
	copy.pkt = NULL;
	copy.pkt_len = 0;
	if (ev->pkt && ev->pkt_len) {
		uint8_t *pkt = malloc(ev->pkt_len);
		if (!pkt) {
			log->dropped++;
			return;
		}
		memcpy(pkt, ev->pkt, ev->pkt_len);
		copy.pkt = pkt;
		copy.pkt_len = ev->pkt_len;
	}
	log->ev[log->count++] = copy;
}

size_t gt_trace_log_count(const gt_trace_log *log)
{
	return log ? log->count : 0;
}

const gt_event *gt_trace_log_get(const gt_trace_log *log, size_t i)
{
	return log && i < log->count ? &log->ev[i] : NULL;
}

size_t gt_trace_log_dropped(const gt_trace_log *log)
{
	return log ? log->dropped : 0;
}
