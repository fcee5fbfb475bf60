/* SPDX-License-Identifier: MIT */
/* memwardenctl tree's model (src/tree-view.c): answer lines in, the tree and
 * its table and JSON out; hostile answers and names; a fake cgroup tree. */
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
#include "tree-view.h"

#define HEADER "{\"memwarden\":\"0.1.0\",\"pid\":1,\"cgroup_root\":\"/sys/fs/cgroup\",\"cgroups\":5}"

static void status_line(Tree *t, const char *path, const char *extra)
{
        char line[8192];

        snprintf(line, sizeof(line),
                 "{\"cgroup\":\"%s\",\"kind\":\"service\",\"watched\":true,\"memory_high\":\"max\","
                 "\"memory_max\":104857600,\"counters\":{\"low\":0,\"high\":7,\"max\":1,\"oom\":0,\"oom_"
                 "kill\":2},"
                 "\"psi_armed\":true,\"psi\":{\"some\":{\"avg10\":12.34,\"avg60\":1.00,\"avg300\":0.00,"
                 "\"total_us\":5},\"full\":{\"avg10\":0.50,\"avg60\":0.00,\"avg300\":0.00,\"total_us\":1}}%"
                 "s}",
                 path, extra ? extra : "");
        ck_assert_int_eq(tree_add_status(t, line, strlen(line)), 0);
}

static Tree sample(void)
{
        Tree t = {};

        ck_assert_int_eq(tree_add_status(&t, HEADER, strlen(HEADER)), 0);
        /* Out of order, as the daemon's slots are; "/a.slice" sorts after "/a/..." by bytes. */
        status_line(&t, "/a.slice/web.service", NULL);
        status_line(&t, "/", NULL);
        status_line(&t, "/a", NULL);
        status_line(&t, "/a.slice", NULL);
        status_line(&t, "/a/b", NULL);
        status_line(&t, "/a/c", NULL);
        status_line(&t, "/a/b/d", NULL);
        return t;
}

static const TreeNode *find(const Tree *t, const char *path)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->v[i].path, path) == 0)
                        return &t->v[i];
        return NULL;
}

START_TEST(test_parse_status)
{
        Tree t = sample();
        const TreeNode *n = find(&t, "/a/b");

        ck_assert_str_eq(t.root, "/sys/fs/cgroup");
        ck_assert_uint_eq(t.n, 7);
        ck_assert_ptr_nonnull(n);
        ck_assert_str_eq(n->kind, "service");
        ck_assert(n->watched);
        ck_assert_uint_eq(n->high, UINT64_MAX);
        ck_assert_uint_eq(n->max, 104857600);
        ck_assert_uint_eq(n->ev_high, 7);
        ck_assert_uint_eq(n->ev_max, 1);
        ck_assert_uint_eq(n->ev_oom_kill, 2);
        ck_assert_int_eq(n->psi_some10, 1234);
        ck_assert_int_eq(n->psi_full10, 50);
        ck_assert_uint_eq(n->current, TREE_UNKNOWN); /* read from the files, not the answer */
        tree_done(&t);
}
END_TEST

START_TEST(test_order_and_shape)
{
        Tree t = sample();
        static const char *order[] = {
                "/", "/a", "/a/b", "/a/b/d", "/a/c", "/a.slice", "/a.slice/web.service"
        };
        static const unsigned depth[] = { 0, 1, 2, 3, 2, 1, 2 };
        static const bool last[] = { true, false, false, true, true, true, true };

        tree_finish(&t, NULL);
        ck_assert_uint_eq(t.n, 7);
        for (size_t i = 0; i < 7; i++) {
                ck_assert_str_eq(t.v[i].path, order[i]);
                ck_assert_uint_eq(t.v[i].depth, depth[i]);
                ck_assert_msg(t.v[i].last == last[i], "%s last", order[i]);
        }
        ck_assert_uint_eq(t.v[0].parent, SIZE_MAX);
        ck_assert_str_eq(t.v[t.v[3].parent].path, "/a/b");
        ck_assert_str_eq(t.v[t.v[6].parent].path, "/a.slice");
        tree_done(&t);
}
END_TEST

/* "/a" must not take "/a.slice" along: a subtree is its path and what is below. */
START_TEST(test_subtree)
{
        Tree t = sample();

        tree_finish(&t, "/a");
        ck_assert_uint_eq(t.n, 4);
        ck_assert_str_eq(t.v[0].path, "/a");
        ck_assert_uint_eq(t.v[0].depth, 0);
        ck_assert_str_eq(t.v[3].path, "/a/c");
        ck_assert_uint_eq(t.v[3].depth, 1);
        tree_done(&t);
        t = sample();
        tree_finish(&t, "/nothing");
        ck_assert_uint_eq(t.n, 0);
        tree_done(&t);
}
END_TEST

START_TEST(test_explain_merge)
{
        Tree t = sample();
        const char *e =
                "{\"cgroup\":\"/a/b\",\"kind\":\"service\",\"identity\":{\"unit\":\"b\"},\"policy\":\"web\","
                "\"source\":\"/etc/x.yaml:3\",\"any\":[\"a \\\"q\\\"\"],\"armed\":true,\"phase\":\"firing\","
                "\"others\":[{\"policy\":\"o\",\"why\":\"no\"}],\"node_policy\":{\"policy\":\"low-mem\","
                "\"phase\":\"idle\"}}";
        const char *none = "{\"cgroup\":\"/a/c\",\"policy\":null,\"others\":[],\"node_policy\":null}";
        const char *unknown = "{\"cgroup\":\"/zz\",\"policy\":\"p\"}";
        const TreeNode *n;

        ck_assert_int_eq(tree_add_explain(&t, e, strlen(e)), 0);
        ck_assert_int_eq(tree_add_explain(&t, none, strlen(none)), 0);
        ck_assert_int_eq(tree_add_explain(&t, unknown, strlen(unknown)), 0);
        n = find(&t, "/a/b");
        ck_assert_str_eq(n->policy, "web");
        ck_assert_str_eq(n->phase, "firing");
        ck_assert_str_eq(n->node_policy, "low-mem");
        n = find(&t, "/a/c");
        ck_assert_str_eq(n->policy, "");
        ck_assert_str_eq(n->node_policy, "");
        tree_done(&t);
}
END_TEST

/* Garbage from whoever answers on the socket: refused or ignored, never
 * read past its end, never a control byte kept. */
START_TEST(test_hostile_lines)
{
        static const char *bad[] = {
                "",
                "{",
                "not json",
                "{\"cgroup\":",
                "{\"cgroup\":\"/a",
                "{\"cgroup\":\"/a\\",
                "{\"cgroup\":\"relative\"}",
                "{\"cgroup\":\"/a\x01\"}",
                "{\"cgroup\":\"/a\\q\"}",
                "{\"cgroup\":42}",
                "[\"cgroup\",\"/a\"]",
                "{\"x\":{\"cgroup\":\"/nested\"}}",
        };
        Tree t = {};
        char big[TREE_PATH_MAX + 64];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(tree_add_status(&t, bad[i], strlen(bad[i])) < 0, "accepted: %s", bad[i]);
        /* A path longer than any cgroup path. */
        memset(big, 'a', sizeof(big));
        memcpy(big, "{\"cgroup\":\"/", 12);
        memcpy(big + sizeof(big) - 3, "\"}", 3);
        ck_assert_int_lt(tree_add_status(&t, big, strlen(big)), 0);
        ck_assert_uint_eq(t.n, 0);
        /* Values that are not what they should be are unknown, not guessed. */
        const char *odd = "{\"cgroup\":\"/o\",\"memory_high\":-1,\"memory_max\":99999999999999999999999,"
                          "\"counters\":{\"high\":\"7\"},\"psi\":{\"some\":{\"avg10\":1e9}}}";
        ck_assert_int_eq(tree_add_status(&t, odd, strlen(odd)), 0);
        ck_assert_uint_eq(t.v[0].high, TREE_UNKNOWN);
        ck_assert_uint_eq(t.v[0].max, TREE_UNKNOWN);
        ck_assert_uint_eq(t.v[0].ev_high, TREE_UNKNOWN);
        ck_assert_int_eq(t.v[0].psi_some10, -1);
        tree_done(&t);
}
END_TEST

START_TEST(test_unescape)
{
        static const struct {
                const char *in, *out;
                int r;
        } cases[] = {
                { "plain", "plain", 0 },      { "a\\\\x2db", "a\\x2db", 0 },
                { "q\\\"\\/", "q\"/", 0 },    { "\\u001b[31m", "\033[31m", 0 },
                { "\\u0000", NULL, -EINVAL }, { "\\u00e9", NULL, -EINVAL },
                { "\\u12", NULL, -EINVAL },   { "\\q", NULL, -EINVAL },
                { "end\\", NULL, -EINVAL },
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ck_assert_int_eq(tree_unescape(cases[i].in, buf, sizeof(buf)), cases[i].r);
                if (cases[i].out)
                        ck_assert_str_eq(buf, cases[i].out);
        }
        ck_assert_int_eq(tree_unescape("0123456789", buf, 10), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_sizes)
{
        static const struct {
                uint64_t v;
                const char *s;
        } cases[] = {
                { TREE_UNKNOWN, "-" },
                { UINT64_MAX, "max" },
                { 0, "0B" },
                { 1023, "1023B" },
                { 1024, "1K" },
                { 1536, "1.5K" },
                { 64 << 20, "64M" },
                { 1610612736, "1.5G" },
                { 10 << 20, "10M" },
                { 1048575, "1024K" },
                { UINT64_MAX - 2, "16E" },
        };
        char buf[16];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                tree_format_size(cases[i].v, buf, sizeof(buf));
                ck_assert_str_eq(buf, cases[i].s);
        }
}
END_TEST

START_TEST(test_sanitize)
{
        char buf[64];

        tree_sanitize("ok-name.service", buf, sizeof(buf));
        ck_assert_str_eq(buf, "ok-name.service");
        tree_sanitize("x\033[31mred\xe2\x80\xae", buf, sizeof(buf));
        ck_assert_str_eq(buf, "x\\x1b[31mred\\xe2\\x80\\xae");
        tree_sanitize("\033\033\033\033", buf, 9); /* never a partial escape */
        ck_assert_str_eq(buf, "\\x1b\\x1b");
}
END_TEST

/* The table and the JSON of a hostile name: nothing but printable ASCII in
 * the table, a valid JSON string in the JSON. */
START_TEST(test_print)
{
        Tree t = sample();
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        const char *e = "{\"cgroup\":\"/a/b\",\"policy\":\"web\",\"phase\":\"firing\",\"node_policy\":null}";

        status_line(&t, "/a/evil\\u001b[2J\\\"", NULL);
        ck_assert_int_eq(tree_add_explain(&t, e, strlen(e)), 0);
        tree_finish(&t, NULL);
        f = open_memstream(&out, &len);
        tree_print_table(&t, f);
        fclose(f);
        for (size_t i = 0; i < len; i++)
                ck_assert_msg(out[i] == '\n' || (out[i] >= 0x20 && out[i] < 0x7f), "byte %#x",
                              (unsigned char)out[i]);
        ck_assert_ptr_nonnull(strstr(out, "| |-b "));
        ck_assert_ptr_nonnull(strstr(out, "web (firing)"));
        ck_assert_ptr_nonnull(strstr(out, "12.34"));
        ck_assert_ptr_nonnull(strstr(out, "`-a.slice"));
        free(out);
        f = open_memstream(&out, &len);
        tree_print_json(&t, f);
        fclose(f);
        ck_assert_ptr_nonnull(strstr(out, "{\"cgroup\":\"/a/b\",\"depth\":2,\"parent\":\"/a\""));
        ck_assert_ptr_nonnull(strstr(out, "\"policy\":\"web\",\"phase\":\"firing\",\"node_policy\":null}"));
        ck_assert_ptr_nonnull(strstr(out, "\"cgroup\":\"/a/evil\\u001b[2J\\\"\""));
        free(out);
        tree_done(&t);
}
END_TEST

static void write_file(int dirfd, const char *path, const char *text)
{
        int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

/* memory.current/low/min from a fake tree; escaped and ".." paths not opened. */
START_TEST(test_read_files)
{
        char dir[] = "/tmp/mw-tree-view.XXXXXX";
        Tree t = {};
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(mkdirat(fd, "a", 0755), 0);
        ck_assert_int_eq(mkdirat(fd, "v1", 0755), 0);
        ck_assert_int_eq(mkdirat(fd, "s\\x2dx.slice", 0755), 0); /* systemd's escape of '-' */
        write_file(fd, "s\\x2dx.slice/memory.current", "8192\n");
        write_file(fd, "memory.current", "4096\n");
        write_file(fd, "a/memory.current", "1048576\n");
        write_file(fd, "a/memory.low", "max\n");
        write_file(fd, "a/memory.min", "512\n");
        write_file(fd, "v1/memory.usage_in_bytes", "2048\n");
        status_line(&t, "/", NULL);
        status_line(&t, "/a", NULL);
        status_line(&t, "/v1", NULL);
        status_line(&t, "/s\\\\x2dx.slice", NULL); /* as JSON: one backslash escaped */
        status_line(&t, "/a/../a", NULL);
        status_line(&t, "/a\\/..\\/a", NULL);
        status_line(&t, "/a\\u0000", NULL);
        tree_read_files(&t, fd);
        ck_assert_uint_eq(find(&t, "/")->current, 4096);
        ck_assert_uint_eq(find(&t, "/a")->current, 1048576);
        ck_assert_uint_eq(find(&t, "/a")->low, UINT64_MAX);
        ck_assert_uint_eq(find(&t, "/a")->min, 512);
        ck_assert_uint_eq(find(&t, "/v1")->current, 2048);
        ck_assert_uint_eq(find(&t, "/v1")->low, TREE_UNKNOWN);
        ck_assert_uint_eq(find(&t, "/s\\\\x2dx.slice")->current, 8192);
        ck_assert_uint_eq(find(&t, "/a/../a")->current, TREE_UNKNOWN);
        ck_assert_uint_eq(find(&t, "/a\\/..\\/a")->current, TREE_UNKNOWN);
        ck_assert_uint_eq(find(&t, "/a\\u0000")->current, TREE_UNKNOWN);
        tree_done(&t);
        unlinkat(fd, "memory.current", 0);
        unlinkat(fd, "a/memory.current", 0);
        unlinkat(fd, "a/memory.low", 0);
        unlinkat(fd, "a/memory.min", 0);
        unlinkat(fd, "v1/memory.usage_in_bytes", 0);
        unlinkat(fd, "s\\x2dx.slice/memory.current", 0);
        unlinkat(fd, "s\\x2dx.slice", AT_REMOVEDIR);
        unlinkat(fd, "a", AT_REMOVEDIR);
        unlinkat(fd, "v1", AT_REMOVEDIR);
        close(fd);
        rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("tree-view");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_status);
        tcase_add_test(tc, test_order_and_shape);
        tcase_add_test(tc, test_subtree);
        tcase_add_test(tc, test_explain_merge);
        tcase_add_test(tc, test_hostile_lines);
        tcase_add_test(tc, test_unescape);
        tcase_add_test(tc, test_sizes);
        tcase_add_test(tc, test_sanitize);
        tcase_add_test(tc, test_print);
        tcase_add_test(tc, test_read_files);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
