/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static const char *const metric_type_names[_METRIC_TYPE_MAX] = {
        [METRIC_COUNTER] = "counter",
        [METRIC_GAUGE] = "gauge",
        [METRIC_HISTOGRAM] = "histogram",
};

const char *metric_type_to_string(MetricType t)
{
        return t >= 0 && t < _METRIC_TYPE_MAX ? metric_type_names[t] : NULL;
}

void metrics_init(MetricsWriter *w, char *buf, size_t size)
{
        *w = (MetricsWriter){ .buf = buf, .size = size };
        if (size > 0)
                buf[0] = '\0';
}

void metrics_rewind(MetricsWriter *w, size_t mark)
{
        if (mark > w->len)
                return;
        w->len = mark;
        w->overflow = false;
        w->in_line = false;
        if (w->size > 0)
                w->buf[w->len] = '\0';
}

static void put(MetricsWriter *w, const char *s, size_t n)
{
        if (w->overflow)
                return;
        if (w->size == 0 || n >= w->size - w->len) {
                w->overflow = true;
                return;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
}

static void puts_(MetricsWriter *w, const char *s)
{
        put(w, s, strlen(s));
}

void metrics_family(MetricsWriter *w, const char *name, MetricType type, const char *help)
{
        size_t mark = w->len;

        puts_(w, "# HELP ");
        puts_(w, name);
        put(w, " ", 1);
        puts_(w, help);
        puts_(w, "\n# TYPE ");
        puts_(w, name);
        put(w, " ", 1);
        puts_(w, metric_type_to_string(type) ?: "untyped");
        put(w, "\n", 1);
        if (w->overflow) { /* whole lines only */
                w->len = mark;
                w->buf[w->len] = '\0';
        }
}

void metrics_begin(MetricsWriter *w, const char *name)
{
        w->line_start = w->len;
        w->in_line = true;
        w->n_labels = 0;
        puts_(w, name);
}

static void label_sep(MetricsWriter *w)
{
        put(w, w->n_labels == 0 ? "{" : ",", 1);
        w->n_labels++;
}

void metrics_label_raw(MetricsWriter *w, const char *key, const char *escaped)
{
        label_sep(w);
        puts_(w, key);
        put(w, "=\"", 2);
        puts_(w, escaped);
        put(w, "\"", 1);
}

void metrics_label(MetricsWriter *w, const char *key, const char *value, size_t len)
{
        char esc[METRICS_LABEL_ESCAPED_MAX];

        metrics_label_value(value, len, esc, sizeof(esc));
        metrics_label_raw(w, key, esc);
}

void metrics_labels_raw(MetricsWriter *w, const char *pairs, size_t n_pairs)
{
        if (!pairs || n_pairs == 0)
                return;
        put(w, w->n_labels == 0 ? "{" : ",", 1);
        w->n_labels += (unsigned)n_pairs;
        puts_(w, pairs);
}

static void end_line(MetricsWriter *w, const char *v)
{
        if (w->n_labels > 0)
                put(w, "}", 1);
        put(w, " ", 1);
        puts_(w, v);
        put(w, "\n", 1);
        w->in_line = false;
        if (w->overflow) { /* whole lines only */
                w->len = w->line_start;
                w->buf[w->len] = '\0';
        }
}

void metrics_end_u64(MetricsWriter *w, uint64_t v)
{
        char b[24];

        snprintf(b, sizeof(b), "%" PRIu64, v);
        end_line(w, b);
}

size_t metrics_format_usec(uint64_t usec, char *buf, size_t size)
{
        uint64_t s = usec / 1000000, frac = usec % 1000000;
        int n;

        if (frac == 0)
                n = snprintf(buf, size, "%" PRIu64, s);
        else {
                unsigned digits = 6;
                while (frac % 10 == 0) {
                        frac /= 10;
                        digits--;
                }
                n = snprintf(buf, size, "%" PRIu64 ".%0*" PRIu64, s, (int)digits, frac);
        }
        return n < 0 ? 0 : (size_t)n;
}

void metrics_end_usec(MetricsWriter *w, uint64_t usec)
{
        char b[32];

        metrics_format_usec(usec, b, sizeof(b));
        end_line(w, b);
}

void metrics_end_raw(MetricsWriter *w, const char *v)
{
        end_line(w, v);
}

void metrics_sample_u64(MetricsWriter *w, const char *name, uint64_t v)
{
        metrics_begin(w, name);
        metrics_end_u64(w, v);
}

/* ---- label values ---- */

static uint64_t fnv1a64(const char *s, size_t len)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

#define HASH_SUFFIX_LEN 17 /* "~" and 16 hex digits */

/* A name that ends as a hash suffix would: it gets one of its own too, so
 * that a value written unchanged never equals another name's hashed one. */
static bool looks_hashed(const char *s, size_t len)
{
        if (len < HASH_SUFFIX_LEN || s[len - HASH_SUFFIX_LEN] != '~')
                return false;
        for (size_t i = len - HASH_SUFFIX_LEN + 1; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

size_t metrics_label_value(const char *in, size_t len, char *out, size_t size)
{
        char clean[METRICS_LABEL_VALUE_MAX + 1];
        size_t n, o = 0;

        if (size == 0)
                return 0;
        if (!in)
                in = "", len = 0;
        n = utf8_sanitize(in, len, clean, sizeof(clean));
        if (n != len || memcmp(clean, in, len) != 0 || looks_hashed(in, len)) {
                /* Changed or cut: room for the hash, then the hash of the raw bytes. */
                n = utf8_sanitize(in, len, clean, sizeof(clean) - HASH_SUFFIX_LEN);
                snprintf(clean + n, sizeof(clean) - n, "~%016" PRIx64, fnv1a64(in, len));
                n += HASH_SUFFIX_LEN;
        }
        for (size_t i = 0; i < n; i++) {
                char ch = clean[i];
                bool esc = ch == '\\' || ch == '"';
                if (o + 1 + esc >= size)
                        break;
                if (esc)
                        out[o++] = '\\';
                out[o++] = ch;
        }
        out[o] = '\0';
        return o;
}

/* ---- the latency histogram ---- */

const uint64_t latency_bucket_usec[LATENCY_BUCKETS] = {
        500,    1000,   2500,   5000,    10000,   25000,   50000,
        100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void latency_observe(LatencyHistogram *h, uint64_t usec)
{
        unsigned i = 0;

        while (i < LATENCY_BUCKETS && usec > latency_bucket_usec[i])
                i++;
        h->bucket[i]++;
        h->count++;
        h->sum_usec += usec;
}

void metrics_histogram(MetricsWriter *w, const char *base, const char *pairs, size_t n_pairs,
                       const LatencyHistogram *h)
{
        char name[128], le[32];
        uint64_t cum = 0;

        snprintf(name, sizeof(name), "%s_bucket", base);
        for (unsigned i = 0; i <= LATENCY_BUCKETS; i++) {
                cum += h->bucket[i];
                if (i < LATENCY_BUCKETS)
                        metrics_format_usec(latency_bucket_usec[i], le, sizeof(le));
                else
                        strcpy(le, "+Inf");
                metrics_begin(w, name);
                metrics_labels_raw(w, pairs, n_pairs);
                metrics_label_raw(w, "le", le);
                metrics_end_u64(w, cum);
        }
        snprintf(name, sizeof(name), "%s_sum", base);
        metrics_begin(w, name);
        metrics_labels_raw(w, pairs, n_pairs);
        metrics_end_usec(w, h->sum_usec);
        snprintf(name, sizeof(name), "%s_count", base);
        metrics_begin(w, name);
        metrics_labels_raw(w, pairs, n_pairs);
        metrics_end_u64(w, h->count);
}

/* ---- cardinality ---- */

static const char *const metrics_cgroups_names[_METRICS_CGROUPS_MAX] = {
        [METRICS_CGROUPS_NONE] = "none",
        [METRICS_CGROUPS_POLICY] = "policy",
        [METRICS_CGROUPS_LIMITED] = "limited",
        [METRICS_CGROUPS_ALL] = "all",
};

const char *metrics_cgroups_to_string(MetricsCgroups m)
{
        return m >= 0 && m < _METRICS_CGROUPS_MAX ? metrics_cgroups_names[m] : NULL;
}

MetricsCgroups metrics_cgroups_from_string(const char *s)
{
        for (int i = 0; s && i < _METRICS_CGROUPS_MAX; i++)
                if (strcmp(s, metrics_cgroups_names[i]) == 0)
                        return (MetricsCgroups)i;
        return _METRICS_CGROUPS_INVALID;
}

bool metrics_cgroup_wanted(MetricsCgroups mode, const Cgroup *c, bool has_policy)
{
        switch (mode) {
        case METRICS_CGROUPS_ALL:
                return true;
        case METRICS_CGROUPS_POLICY:
                return has_policy;
        case METRICS_CGROUPS_LIMITED:
                if (has_policy || c->high != UINT64_MAX || c->max != UINT64_MAX)
                        return true;
                switch (c->kind) {
                case CGROUP_KIND_ROOT:
                case CGROUP_KIND_SLICE:
                case CGROUP_KIND_KUBEPODS:
                case CGROUP_KIND_POD:
                case CGROUP_KIND_CONTAINER:
                        return true;
                default:
                        return false;
                }
        default:
                return false;
        }
}

static size_t add_pair(char *buf, size_t size, size_t o, const char *key, const char *v, size_t *n)
{
        char esc[METRICS_LABEL_ESCAPED_MAX];
        int k;

        if (!v || !v[0])
                return o;
        metrics_label_value(v, strlen(v), esc, sizeof(esc));
        k = snprintf(buf + o, size - o, "%s%s=\"%s\"", *n ? "," : "", key, esc);
        if (k < 0 || (size_t)k >= size - o) {
                buf[o] = '\0';
                return o;
        }
        (*n)++;
        return o + (size_t)k;
}

size_t metrics_cgroup_labels(const CgroupIdentity *id, char *buf, size_t size, size_t *ret_n)
{
        size_t o = 0, n = 0;

        if (size == 0)
                return 0;
        buf[0] = '\0';
        o = add_pair(buf, size, o, "cgroup", id->path ?: "", &n);
        o = add_pair(buf, size, o, "unit", id->unit, &n);
        o = add_pair(buf, size, o, "namespace", id->namespace, &n);
        o = add_pair(buf, size, o, "pod", id->pod, &n);
        o = add_pair(buf, size, o, "container", id->container, &n);
        *ret_n = n;
        return o;
}
