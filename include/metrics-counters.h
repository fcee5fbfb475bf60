/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "record.h"

/* What /metrics counts of the records the daemon dispatches: records by
 * type, step outcomes by policy, action and result (bounded: past
 * METRICS_ACTION_SERIES_MAX combinations the rest go to one "_other"
 * counter), and the latency from a decision's cause to each of its steps'
 * first outcome. Fed in dispatch order; no allocation. */

#define METRICS_ACTION_SERIES_MAX 128

typedef enum MetricsOrigin {
        METRICS_ORIGIN_KERNEL,   /* the watcher's records: what the kernel said */
        METRICS_ORIGIN_DECISION, /* a policy record, made while its cause is dispatched (or by a timer) */
        METRICS_ORIGIN_OUTCOME,  /* an action record */
        METRICS_ORIGIN_OTHER,
        _METRICS_ORIGIN_MAX,
        _METRICS_ORIGIN_INVALID = -22,
} MetricsOrigin;

typedef struct ActionCounter {
        char policy[192]; /* "name" or "namespace/name", raw bytes (escaped when written) */
        uint8_t action, result;
        uint64_t n;
} ActionCounter;

/* The decision last made for a cgroup (slot % LATENCY_CAUSES_N): when its
 * cause was seen, and which steps' first outcomes have been timed since. */
#define LATENCY_CAUSES_N 64
typedef struct LatencyCause {
        uint32_t slot, serial;
        uint64_t cause_usec;
        uint32_t timed; /* bit per ActionType */
        bool used;
} LatencyCause;

typedef struct MetricsCounters {
        uint64_t records[_RECORD_TYPE_MAX];
        ActionCounter actions[METRICS_ACTION_SERIES_MAX];
        unsigned n_actions;
        uint64_t actions_other; /* outcomes past the table: counted under policy="_other" */
        LatencyHistogram latency[_ACTION_TYPE_MAX];
        /* The kernel event (or timer) behind the decision being carried out. */
        bool in_watcher;
        uint64_t watcher_usec;
        LatencyCause causes[LATENCY_CAUSES_N];
} MetricsCounters;

/* A record on its way through the dispatch (now: its time, CLOCK_MONOTONIC),
 * and the end of its way (decisions made meanwhile had it as their cause). */
void metrics_counters_record(MetricsCounters *k, MetricsOrigin origin, const Record *r, uint64_t now_usec);
void metrics_counters_record_done(MetricsCounters *k, MetricsOrigin origin);
