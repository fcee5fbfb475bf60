/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "metrics-counters.h"
#include "metrics.h"

/* /metrics and /healthz over HTTP (daemon/metrics-http.c), served from the
 * daemon's own loop by libmicrohttpd, dlopen()ed only when enabled. The
 * counters kept for them (daemon/metrics-daemon.c) are fed from
 * manager_dispatch(). */

#define METRICS_LISTEN_DEFAULT_PORT 9743

typedef struct MetricsConfig {
        const char *listen; /* "ADDR:PORT", "[ADDR6]:PORT"; NULL: off */
        MetricsCgroups cgroups;
        unsigned max_cgroups;
} MetricsConfig;

typedef struct Manager Manager;
typedef struct Metrics Metrics;

/* metrics-http.c */
int metrics_start(Manager *m, const MetricsConfig *cfg, Metrics **ret);
Metrics *metrics_stop(Metrics *x);
/* 0 if s is an address --metrics-listen takes, else -EINVAL. */
int metrics_listen_valid(const char *s);

/* Called by manager_dispatch() before and after each record's way through. */
void metrics_record(Metrics *x, int origin, const Record *r);
void metrics_record_done(Metrics *x, int origin);

/* metrics-daemon.c: the exposition, written item by item into a staging buffer. */
typedef struct ScrapeCursor {
        unsigned family, slot;
        bool header_done;
        unsigned n_selected, n_omitted; /* this family so far */
        unsigned last_omitted;          /* of the last per-cgroup family done */
        bool done;
} ScrapeCursor;

/* Fill w with as many whole items as fit from c on; sets c->done at the end. */
void metrics_scrape_fill(Manager *m, const MetricsConfig *cfg, const MetricsCounters *k, ScrapeCursor *c,
                         MetricsWriter *w);
