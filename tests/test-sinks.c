/* SPDX-License-Identifier: MIT */
/* The daemon's sinks on temp files: the event log takes decisions only,
 * rotates by size keeping N, and a short write (RLIMIT_FSIZE makes one)
 * never leaves a partial line for the next to be glued to. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sinks.h"
#include "test-main.h"

static char tmp[64], path[128];
static char message[1000];

static void setup(void)
{
        strcpy(tmp, "/tmp/mw-sinks-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmp));
        snprintf(path, sizeof(path), "%s/sub/events.jsonl", tmp);
        memset(message, 'x', sizeof(message) - 1);
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        ck_assert_int_eq(system(cmd), 0);
}

static Record record(bool quiet)
{
        Record r = record_init(RECORD_WARNING);
        r.path = "/x.slice";
        r.message = message;
        r.quiet = quiet;
        return r;
}

static off_t size_of(const char *p)
{
        struct stat st;

        return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Every byte of the file belongs to a complete JSON line. */
static unsigned whole_lines(const char *p)
{
        char buf[65536];
        FILE *f = fopen(p, "re");
        size_t n;
        unsigned lines = 0;

        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        for (char *l = buf; *l;) {
                char *nl = strchr(l, '\n');
                ck_assert_msg(nl, "unterminated line in %s", p);
                ck_assert_msg(l[0] == '{' && nl[-1] == '}', "not a whole record in %s", p);
                lines++;
                l = nl + 1;
        }
        return lines;
}

START_TEST(test_event_log_rotation)
{
        Sinks s;
        Record r = record(false);
        char name[160];

        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_NONE,
                                                        .event_log = path,
                                                        .event_log_max = 4096,
                                                        .event_log_keep = 2 }),
                         0);
        ck_assert_int_eq(size_of(path), 0); /* its directory made */
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        ck_assert_int_eq(size_of(path), 0); /* observations are not for the event log */
        for (int i = 0; i < 20; i++)
                sinks_write(&s, &r, SINK_KIND_DECISION);
        for (unsigned i = 0; i <= 2; i++) {
                snprintf(name, sizeof(name), i ? "%s.%u" : "%s", path, i);
                ck_assert_int_le(size_of(name), 4096);
                ck_assert_uint_ge(whole_lines(name), 1);
        }
        snprintf(name, sizeof(name), "%s.3", path);
        ck_assert_int_eq(size_of(name), -1);
        ck_assert_uint_ge(s.log.n_rotations, 4);
        ck_assert_uint_eq(sinks_event_log_errors(&s), 0);
        sinks_close(&s);
}
END_TEST

START_TEST(test_event_log_short_write)
{
        Sinks s;
        Record r = record(false);
        struct rlimit rl;
        off_t one;

        signal(SIGXFSZ, SIG_IGN);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_NONE,
                                                        .event_log = path,
                                                        .event_log_max = 1 << 20,
                                                        .event_log_keep = 1 }),
                         0);
        sinks_write(&s, &r, SINK_KIND_DECISION);
        one = size_of(path);
        ck_assert_int_gt(one, 500);
        /* The next line stops 100 bytes in: the file is cut back to one line. */
        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &(struct rlimit){ (rlim_t)one + 100, rl.rlim_max }), 0);
        sinks_write(&s, &r, SINK_KIND_DECISION);
        ck_assert_int_eq(size_of(path), one);
        ck_assert_uint_eq(sinks_event_log_errors(&s), 1);
        ck_assert_uint_eq(s.log.n_dropped, 1);
        /* At the limit: nothing written, nothing partial. */
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &(struct rlimit){ (rlim_t)one, rl.rlim_max }), 0);
        sinks_write(&s, &r, SINK_KIND_DECISION);
        ck_assert_uint_eq(sinks_event_log_errors(&s), 2);
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
        sinks_write(&s, &r, SINK_KIND_DECISION);
        ck_assert_uint_eq(whole_lines(path), 2);
        ck_assert_int_eq(size_of(path), 2 * one);
        ck_assert_uint_eq(s.log.size, (uint64_t)(2 * one));
        sinks_close(&s);
}
END_TEST

START_TEST(test_output_file)
{
        char out[160];
        Sinks s;
        Record r = record(false), q = record(true);

        snprintf(out, sizeof(out), "%s/out.jsonl", tmp);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE, .output_path = out }), 0);
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        sinks_write(&s, &q, SINK_KIND_OBSERVATION); /* quiet: for the engine only */
        sinks_write(&s, &r, SINK_KIND_DECISION);
        sinks_close(&s);
        ck_assert_uint_eq(whole_lines(out), 2);
        ck_assert_int_eq(size_of(path), -1); /* no event log asked for */

        snprintf(out, sizeof(out), "%s/no/such/dir/out", tmp);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE, .output_path = out }),
                         -ENOENT);
        sinks_close(&s);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("sinks");
        TCase *tc = tcase_create("files");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_event_log_rotation);
        tcase_add_test(tc, test_event_log_short_write);
        tcase_add_test(tc, test_output_file);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
