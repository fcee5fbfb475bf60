/* SPDX-License-Identifier: MIT */
/* The undo file: entries to text and back (hostile names included), the
 * reader on garbage, a truncated last line, too long lines and too many
 * entries, the atomic rewrite in a temp dir, and what giving back does. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "test-main.h"
#include "undo-log.h"

static char scratch[UNDO_LINE_MAX + 1];

static UndoEntry entry(UndoKind k, bool unit, const char *path)
{
        UndoEntry e = { .kind = k, .via_unit = unit, .original = 512 << 20, .real_usec = 1700000000000000 };

        snprintf(e.policy, sizeof(e.policy), "hog");
        snprintf(e.path, sizeof(e.path), "%s", path);
        if (unit)
                snprintf(e.unit, sizeof(e.unit), "%s", strrchr(path, '/') + 1);
        return e;
}

START_TEST(test_roundtrip)
{
        static const char *paths[] = { "/system.slice/web.service", "/a/b\tc\nd e%f", "/x/\xff\x01-", "/-",
                                       "/kubepods.slice/p/\xc3\xa9t\xc3\xa9" };
        char buf[UNDO_LINE_MAX];
        UndoEntry e, back;
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                for (int k = 0; k < 2; k++) {
                        e = entry(k ? UNDO_FREEZE : UNDO_THROTTLE, i == 0, paths[i]);
                        if (i == 1)
                                e.original = UINT64_MAX;
                        ck_assert_int_eq(undo_entry_format(&e, buf, sizeof(buf), &len), 0);
                        ck_assert_uint_eq(len, strlen(buf));
                        ck_assert_int_eq(buf[len - 1], '\n');
                        ck_assert_ptr_null(memchr(buf, '\n', len - 1)); /* one line, whatever the name */
                        ck_assert_int_eq(undo_entry_parse(buf, len - 1, &back), 0);
                        ck_assert_str_eq(back.path, e.path);
                        ck_assert_str_eq(back.unit, e.unit);
                        ck_assert_str_eq(back.policy, "hog");
                        ck_assert_int_eq(back.kind, e.kind);
                        ck_assert_int_eq(back.via_unit, e.via_unit);
                        ck_assert_uint_eq(back.real_usec, e.real_usec);
                        if (e.kind == UNDO_THROTTLE)
                                ck_assert_uint_eq(back.original, e.original);
                }
        /* The longest entry fits a line. */
        e = entry(UNDO_THROTTLE, false, "/");
        memset(e.path + 1, '\x01', sizeof(e.path) - 2);
        e.path[sizeof(e.path) - 1] = '\0';
        memset(e.policy, '%', sizeof(e.policy) - 1);
        ck_assert_int_eq(undo_entry_format(&e, buf, sizeof(buf), &len), 0);
        ck_assert_int_eq(undo_entry_parse(buf, len - 1, &back), 0);
        ck_assert_int_eq(undo_entry_format(&e, buf, 100, &len), -ENOBUFS);
}
END_TEST

START_TEST(test_refused_entries)
{
        static const char *bad_paths[] = { "", "/", "rel", "/a/../b", "/a/./b", "/a//b", "/a/", "/.." };
        char buf[512];
        UndoEntry e;
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(bad_paths); i++) {
                e = entry(UNDO_THROTTLE, false, "/x");
                snprintf(e.path, sizeof(e.path), "%s", bad_paths[i]);
                ck_assert_int_eq(undo_entry_format(&e, buf, sizeof(buf), &len), -EINVAL);
        }
        e = entry(UNDO_FREEZE, true, "/a/job"); /* "job" is no unit name */
        ck_assert_int_eq(undo_entry_format(&e, buf, sizeof(buf), &len), -EINVAL);
        e = entry(UNDO_FREEZE, false, "/a/b");
        e.policy[0] = '\0';
        ck_assert_int_eq(undo_entry_format(&e, buf, sizeof(buf), &len), -EINVAL);
}
END_TEST

START_TEST(test_parse_garbage)
{
        static const char *lines[] = {
                "",
                "T",
                "T\tc\t100\t1\thog\t-",                      /* six fields */
                "T\tc\t100\t1\thog\t-\t/a\textra",           /* eight */
                "X\tc\t100\t1\thog\t-\t/a",                  /* kind */
                "T\tx\t100\t1\thog\t-\t/a",                  /* route */
                "TT\tc\t100\t1\thog\t-\t/a",                 /* kind too long */
                "T\tc\t-1\t1\thog\t-\t/a",                   /* sign */
                "T\tc\t99999999999999999999\t1\thog\t-\t/a", /* past 2^64 */
                "T\tc\t18446744073709551615\t1\thog\t-\t/a", /* UINT64_MAX is spelt max */
                "T\tc\t\t1\thog\t-\t/a",                     /* empty limit */
                "F\tc\t100\t1\thog\t-\t/a",                  /* freeze with a limit */
                "T\tc\t100\tnow\thog\t-\t/a",                /* time */
                "T\tc\t100\t1\t-\t-\t/a",                    /* no policy */
                "T\tc\t100\t1\thog\t-\t/a/../../etc",        /* escapes the cgroup root */
                "T\tc\t100\t1\thog\t-\t/a%2F..%2F..",        /* the same, escaped */
                "T\tc\t100\t1\thog\t-\t/a b",                /* raw blank */
                "T\tc\t100\t1\thog\t-\t/a%00b",              /* NUL */
                "T\tc\t100\t1\thog\t-\t/a%4",                /* cut escape */
                "T\tc\t100\t1\thog\t-\t/a%zz",               /* bad escape */
                "T\tc\t100\t1\thog\t-\t/a%2f",               /* lower-case hex is not what we write */
                "T\tu\t100\t1\thog\t-\t/a/web.service",      /* unit route without a unit */
                "T\tu\t100\t1\thog\tweb\t/a/web",            /* not a unit name */
                "T\tc\t100\t1\thog\tweb.service\t/a",        /* a unit on the files route */
                "T\tc\t100\t1\thog\t-\t",                    /* no path */
                "T\tc\t100\t1\thog\t-\t-",
        };
        UndoEntry e;

        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                ck_assert_msg(undo_entry_parse(lines[i], strlen(lines[i]), &e) == -EINVAL, "line %zu: %s", i,
                              lines[i]);
        ck_assert_int_eq(undo_entry_parse("T\tc\t100\t1\thog\t-\t/a", 18, &e), 0);
        ck_assert_int_eq(undo_entry_parse("T\tc\t1\t0\th\t-\t/a\0b", 15, &e), -EINVAL);
        ck_assert_int_eq(undo_entry_parse("F\tu\t-\t2\tp%25\tx.scope\t/s/x.scope", 31, &e), 0);
        ck_assert_str_eq(e.policy, "p%");
        ck_assert_str_eq(e.unit, "x.scope");
}
END_TEST

typedef struct Got {
        unsigned n, n_bad, bad_line[8];
        int bad_error[8];
        UndoEntry last;
} Got;

static void on_entry(const UndoEntry *e, void *userdata)
{
        Got *g = userdata;
        g->n++;
        g->last = *e;
}

static void on_bad(unsigned line, int error, void *userdata)
{
        Got *g = userdata;
        if (g->n_bad < ELEMENTSOF(g->bad_line))
                g->bad_line[g->n_bad] = line, g->bad_error[g->n_bad] = error;
        g->n_bad++;
}

static int dir_fd(char *dir)
{
        strcpy(dir, "/tmp/test-undo-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void put(int dfd, const char *text, size_t len)
{
        int fd = openat(dfd, UNDO_FILE_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
        close(fd);
}

static int read_into(int dfd, Got *g)
{
        memset(g, 0, sizeof(*g));
        return undo_log_read(dfd, UNDO_FILE_NAME, scratch, sizeof(scratch), on_entry, on_bad, g);
}

static void cleanup(int dfd, const char *dir)
{
        char cmd[128];

        close(dfd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_read_file)
{
        static const char good[] = UNDO_HEADER "T\tc\t100\t1\thog\t-\t/a\n"
                                               "garbage\n"
                                               "F\tu\t-\t2\thog\tb.service\t/s/b.service\n"
                                               "T\tc\t200\t3\thog\t-\t/tr";
        char dir[64];
        int dfd = dir_fd(dir);
        Got g;

        ck_assert_int_eq(read_into(dfd, &g), 0); /* no file: nothing to do */
        /* A crash mid-write of the last line (a torn append, a full disk). */
        put(dfd, good, strlen(good));
        ck_assert_int_eq(read_into(dfd, &g), 2);
        ck_assert_uint_eq(g.n_bad, 2);
        ck_assert_uint_eq(g.bad_line[0], 3);
        ck_assert_int_eq(g.bad_error[0], -EINVAL);
        ck_assert_uint_eq(g.bad_line[1], 5);
        ck_assert_int_eq(g.bad_error[1], -ENODATA);
        ck_assert_str_eq(g.last.unit, "b.service");
        /* An unknown version: nothing is acted on. */
        put(dfd, "memwarden-undo 2\nT\tc\t100\t1\thog\t-\t/a\n", 36);
        ck_assert_int_eq(read_into(dfd, &g), -EPROTO);
        ck_assert_uint_eq(g.n, 0);
        put(dfd, "memwarden-un", 12);
        ck_assert_int_eq(read_into(dfd, &g), -EPROTO);
        put(dfd, "", 0);
        ck_assert_int_eq(read_into(dfd, &g), 0);
        ck_assert_uint_eq(g.n_bad, 0);
        cleanup(dfd, dir);
}
END_TEST

START_TEST(test_read_bounds)
{
        static char big[UNDO_LINE_MAX * 3];
        char dir[64], line[128];
        int dfd = dir_fd(dir);
        size_t len = strlen(UNDO_HEADER);
        Got g;

        /* A line longer than any valid one between two good ones. */
        memcpy(big, UNDO_HEADER, len);
        len += (size_t)sprintf(big + len, "T\tc\t1\t1\thog\t-\t/a\n");
        memset(big + len, 'x', UNDO_LINE_MAX + 10);
        len += UNDO_LINE_MAX + 10;
        big[len++] = '\n';
        len += (size_t)sprintf(big + len, "T\tc\t1\t1\thog\t-\t/b\n");
        put(dfd, big, len);
        ck_assert_int_eq(read_into(dfd, &g), 2);
        ck_assert_uint_eq(g.n_bad, 1);
        ck_assert_int_eq(g.bad_error[0], -E2BIG);
        ck_assert_uint_eq(g.bad_line[0], 3);
        ck_assert_str_eq(g.last.path, "/b");
        /* More freezes than the table holds: the rest are refused. */
        len = strlen(UNDO_HEADER);
        memcpy(big, UNDO_HEADER, len);
        for (int i = 0; i < UNDO_FROZEN_MAX + 3; i++) {
                int n = snprintf(line, sizeof(line), "F\tc\t-\t1\thog\t-\t/f%d\n", i);
                memcpy(big + len, line, (size_t)n);
                len += (size_t)n;
        }
        put(dfd, big, len);
        ck_assert_int_eq(read_into(dfd, &g), UNDO_FROZEN_MAX);
        ck_assert_uint_eq(g.n_bad, 3);
        ck_assert_int_eq(g.bad_error[0], -ENOSPC);
        /* Not a regular file. */
        ck_assert_int_eq(unlinkat(dfd, UNDO_FILE_NAME, 0), 0);
        ck_assert_int_eq(mkdirat(dfd, UNDO_FILE_NAME, 0700), 0);
        ck_assert_int_lt(read_into(dfd, &g), 0);
        ck_assert_int_eq(unlinkat(dfd, UNDO_FILE_NAME, AT_REMOVEDIR), 0);
        cleanup(dfd, dir);
}
END_TEST

typedef struct Iter {
        const UndoEntry *e;
        size_t n, i;
} Iter;

static bool next_entry(void *userdata, UndoEntry *ret)
{
        Iter *it = userdata;
        if (it->i == it->n)
                return false;
        *ret = it->e[it->i++];
        return true;
}

START_TEST(test_write_file)
{
        UndoEntry es[3] = { entry(UNDO_THROTTLE, true, "/system.slice/web.service"),
                            entry(UNDO_FREEZE, false, "/plain/job"),
                            entry(UNDO_FREEZE, false, "/") /* skipped: not readable back */ };
        Iter it = { .e = es, .n = 3 };
        char dir[64];
        int dfd = dir_fd(dir);
        struct stat st;
        Got g;

        ck_assert_int_eq(undo_log_write(dfd, UNDO_FILE_NAME, next_entry, &it, scratch, sizeof(scratch)), 0);
        ck_assert_int_eq(read_into(dfd, &g), 2);
        ck_assert_uint_eq(g.n_bad, 0);
        ck_assert_str_eq(g.last.path, "/plain/job");
        ck_assert_int_eq(fstatat(dfd, UNDO_FILE_NAME ".tmp", &st, 0), -1); /* renamed over */
        ck_assert_int_eq(fstatat(dfd, UNDO_FILE_NAME, &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 0777, 0600);
        it = (Iter){ .e = es, .n = 0 };
        ck_assert_int_eq(undo_log_write(dfd, UNDO_FILE_NAME, next_entry, &it, scratch, sizeof(scratch)), 0);
        ck_assert_int_eq(read_into(dfd, &g), 0);
        ck_assert_uint_eq(g.n_bad, 0);
        cleanup(dfd, dir);
}
END_TEST

START_TEST(test_give_back)
{
        UndoEntry t = entry(UNDO_THROTTLE, false, "/plain/job"),
                  tu = entry(UNDO_THROTTLE, true, "/s/w.service");
        UndoEntry f = entry(UNDO_FREEZE, false, "/plain/job"), fu = entry(UNDO_FREEZE, true, "/s/w.service");
        UndoStep s;

        undo_step_for(&t, false, &s);
        ck_assert_str_eq(s.file, "memory.high");
        ck_assert_str_eq(s.value, "536870912");
        ck_assert(!s.unit_call);
        t.original = UINT64_MAX;
        undo_step_for(&t, false, &s);
        ck_assert_str_eq(s.value, "max");
        undo_step_for(&tu, false, &s);
        ck_assert_str_eq(s.file, "memory.high"); /* at once, whatever systemd says later */
        ck_assert(s.unit_call);
        undo_step_for(&f, false, &s);
        ck_assert_str_eq(s.file, "cgroup.freeze");
        ck_assert_str_eq(s.value, "0");
        undo_step_for(&fu, true, &s);
        ck_assert_ptr_null(s.file);
        ck_assert(s.unit_call);

        /* { entry, file error, unit error, settled } */
        struct {
                const UndoEntry *e;
                int file, unit;
                bool settled;
        } cases[] = {
                { &t, 0, 0, true },
                { &t, -ENOENT, 0, true },
                { &t, -EACCES, 0, false },
                { &t, -EBUSY, 0, false },
                { &tu, 0, 0, true },
                { &tu, 0, -ENOTCONN, false },
                { &tu, 0, -ETIMEDOUT, false },
                { &tu, -ENOENT, -ENOENT, true },
                { &tu, -ENOENT, -EIO, true },
                { &fu, 0, -ECONNRESET, false },
                { &tu, 0, -EHOSTUNREACH, false },
                { &f, -ENODEV, 0, true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_msg(undo_settled(cases[i].e, cases[i].file, cases[i].unit) == cases[i].settled,
                              "case %zu", i);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("undo-log");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_roundtrip);
        tcase_add_test(tc, test_refused_entries);
        tcase_add_test(tc, test_parse_garbage);
        tcase_add_test(tc, test_read_file);
        tcase_add_test(tc, test_read_bounds);
        tcase_add_test(tc, test_write_file);
        tcase_add_test(tc, test_give_back);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
