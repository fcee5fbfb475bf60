/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"

/* The Prometheus text exposition format (version 0.0.4), written into a
 * caller-owned fixed buffer: no allocation, so a scrape costs the daemon no
 * memory beyond its preallocated buffers. Lines are written whole or not at
 * all: on overflow the writer stops and sets `overflow`; the caller resumes
 * from a mark (metrics_mark()/metrics_rewind()) into an emptied buffer.
 *
 * Label values come from cgroup, unit, pod and container names that tenants
 * choose: every value goes through metrics_label_value() (escaped per the
 * text format, valid UTF-8, bounded, and distinct inputs stay distinct). */

#define METRICS_LABEL_VALUE_MAX 256  /* bytes of a label value before escaping (with a hash suffix) */
#define METRICS_LINE_MAX        4096 /* a sample line: name, labels (escaped: at most 2x), value */

typedef enum MetricType {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
        _METRIC_TYPE_MAX,
        _METRIC_TYPE_INVALID = -22,
} MetricType;

const char *metric_type_to_string(MetricType t);

typedef struct MetricsWriter {
        char *buf;
        size_t size, len;
        bool overflow;
        bool in_line;      /* a sample line is open */
        unsigned n_labels; /* of the open line */
        size_t line_start;
} MetricsWriter;

void metrics_init(MetricsWriter *w, char *buf, size_t size);
static inline size_t metrics_mark(const MetricsWriter *w)
{
        return w->len;
}
/* Back to a mark: what was written since is gone, overflow cleared. */
void metrics_rewind(MetricsWriter *w, size_t mark);

/* "# HELP name help\n# TYPE name type\n". help must be plain ASCII text of ours. */
void metrics_family(MetricsWriter *w, const char *name, MetricType type, const char *help);

/* A sample line: begin with the metric's name, add labels, end with a value.
 * metrics_label() escapes value (any bytes) with metrics_label_value();
 * metrics_label_raw() takes an already escaped value; metrics_labels_raw()
 * appends k="v",... pairs formatted by metrics_cgroup_labels(). */
void metrics_begin(MetricsWriter *w, const char *name);
void metrics_label(MetricsWriter *w, const char *key, const char *value, size_t len);
void metrics_label_raw(MetricsWriter *w, const char *key, const char *escaped);
void metrics_labels_raw(MetricsWriter *w, const char *pairs, size_t n_pairs);
void metrics_end_u64(MetricsWriter *w, uint64_t v);
/* usec as seconds, exact: 1500000 -> "1.5" */
void metrics_end_usec(MetricsWriter *w, uint64_t usec);
/* A literal value ("+Inf", "NaN", "1.25"). */
void metrics_end_raw(MetricsWriter *w, const char *v);

/* One whole sample without labels. */
void metrics_sample_u64(MetricsWriter *w, const char *name, uint64_t v);

/* usec as seconds, shortest exact decimal, into buf (>= 32 bytes). */
size_t metrics_format_usec(uint64_t usec, char *buf, size_t size);

/* A label value as written between the quotes: in (len bytes, any) made valid
 * UTF-8 without controls (utf8_sanitize(): each other byte as the text "\xNN"),
 * cut between characters to METRICS_LABEL_VALUE_MAX, then '\\' and '"'
 * escaped. When the value had to change (a control, invalid UTF-8, cut),
 * or already ends like that suffix, "~" and 16 hex digits of a hash (FNV-1a
 * 64) of the raw bytes are appended, so that two different names do not
 * give one series (short of a crafted hash collision). out gets at most
 * 2 * METRICS_LABEL_VALUE_MAX + 1 bytes (always NUL-terminated). Returns the
 * length written. */
#define METRICS_LABEL_ESCAPED_MAX (2 * METRICS_LABEL_VALUE_MAX + 1)
size_t metrics_label_value(const char *in, size_t len, char *out, size_t size);

/* ---- the event-to-action latency histogram ---- */

#define LATENCY_BUCKETS 14
extern const uint64_t latency_bucket_usec[LATENCY_BUCKETS]; /* upper bounds, ascending; then +Inf */

typedef struct LatencyHistogram {
        uint64_t bucket[LATENCY_BUCKETS + 1]; /* not cumulative; the last is above every bound */
        uint64_t count, sum_usec;
} LatencyHistogram;

void latency_observe(LatencyHistogram *h, uint64_t usec);
/* name_bucket{labels,le=".."} cumulative, name_sum (seconds), name_count.
 * base: the name without _bucket; pairs: preformatted labels or NULL. */
void metrics_histogram(MetricsWriter *w, const char *base, const char *pairs, size_t n_pairs,
                       const LatencyHistogram *h);

/* ---- which cgroups get series of their own ---- */

typedef enum MetricsCgroups {
        METRICS_CGROUPS_NONE,    /* agent metrics only */
        METRICS_CGROUPS_POLICY,  /* cgroups with a policy bound */
        METRICS_CGROUPS_LIMITED, /* the root, slices, kubepods, pods, containers, a limit or a policy */
        METRICS_CGROUPS_ALL,     /* every modelled cgroup */
        _METRICS_CGROUPS_MAX,
        _METRICS_CGROUPS_INVALID = -22,
} MetricsCgroups;

#define METRICS_MAX_CGROUPS_DEFAULT 2000
#define METRICS_MAX_CGROUPS_LIMIT   100000

const char *metrics_cgroups_to_string(MetricsCgroups m);
MetricsCgroups metrics_cgroups_from_string(const char *s);

/* Whether c gets per-cgroup series under mode (before the cap). */
bool metrics_cgroup_wanted(MetricsCgroups mode, const Cgroup *c, bool has_policy);

/* The cgroup's label pairs, escaped: cgroup="PATH" and, when known and not
 * empty, unit, namespace, pod, container. Returns the length (the buffer is
 * NUL-terminated; METRICS_CGROUP_LABELS_MAX always fits) and the number of
 * pairs in *ret_n. */
#define METRICS_CGROUP_LABELS_MAX (5 * (METRICS_LABEL_ESCAPED_MAX + 16))
size_t metrics_cgroup_labels(const CgroupIdentity *id, char *buf, size_t size, size_t *ret_n);
