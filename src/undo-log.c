/* SPDX-License-Identifier: MIT */
#include "undo-log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "planner.h"

#define FIELDS   7
#define FILE_MAX ((off_t)sizeof(UNDO_HEADER) + (off_t)UNDO_ENTRIES_MAX * UNDO_LINE_MAX)

const char *undo_kind_to_string(UndoKind k)
{
        return k == UNDO_THROTTLE ? "throttle" : k == UNDO_FREEZE ? "freeze" : NULL;
}

static bool raw_ok(unsigned char c)
{
        return c > 0x20 && c < 0x7f && c != '%';
}

/* Escaped s at buf[*k]; false if it does not fit. */
static bool put_escaped(char *buf, size_t size, size_t *k, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";

        if (!s[0] || strcmp(s, "-") == 0) {
                const char *v = s[0] ? "%2D" : "-";
                size_t n = strlen(v);
                if (*k + n >= size)
                        return false;
                memcpy(buf + *k, v, n);
                *k += n;
                return true;
        }
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*k + 3 >= size)
                        return false;
                if (raw_ok(*p))
                        buf[(*k)++] = (char)*p;
                else {
                        buf[(*k)++] = '%';
                        buf[(*k)++] = hex[*p >> 4];
                        buf[(*k)++] = hex[*p & 15];
                }
        }
        return true;
}

static int hexval(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Unescape [s, s+len) into buf (size bytes with the NUL). No NUL byte, no raw
 * byte that the writer would have escaped. */
static int get_escaped(const char *s, size_t len, char *buf, size_t size)
{
        size_t k = 0;

        if (len == 1 && s[0] == '-') {
                buf[0] = '\0';
                return 0;
        }
        for (size_t i = 0; i < len; i++) {
                int c = (unsigned char)s[i];
                if (c == '%') {
                        int hi = i + 2 < len ? hexval(s[i + 1]) : -1, lo = hi >= 0 ? hexval(s[i + 2]) : -1;
                        if (lo < 0 || (hi | lo) == 0)
                                return -EINVAL;
                        c = hi << 4 | lo;
                        i += 2;
                } else if (!raw_ok((unsigned char)c))
                        return -EINVAL;
                if (k + 1 >= size)
                        return -EINVAL;
                buf[k++] = (char)c;
        }
        if (k == 0)
                return -EINVAL; /* empty is "-" */
        buf[k] = '\0';
        return 0;
}

/* Absolute, not the root, no empty, "." or ".." component, no trailing '/'. */
static bool path_clean(const char *p)
{
        if (p[0] != '/' || !p[1])
                return false;
        for (const char *c = p + 1;;) {
                size_t n = strcspn(c, "/");
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!c[n])
                        return true;
                c += n + 1;
        }
}

static bool entry_valid(const UndoEntry *e)
{
        if ((e->kind != UNDO_THROTTLE && e->kind != UNDO_FREEZE) || !e->policy[0] || !path_clean(e->path))
                return false;
        if (e->via_unit)
                return e->unit[0] && !strchr(e->unit, '/') && plan_unit_interface(e->unit) != NULL;
        return !e->unit[0];
}

int undo_entry_format(const UndoEntry *e, char *buf, size_t size, size_t *ret_len)
{
        char orig[24] = "-";
        size_t k;
        int n;

        if (!entry_valid(e))
                return -EINVAL;
        if (e->kind == UNDO_THROTTLE) {
                if (e->original == UINT64_MAX)
                        snprintf(orig, sizeof(orig), "max");
                else
                        snprintf(orig, sizeof(orig), "%" PRIu64, e->original);
        }
        n = snprintf(buf, size, "%c\t%c\t%s\t%" PRIu64 "\t", e->kind == UNDO_THROTTLE ? 'T' : 'F',
                     e->via_unit ? 'u' : 'c', orig, e->real_usec);
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        k = (size_t)n;
        if (!put_escaped(buf, size, &k, e->policy) || k + 1 >= size)
                return -ENOBUFS;
        buf[k++] = '\t';
        if (!put_escaped(buf, size, &k, e->unit) || k + 1 >= size)
                return -ENOBUFS;
        buf[k++] = '\t';
        if (!put_escaped(buf, size, &k, e->path) || k + 2 > size)
                return -ENOBUFS;
        buf[k++] = '\n';
        buf[k] = '\0';
        *ret_len = k;
        return 0;
}

int undo_entry_parse(const char *line, size_t len, UndoEntry *ret)
{
        const char *f[FIELDS];
        size_t fl[FIELDS], n = 0, start = 0;
        UndoEntry e = { 0 };

        for (size_t i = 0; i <= len; i++) {
                if (i < len && line[i] == '\0')
                        return -EINVAL;
                if (i < len && line[i] != '\t')
                        continue;
                if (n == FIELDS)
                        return -EINVAL;
                f[n] = line + start, fl[n] = i - start, n++;
                start = i + 1;
        }
        if (n != FIELDS)
                return -EINVAL;
        for (size_t i = 0; i < 2; i++)
                if (fl[i] != 1)
                        return -EINVAL;
        e.kind = f[0][0] == 'T' ? UNDO_THROTTLE : f[0][0] == 'F' ? UNDO_FREEZE : _UNDO_KIND_INVALID;
        if (f[1][0] != 'u' && f[1][0] != 'c')
                return -EINVAL;
        e.via_unit = f[1][0] == 'u';
        if (e.kind == UNDO_THROTTLE) {
                if (fl[2] == 3 && memcmp(f[2], "max", 3) == 0)
                        e.original = UINT64_MAX;
                else if (parse_u64_n(f[2], fl[2], &e.original) < 0 || e.original == UINT64_MAX)
                        return -EINVAL;
        } else if (fl[2] != 1 || f[2][0] != '-')
                return -EINVAL;
        if (parse_u64_n(f[3], fl[3], &e.real_usec) < 0)
                return -EINVAL;
        if (get_escaped(f[4], fl[4], e.policy, sizeof(e.policy)) < 0 ||
            get_escaped(f[5], fl[5], e.unit, sizeof(e.unit)) < 0 ||
            get_escaped(f[6], fl[6], e.path, sizeof(e.path)) < 0)
                return -EINVAL;
        if (!entry_valid(&e))
                return -EINVAL;
        *ret = e;
        return 0;
}

/* ---- the file ---- */

typedef struct Reader {
        UndoEntryFn entry;
        UndoBadFn bad;
        void *userdata;
        unsigned line, n, n_kind[_UNDO_KIND_MAX];
        bool header;
} Reader;

static void reader_bad(Reader *rd, int error)
{
        if (rd->bad)
                rd->bad(rd->line, error, rd->userdata);
}

/* One complete line (without '\n'); -EPROTO for a wrong first line. */
static int reader_line(Reader *rd, const char *s, size_t len)
{
        static const unsigned max[_UNDO_KIND_MAX] = { UNDO_THROTTLES_MAX, UNDO_FROZEN_MAX };
        UndoEntry e;

        rd->line++;
        if (!rd->header) {
                if (len != strlen(UNDO_HEADER) - 1 || memcmp(s, UNDO_HEADER, len) != 0)
                        return -EPROTO;
                rd->header = true;
                return 0;
        }
        if (undo_entry_parse(s, len, &e) < 0) {
                reader_bad(rd, -EINVAL);
                return 0;
        }
        if (rd->n_kind[e.kind] >= max[e.kind]) {
                reader_bad(rd, -ENOSPC);
                return 0;
        }
        rd->n_kind[e.kind]++, rd->n++;
        rd->entry(&e, rd->userdata);
        return 0;
}

/* Feed the complete lines of buf[0..*len) and keep the rest at the front. */
static int reader_feed(Reader *rd, char *buf, size_t *len, bool *skipping)
{
        size_t pos = 0;
        char *nl;
        int r;

        while ((nl = memchr(buf + pos, '\n', *len - pos))) {
                size_t n = (size_t)(nl - (buf + pos));
                if (*skipping) {
                        *skipping = false; /* the end of a line that was too long */
                        rd->line++;
                        reader_bad(rd, -E2BIG);
                } else if ((r = reader_line(rd, buf + pos, n)) < 0)
                        return r;
                pos += n + 1;
        }
        memmove(buf, buf + pos, *len - pos);
        *len -= pos;
        return 0;
}

int undo_log_read(int dirfd, const char *name, char *scratch, size_t scratch_size, UndoEntryFn entry,
                  UndoBadFn bad, void *userdata)
{
        Reader rd = { .entry = entry, .bad = bad, .userdata = userdata };
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        size_t len = 0;
        bool skipping = false;
        struct stat st;
        int r;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if (st.st_size > FILE_MAX)
                return -EFBIG;
        for (;;) {
                ssize_t n = read(fd, scratch + len, scratch_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
                if ((r = reader_feed(&rd, scratch, &len, &skipping)) < 0)
                        return r;
                if (len == scratch_size)
                        len = 0, skipping = true; /* a line longer than any valid one */
        }
        if (len > 0 || skipping) {
                rd.line++;
                if (!rd.header)
                        return -EPROTO;
                reader_bad(&rd, skipping ? -E2BIG : -ENODATA);
        }
        return (int)rd.n;
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                buf += n, len -= (size_t)n;
        }
        return 0;
}

static int write_entries(int fd, UndoNextFn next, void *userdata, char *scratch, size_t scratch_size)
{
        UndoEntry e;
        size_t len;
        int r = write_all(fd, UNDO_HEADER, strlen(UNDO_HEADER));

        while (r >= 0 && next(userdata, &e)) {
                r = undo_entry_format(&e, scratch, scratch_size, &len);
                if (r == -EINVAL) {
                        r = 0; /* nothing it could be read back as: not worth the whole file */
                        continue;
                }
                if (r >= 0)
                        r = write_all(fd, scratch, len);
        }
        return r;
}

int undo_log_write(int dirfd, const char *name, UndoNextFn next, void *userdata, char *scratch,
                   size_t scratch_size)
{
        char tmp[NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        int r;

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= sizeof(tmp))
                return -ENAMETOOLONG;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = write_entries(fd, next, userdata, scratch, scratch_size);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dirfd, tmp, 0);
                return r;
        }
        return fsync(dirfd) < 0 ? -errno : 0;
}

/* ---- giving back ---- */

void undo_step_for(const UndoEntry *e, bool v1, UndoStep *ret)
{
        *ret = (UndoStep){ .unit_call = e->via_unit };
        if (v1)
                return; /* no memory.high, no cgroup.freeze: only units act there (through systemd) */
        if (e->kind == UNDO_FREEZE) {
                ret->file = "cgroup.freeze";
                snprintf(ret->value, sizeof(ret->value), "0");
                return;
        }
        ret->file = "memory.high";
        if (e->original == UINT64_MAX)
                snprintf(ret->value, sizeof(ret->value), "max");
        else
                snprintf(ret->value, sizeof(ret->value), "%" PRIu64, e->original);
}

static bool transport_error(int error)
{
        /* EHOSTUNREACH: nobody owns systemd's name on the bus (it is re-executing). */
        return error == -ENOTCONN || error == -ETIMEDOUT || error == -ECONNRESET || error == -EHOSTUNREACH ||
               error == -ENOMEM || error == -ENOBUFS;
}

bool undo_settled(const UndoEntry *e, int file_error, int unit_error)
{
        if (e->via_unit)
                /* systemd's answer decides: a refusal (the unit is gone) will not change by asking again. */
                return !transport_error(unit_error);
        return file_error == 0 || file_error == -ENOENT || file_error == -ENODEV;
}
