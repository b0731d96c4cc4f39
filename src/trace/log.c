/* An in-memory recorder of events, for rendering after the run (the seed's
 * table) and for tests. Event pointers are only valid during the callback
 * (trace.h), so each event is deep-copied: strings go to a per-log intern table
 * (a trace repeats a handful of host names and causes thousands of times; a
 * capture explained by `glasstcp explain` has one host name per endpoint, so
 * the table is hashed) and packet bytes are duplicated. */
#include "glasstcp/trace.h"

#include <stdlib.h>
#include <string.h>

struct gt_trace_log {
	gt_event *ev;
	size_t count;
	size_t cap;
	size_t dropped; /* events not recorded for want of memory */

	/* Interned strings. Each lives in its own allocation so pointers held by
	 * recorded events stay valid while the index array grows. slots is an
	 * open-addressing hash table (linear probing, power-of-two size, at most
	 * half full) of indexes into strs, plus one; 0 marks an empty slot. */
	char **strs;
	size_t nstrs;
	size_t strs_cap;
	size_t *slots;
	size_t nslots;
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
	free(log->slots);
	free(log);
}

/* FNV-1a: short keys, no adversary (the log's own trace). */
static size_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (size_t)h;
}

/* Doubles the hash table (or creates it); false on allocation failure. */
static bool grow_slots(gt_trace_log *log)
{
	size_t n = log->nslots ? 2 * log->nslots : 64;
	size_t *slots = calloc(n, sizeof *slots);
	if (!slots)
		return false;
	for (size_t i = 0; i < log->nstrs; i++) {
		size_t j = str_hash(log->strs[i]) & (n - 1);
		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = i + 1;
	}
	free(log->slots);
	log->slots = slots;
	log->nslots = n;
	return true;
}

/* Returns the log's copy of s (NULL stays NULL); false on allocation failure. */
static bool intern(gt_trace_log *log, const char *s, const char **out)
{
	*out = NULL;
	if (!s)
		return true;
	if (2 * (log->nstrs + 1) > log->nslots && !grow_slots(log))
		return false;
	size_t j = str_hash(s) & (log->nslots - 1);
	for (; log->slots[j]; j = (j + 1) & (log->nslots - 1)) {
		char *cand = log->strs[log->slots[j] - 1];
		if (strcmp(cand, s) == 0) {
			*out = cand;
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
	log->slots[j] = log->nstrs + 1;
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
