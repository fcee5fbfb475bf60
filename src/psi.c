/* SPDX-License-Identifier: MIT */
#include "psi.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"

const char *psi_type_to_string(PsiType t)
{
        return t == PSI_SOME ? "some" : t == PSI_FULL ? "full" : NULL;
}

PsiType psi_type_from_string(const char *s)
{
        if (s && strcmp(s, "some") == 0)
                return PSI_SOME;
        if (s && strcmp(s, "full") == 0)
                return PSI_FULL;
        return _PSI_TYPE_INVALID;
}

/* "12.34" -> 1234; at most 3 integer digits and exactly 2 decimals. */
static int parse_hundredths(const char *s, size_t len, uint32_t *ret)
{
        const char *dot = memchr(s, '.', len);
        uint64_t ip, fp;

        if (!dot || (size_t)(s + len - dot) != 3 || dot == s || dot - s > 3)
                return -EINVAL;
        if (parse_u64_n(s, (size_t)(dot - s), &ip) < 0 || parse_u64_n(dot + 1, 2, &fp) < 0)
                return -EINVAL;
        if (ip > 100)
                return -EINVAL;
        *ret = (uint32_t)(ip * 100 + fp);
        return 0;
}

static int psi_parse_line(const char *p, size_t len, PsiLine *ret)
{
        PsiLine l = {};
        unsigned seen = 0;
        size_t i = 0;

        while (i < len) {
                size_t s = i, eq;
                while (i < len && p[i] != ' ')
                        i++;
                const char *f = p + s, *e = memchr(f, '=', i - s);
                if (!e)
                        return -EINVAL;
                eq = (size_t)(e - f);
                const char *v = e + 1;
                size_t vl = i - s - eq - 1;
                if (eq == 5 && memcmp(f, "avg10", 5) == 0) {
                        if (parse_hundredths(v, vl, &l.avg10) < 0)
                                return -EINVAL;
                        seen |= 1;
                } else if (eq == 5 && memcmp(f, "avg60", 5) == 0) {
                        if (parse_hundredths(v, vl, &l.avg60) < 0)
                                return -EINVAL;
                        seen |= 2;
                } else if (eq == 6 && memcmp(f, "avg300", 6) == 0) {
                        if (parse_hundredths(v, vl, &l.avg300) < 0)
                                return -EINVAL;
                        seen |= 4;
                } else if (eq == 5 && memcmp(f, "total", 5) == 0) {
                        if (parse_u64_n(v, vl, &l.total_usec) < 0)
                                return -EINVAL;
                        seen |= 8;
                }
                while (i < len && p[i] == ' ')
                        i++;
        }
        if (seen != 15)
                return -EINVAL;
        *ret = l;
        return 0;
}

int psi_parse(const char *buf, size_t len, PsiStats *ret)
{
        PsiStats st = {};
        bool has_some = false;
        const char *line;
        size_t pos = 0, n;

        while (next_line(buf, len, &pos, &line, &n)) {
                if (n == 0)
                        continue;
                if (n > 5 && memcmp(line, "some ", 5) == 0) {
                        if (psi_parse_line(line + 5, n - 5, &st.some) < 0)
                                return -EINVAL;
                        has_some = true;
                } else if (n > 5 && memcmp(line, "full ", 5) == 0) {
                        if (psi_parse_line(line + 5, n - 5, &st.full) < 0)
                                return -EINVAL;
                        st.has_full = true;
                } else
                        return -EINVAL;
        }
        if (!has_some)
                return -EINVAL;
        *ret = st;
        return 0;
}

int psi_trigger_validate(uint64_t stall_usec, uint64_t window_usec, bool privileged, const char **reason)
{
        const char *why = NULL;

        if (window_usec == 0 || window_usec > 10 * USEC_PER_SEC)
                why = "the PSI window must be more than 0 and at most 10 s";
        else if (stall_usec == 0 || stall_usec > window_usec)
                why = "the PSI stall threshold must be more than 0 and at most the window";
        else if (!privileged && window_usec % (2 * USEC_PER_SEC) != 0)
                why = "without CAP_SYS_RESOURCE the PSI window must be a multiple of 2 s";
        else if (window_usec < 500 * USEC_PER_MSEC)
                why = "PSI windows under 500 ms need Linux 6.4; use 500 ms or more";
        if (reason)
                *reason = why;
        return why ? -EINVAL : 0;
}

int psi_trigger_open(int dirfd, const char *file, PsiType type, uint64_t stall_usec, uint64_t window_usec)
{
        _cleanup_close_ int fd = -1;
        char buf[64];
        int n;

        if (type < 0 || type >= _PSI_TYPE_MAX)
                return -EINVAL;
        fd = openat(dirfd, file, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = snprintf(buf, sizeof(buf), "%s %llu %llu", psi_type_to_string(type),
                     (unsigned long long)stall_usec, (unsigned long long)window_usec);
        /* The kernel wants the terminating NUL in the write. */
        if (write(fd, buf, (size_t)n + 1) < 0)
                return -errno;
        return TAKE_FD(fd);
}

void psi_line_format_json(JsonWriter *j, const char *key, const PsiLine *l)
{
        json_key(j, key);
        json_object_open(j);
        json_key(j, "avg10");
        json_fixed(j, l->avg10, 2);
        json_key(j, "avg60");
        json_fixed(j, l->avg60, 2);
        json_key(j, "avg300");
        json_fixed(j, l->avg300, 2);
        json_key(j, "total_us");
        json_u64(j, l->total_usec);
        json_object_close(j);
}
