/* SPDX-License-Identifier: MIT */
/* Table tests for every text parser, garbage included. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "memevents.h"
#include "node.h"
#include "parse.h"
#include "psi.h"
#include "test-main.h"

START_TEST(test_parse_u64)
{
        static const struct {
                const char *in;
                int r;
                uint64_t v;
        } t[] = {
                { "0", 0, 0 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "18446744073709551616", -ERANGE, 0 },
                { "99999999999999999999", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { " 1", -EINVAL, 0 },
                { "1 ", -EINVAL, 0 },
                { "1x", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },
                { "123456789012345678901", -EINVAL, 0 },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                uint64_t v = 4242;
                int r = parse_u64(t[i].in, &v);
                ck_assert_msg(r == t[i].r, "'%s': got %d, want %d", t[i].in, r, t[i].r);
                ck_assert_uint_eq(v, r == 0 ? t[i].v : 4242);
        }
        ck_assert_int_eq(parse_u64(NULL, &(uint64_t){ 0 }), -EINVAL);
}
END_TEST

START_TEST(test_parse_limit)
{
        uint64_t v;
        ck_assert_int_eq(parse_limit("max\n", 4, &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(parse_limit("41943040\n", 9, &v), 0);
        ck_assert_uint_eq(v, 41943040);
        ck_assert_int_eq(parse_limit("maxi", 4, &v), -EINVAL);
        ck_assert_int_eq(parse_limit("\n", 1, &v), -EINVAL);
        ck_assert_int_eq(parse_limit("1 2\n", 4, &v), -EINVAL);
}
END_TEST

START_TEST(test_parse_size_duration)
{
        uint64_t v;
        ck_assert_int_eq(parse_size("256Mi", &v), 0);
        ck_assert_uint_eq(v, 256ULL << 20);
        ck_assert_int_eq(parse_size("1G", &v), 0);
        ck_assert_uint_eq(v, 1000000000ULL);
        ck_assert_int_eq(parse_size("4096", &v), 0);
        ck_assert_uint_eq(v, 4096);
        ck_assert_int_eq(parse_size("17179869184Ti", &v), -ERANGE);
        ck_assert_int_eq(parse_size("12 Mi", &v), -EINVAL);
        ck_assert_int_eq(parse_size("Mi", &v), -EINVAL);
        ck_assert_int_eq(parse_size("1Xi", &v), -EINVAL);
        ck_assert_int_eq(parse_duration("10s", &v), 0);
        ck_assert_uint_eq(v, 10000000);
        ck_assert_int_eq(parse_duration("250ms", &v), 0);
        ck_assert_uint_eq(v, 250000);
        ck_assert_int_eq(parse_duration("2m", &v), 0);
        ck_assert_uint_eq(v, 120000000);
        ck_assert_int_eq(parse_duration("10", &v), -EINVAL);
        ck_assert_int_eq(parse_duration("1.5s", &v), -EINVAL);
}
END_TEST

START_TEST(test_memevents_parse)
{
        const char *good = "low 0\nhigh 17\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
        MemEvents ev;

        ck_assert_int_eq(memevents_parse(good, strlen(good), &ev), 0);
        ck_assert_uint_eq(ev.value[MEMEV_HIGH], 17);
        ck_assert_uint_eq(ev.value[MEMEV_MAX], 3);
        ck_assert_uint_eq(ev.value[MEMEV_OOM_KILL], 1);
        ck_assert_uint_eq(ev.present, (1U << _MEMEV_MAX) - 1);
        ck_assert_uint_eq(ev.n_extra, 0);

        /* Older kernels lack keys; newer ones add some: kept, bounded. */
        const char *newer = "high 5\nsock_throttled 9\nfuture_a 1\nfuture_b 2\n";
        ck_assert_int_eq(memevents_parse(newer, strlen(newer), &ev), 0);
        ck_assert_uint_eq(ev.value[MEMEV_HIGH], 5);
        ck_assert_uint_eq(ev.present, 1U << MEMEV_HIGH);
        ck_assert_uint_eq(ev.n_extra, MEMEV_EXTRA_MAX);
        ck_assert_str_eq(ev.extra[0].name, "sock_throttled");
        ck_assert_uint_eq(ev.extra[0].value, 9);

        /* No trailing newline is fine. */
        ck_assert_int_eq(memevents_parse("high 1", 6, &ev), 0);

        static const char *const bad[] = {
                "",
                "\n\n",
                "high\n",
                "high x\n",
                "high -1\n",
                "high 1 2\n",
                "high 99999999999999999999\n",
                "HIGH 1\n",
                "a-very-long-unknown-key-name-here 1\n",
                "hi\xffgh 1\n",
                " high 1\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                MemEvents keep = { .value[MEMEV_HIGH] = 77 };
                ck_assert_msg(memevents_parse(bad[i], strlen(bad[i]), &keep) == -EINVAL, "accepted '%s'",
                              bad[i]);
                ck_assert_uint_eq(keep.value[MEMEV_HIGH], 77);
        }
}
END_TEST

START_TEST(test_memevents_diff)
{
        MemEvents a = {}, b = {};
        MemEventsDelta d;

        a.value[MEMEV_HIGH] = 10;
        b.value[MEMEV_HIGH] = 15;
        b.value[MEMEV_OOM_KILL] = 1;
        memevents_diff(&a, &b, &d);
        ck_assert(d.any);
        ck_assert_uint_eq(d.value[MEMEV_HIGH], 5);
        ck_assert_uint_eq(d.value[MEMEV_OOM_KILL], 1);
        ck_assert_uint_eq(d.value[MEMEV_MAX], 0);

        memevents_diff(&b, &b, &d);
        ck_assert(!d.any);

        /* A counter that went backwards: the cgroup was re-created. */
        memevents_diff(&b, &a, &d);
        ck_assert_uint_eq(d.value[MEMEV_HIGH], 10);

        /* Extra keys are diffed by name, whatever their order. */
        MemEvents x = { .n_extra = 2, .extra = { { "k1", 5 }, { "k2", 7 } } };
        MemEvents y = { .n_extra = 2, .extra = { { "k2", 9 }, { "k1", 5 } } };
        memevents_diff(&x, &y, &d);
        ck_assert(d.any);
        ck_assert_uint_eq(d.extra[0], 2);
        ck_assert_uint_eq(d.extra[1], 0);
}
END_TEST

START_TEST(test_psi_parse)
{
        const char *good = "some avg10=12.34 avg60=0.05 avg300=100.00 total=123456\n"
                           "full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n";
        PsiStats st;

        ck_assert_int_eq(psi_parse(good, strlen(good), &st), 0);
        ck_assert_uint_eq(st.some.avg10, 1234);
        ck_assert_uint_eq(st.some.avg60, 5);
        ck_assert_uint_eq(st.some.avg300, 10000);
        ck_assert_uint_eq(st.some.total_usec, 123456);
        ck_assert(st.has_full);
        ck_assert_uint_eq(st.full.total_usec, 7);

        const char *some_only = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        ck_assert_int_eq(psi_parse(some_only, strlen(some_only), &st), 0);
        ck_assert(!st.has_full);

        static const char *const bad[] = {
                "",
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00\n",
                "some avg10=1 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=0.000 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=101.00 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=a.bc avg60=0.00 avg300=0.00 total=0\n",
                "some avg10 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=-5\n",
                "other avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
                "some avg10=.00 avg60=0.00 avg300=0.00 total=0\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(psi_parse(bad[i], strlen(bad[i]), &st) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_psi_validate)
{
        const char *why;
        ck_assert_int_eq(psi_trigger_validate(100000, 2000000, false, &why), 0);
        ck_assert_ptr_null(why);
        ck_assert_int_eq(psi_trigger_validate(100000, 1000000, false, &why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "multiple of 2 s"));
        ck_assert_int_eq(psi_trigger_validate(100000, 1000000, true, &why), 0);
        ck_assert_int_eq(psi_trigger_validate(100000, 12000000, true, &why), -EINVAL);
        ck_assert_int_eq(psi_trigger_validate(0, 2000000, true, &why), -EINVAL);
        ck_assert_int_eq(psi_trigger_validate(3000000, 2000000, true, &why), -EINVAL);
        ck_assert_int_eq(psi_trigger_validate(1000, 100000, true, &why), -EINVAL);
}
END_TEST

START_TEST(test_cgroup_events_parse)
{
        CgroupEvents ev;
        ck_assert_int_eq(
                cgroup_events_parse("populated 1\nfrozen 0\n", strlen("populated 1\nfrozen 0\n"), &ev), 0);
        ck_assert(ev.populated && !ev.frozen);
        ck_assert_int_eq(
                cgroup_events_parse("populated 0\nfrozen 1\n", strlen("populated 0\nfrozen 1\n"), &ev), 0);
        ck_assert(!ev.populated && ev.frozen);
        ck_assert_int_eq(cgroup_events_parse("populated 0\n", strlen("populated 0\n"), &ev),
                         0); /* pre-5.2: no frozen */
        ck_assert_int_eq(cgroup_events_parse("frozen 1\n", strlen("frozen 1\n"), &ev), -EINVAL);
        ck_assert_int_eq(cgroup_events_parse("populated 2\n", strlen("populated 2\n"), &ev), -EINVAL);
        ck_assert_int_eq(cgroup_events_parse("populated\n", strlen("populated\n"), &ev), -EINVAL);
        ck_assert_int_eq(cgroup_events_parse("", strlen(""), &ev), -EINVAL);
}
END_TEST

START_TEST(test_memory_stat_parse)
{
        const char *good = "anon 1048576\nfile 2097152\nkernel 4096\nsock 0\nshmem 8192\n"
                           "slab 12288\npgmajfault 3\nsomething_new 5\n";
        MemoryStat st;

        ck_assert_int_eq(memory_stat_parse(good, strlen(good), &st), 0);
        ck_assert_uint_eq(st.value[MEMSTAT_ANON], 1048576);
        ck_assert_uint_eq(st.value[MEMSTAT_FILE], 2097152);
        ck_assert_uint_eq(st.value[MEMSTAT_SHMEM], 8192);
        ck_assert_uint_eq(st.value[MEMSTAT_PGMAJFAULT], 3);
        ck_assert(st.present & (1U << MEMSTAT_SLAB));
        ck_assert(!(st.present & (1U << MEMSTAT_PAGETABLES)));
        ck_assert_int_eq(memory_stat_parse("anon x\n", 7, &st), -EINVAL);
        ck_assert_int_eq(memory_stat_parse("unknown 1\n", 10, &st), -EINVAL);
        ck_assert_int_eq(memory_stat_parse("anon\n", 5, &st), -EINVAL);
}
END_TEST

static char *write_temp(const char *content)
{
        static char path[64];
        int fd;

        strcpy(path, "/tmp/mw-test-XXXXXX");
        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        close(fd);
        return path;
}

START_TEST(test_find_cgroup2_mount)
{
        char out[256];
        bool local;
        char *p;

        p = write_temp("22 1 0:20 / /sys rw - sysfs sysfs rw\n"
                       "30 22 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
                       "31 22 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        ck_assert_int_eq(cg_find_cgroup2_mount(p, out, sizeof(out), &local), 0);
        ck_assert_str_eq(out, "/sys/fs/cgroup/unified");
        ck_assert(!local);
        unlink(p);

        p = write_temp("29 22 0:26 / /mnt/with\\040space rw shared:4 - cgroup2 cgroup2 rw\n"
                       "30 22 0:27 / /sys/fs/cgroup rw shared:5 - cgroup2 cgroup2 "
                       "rw,nsdelegate,memory_localevents\n");
        ck_assert_int_eq(cg_find_cgroup2_mount(p, out, sizeof(out), &local), 0);
        ck_assert_str_eq(out, "/sys/fs/cgroup");
        ck_assert(local);
        unlink(p);

        p = write_temp("29 22 0:26 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n");
        ck_assert_int_eq(cg_find_cgroup2_mount(p, out, sizeof(out), &local), 0);
        ck_assert_str_eq(out, "/mnt/with space");
        unlink(p);

        p = write_temp("garbage\n\n - \n1 2 3\n31 22 0:27 / /x rw - cgroup cgroup rw\n");
        ck_assert_int_eq(cg_find_cgroup2_mount(p, out, sizeof(out), &local), -ENOENT);
        unlink(p);
        ck_assert_int_eq(cg_find_cgroup2_mount("/nonexistent/mountinfo", out, sizeof(out), &local), -ENOENT);
}
END_TEST

START_TEST(test_readers_dirfd)
{
        char dir[] = "/tmp/mw-readers-XXXXXX";
        char p[128];
        uint64_t v;
        int dfd;
        FILE *f;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY);
        ck_assert_int_ge(dfd, 0);
#define PUT(name, text)                                                                                     \
        snprintf(p, sizeof(p), "%s/%s", dir, name);                                                         \
        f = fopen(p, "w");                                                                                  \
        fputs(text, f);                                                                                     \
        fclose(f)
        PUT("memory.current", "123456\n");
        PUT("memory.high", "max\n");
        PUT("memory.max", "1073741824\n");
        PUT("memory.low", "garbage\n");
        PUT("memory.min", "");
        PUT("cgroup.controllers", "cpu io memoryx\n");
        ck_assert_int_eq(cg_read_u64(dfd, "memory.current", &v), 0);
        ck_assert_uint_eq(v, 123456);
        ck_assert_int_eq(cg_read_limit(dfd, "memory.high", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(cg_read_limit(dfd, "memory.max", &v), 0);
        ck_assert_uint_eq(v, 1073741824);
        ck_assert_int_eq(cg_read_limit(dfd, "memory.low", &v), -EINVAL);
        ck_assert_int_eq(cg_read_limit(dfd, "memory.min", &v), -EINVAL);
        ck_assert_int_eq(cg_read_u64(dfd, "memory.swap.current", &v), -ENOENT);
        ck_assert_int_eq(cg_has_controller(dfd, "memory"), 0);
        PUT("cgroup.controllers", "cpu io memory pids\n");
        ck_assert_int_eq(cg_has_controller(dfd, "memory"), 1);
        /* A file larger than the caller's buffer is an error, not a silent cut. */
        PUT("memory.stat", "anon 1\nfile 2\n");
        char small[8];
        size_t len;
        ck_assert_int_eq(cg_read_file(dfd, "memory.stat", small, sizeof(small), &len), -ENOBUFS);
        ck_assert_int_eq(cg_is_cgroup2(dir), 0);
#undef PUT
        close(dfd);
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_kv_next)
{
        static const struct {
                const char *text;
                unsigned flags;
                int r;           /* of the first call */
                const char *key; /* when r is 1 */
                uint64_t value;
        } t[] = {
                { "high 12\n", 0, 1, "high", 12 },
                { "high 12", 0, 1, "high", 12 },                /* no final newline */
                { "\n\n  \nhigh\t\t7\n", 0, -EINVAL, NULL, 0 }, /* a line of blanks is malformed */
                { "\n\nhigh\t\t7\n", 0, 1, "high", 7 },         /* empty lines are skipped */
                { "", 0, 0, NULL, 0 },
                { "\n\n", 0, 0, NULL, 0 },
                { "high\n", 0, -EINVAL, NULL, 0 },
                { "high \n", 0, -EINVAL, NULL, 0 },
                { " 12\n", 0, -EINVAL, NULL, 0 },
                { "high -1\n", 0, -EINVAL, NULL, 0 },
                { "high 12 kB\n", 0, -EINVAL, NULL, 0 },
                { "high 0x10\n", 0, -EINVAL, NULL, 0 },
                { "high 18446744073709551616\n", 0, -ERANGE, NULL, 0 },
                { "high 18446744073709551615\n", 0, 1, "high", UINT64_MAX },
                { "high\x01 1\n", 0, 1, "high\x01", 1 },
                { "MemTotal:       24684084 kB\n", KV_COLON | KV_KB, 1, "MemTotal", 24684084ULL * 1024 },
                { "HugePages_Total:       0\n", KV_COLON | KV_KB, 1, "HugePages_Total", 0 },
                { "MemTotal 1 kB\n", KV_COLON | KV_KB, -EINVAL, NULL, 0 },
                { ": 1 kB\n", KV_COLON | KV_KB, -EINVAL, NULL, 0 },
                { "MemTotal: kB\n", KV_COLON | KV_KB, -EINVAL, NULL, 0 },
                { "MemTotal: 18014398509481984 kB\n", KV_COLON | KV_KB, -ERANGE, NULL, 0 },
                { "MemTotal: 1 MB\n", KV_COLON | KV_KB, -EINVAL, NULL, 0 },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                const char *p = t[i].text, *k = NULL;
                size_t kl = 0;
                uint64_t v = 42;
                int r = kv_next(&p, t[i].text + strlen(t[i].text), t[i].flags, &k, &kl, &v);

                ck_assert_msg(r == t[i].r, "case %zu: got %d, want %d", i, r, t[i].r);
                if (r == 1) {
                        ck_assert_uint_eq(kl, strlen(t[i].key));
                        ck_assert(memcmp(k, t[i].key, kl) == 0);
                        ck_assert_uint_eq(v, t[i].value);
                } else
                        ck_assert_uint_eq(v, 42); /* nothing set */
                ck_assert(p >= t[i].text && p <= t[i].text + strlen(t[i].text));
        }

        /* A lenient caller goes on after a bad line; the cursor never passes the end. */
        static const char mixed[] = "a 1\nbad\nb 2\n\nc x\nd 4";
        const char *p = mixed, *k;
        size_t kl;
        uint64_t v, sum = 0;
        int r, good = 0, bad = 0;
        while ((r = kv_next(&p, mixed + strlen(mixed), 0, &k, &kl, &v)) != 0) {
                if (r > 0) {
                        good++;
                        sum += v;
                } else
                        bad++;
        }
        ck_assert_int_eq(good, 3);
        ck_assert_int_eq(bad, 2);
        ck_assert_uint_eq(sum, 7);
        ck_assert_ptr_eq(p, mixed + strlen(mixed));
        /* Bytes past `end` are never read, NUL or not. */
        static const char cut[] = "high 12345";
        p = cut;
        ck_assert_int_eq(kv_next(&p, cut + 7, 0, &k, &kl, &v), 1);
        ck_assert_uint_eq(v, 12);
        ck_assert(kv_key_is(k, kl, "high"));
        ck_assert(!kv_key_is(k, kl, "hig"));
        ck_assert(!kv_key_is(k, kl, "highs"));
}
END_TEST

START_TEST(test_meminfo_parse)
{
        static const char good[] = "MemTotal:       24684084 kB\nMemFree:        1000 kB\n"
                                   "MemAvailable:   131072 kB\nBuffers: 0 kB\n";
        uint64_t avail = 0, total = 0;

        ck_assert_int_eq(meminfo_parse(good, strlen(good), &avail, &total), 0);
        ck_assert_uint_eq(avail, 128ULL << 20);
        ck_assert_uint_eq(total, 24684084ULL * 1024);
        /* Missing MemAvailable (kernels before 3.14), garbage, truncation. */
        static const char *const bad[] = {
                "MemTotal: 100 kB\nMemFree: 10 kB\n",
                "MemAvailable: lots kB\nMemTotal: 100 kB\n",
                "MemAvailabl",
                "",
                "MemAvailable: 99999999999999999999 kB\nMemTotal: 1 kB\n",
                "MemAvailable: 18014398509481984 kB\nMemTotal: 1 kB\n", /* bytes past UINT64_MAX */
                "MemAvailable 5 kB\nMemTotal: 1 kB\n",
                "MemAvailable: 5\nMemTotal: 16303 kB\n", /* no unit: not taken for bytes (fuzz) */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                avail = total = 7;
                ck_assert_int_eq(meminfo_parse(bad[i], strlen(bad[i]), &avail, &total), -EINVAL);
                ck_assert_uint_eq(avail, 7); /* nothing set on failure */
                ck_assert_uint_eq(total, 7);
        }
        /* Other lines of other shapes do not matter. */
        static const char odd[] = "garbage\nMemTotal: 2048 kB\nHugepagesize: x\nMemAvailable: 1024 kB\n";
        ck_assert_int_eq(meminfo_parse(odd, strlen(odd), &avail, &total), 0);
        ck_assert_uint_eq(avail, 1 << 20);
        ck_assert_uint_eq(total, 2 << 20);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("parsers");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_u64);
        tcase_add_test(tc, test_parse_limit);
        tcase_add_test(tc, test_parse_size_duration);
        tcase_add_test(tc, test_memevents_parse);
        tcase_add_test(tc, test_memevents_diff);
        tcase_add_test(tc, test_psi_parse);
        tcase_add_test(tc, test_psi_validate);
        tcase_add_test(tc, test_cgroup_events_parse);
        tcase_add_test(tc, test_memory_stat_parse);
        tcase_add_test(tc, test_find_cgroup2_mount);
        tcase_add_test(tc, test_readers_dirfd);
        tcase_add_test(tc, test_meminfo_parse);
        tcase_add_test(tc, test_kv_next);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
