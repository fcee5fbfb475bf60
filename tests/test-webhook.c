/* SPDX-License-Identifier: MIT */
/* Webhooks and the exec helper on a real sd-event loop, against real HTTP
 * endpoints on loopback (one answers, one fails once, one never answers) and
 * real commands. Argument: the memwardend binary (the exec helper). */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec-proto.h"
#include "executor.h"
#include "macro.h"
#include "test-main.h"

static const char *memwardend;

typedef struct Server {
        int fd;
        int port;
        int mode; /* 0: 204, 1: 500 once then 204, 2: never answer */
        int n_requests;
        char last_body[4096];
} Server;

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *serve(void *userdata)
{
        Server *s = userdata;

        for (;;) {
                int c = accept(s->fd, NULL, NULL);
                char buf[8192];
                size_t len = 0;
                if (c < 0)
                        return NULL;
                if (s->mode == 2)
                        continue; /* held open, never answered (leaked on purpose until exit) */
                /* Read headers and the Content-Length body. */
                for (;;) {
                        ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
                        if (n <= 0)
                                break;
                        len += (size_t)n;
                        buf[len] = '\0';
                        char *eoh = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "Content-Length:");
                        if (eoh && cl && len >= (size_t)(eoh + 4 - buf) + (size_t)atoi(cl + 15))
                                break;
                }
                char *eoh = strstr(buf, "\r\n\r\n");
                if (eoh)
                        snprintf(s->last_body, sizeof(s->last_body), "%s", eoh + 4);
                s->n_requests++;
                const char *reply =
                        s->mode == 1 && s->n_requests == 1
                                ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                : "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
                (void)!write(c, reply, strlen(reply));
                close(c);
        }
}

static void server_start(Server *s, int mode)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(a);
        pthread_t t;

        memset(s, 0, sizeof(*s));
        s->mode = mode;
        s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(s->fd, 0);
        ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(listen(s->fd, 64), 0);
        ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &l), 0);
        s->port = ntohs(a.sin_port);
        ck_assert_int_eq(pthread_create(&t, NULL, serve, s), 0);
        pthread_detach(t);
}

typedef struct Done {
        bool done, ok;
        long code;
        unsigned attempts;
        uint64_t at_ms;
        char cookie[64];
} Done;

static void on_done(void *userdata, const char *url, const char *cookie, bool ok, long code,
                    unsigned attempts, const char *error)
{
        Done *d = userdata;
        (void)url, (void)error;
        d->done = true, d->ok = ok, d->code = code, d->attempts = attempts, d->at_ms = now_ms();
        snprintf(d->cookie, sizeof(d->cookie), "%s", cookie);
}

static void run_until(sd_event *e, const bool *flag, unsigned max_ms)
{
        uint64_t end = now_ms() + max_ms;
        while (!*flag && now_ms() < end)
                ck_assert_int_ge(sd_event_run(e, 50000), 0);
}

START_TEST(test_webhooks)
{
        Server ok, flaky, hang;
        Webhooks *h;
        sd_event *e;
        char url[128], url_flaky[128], url_hang[128];
        Done d_ok = {}, d_flaky = {}, d_hang = {}, d_extra[WEBHOOK_QUEUE_MAX] = {};
        const char *body = "{\"event\":\"action\",\"action\":\"notify\"}";

        server_start(&ok, 0);
        server_start(&flaky, 1);
        server_start(&hang, 2);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", ok.port);
        snprintf(url_flaky, sizeof(url_flaky), "http://127.0.0.1:%d/flaky", flaky.port);
        snprintf(url_hang, sizeof(url_hang), "http://127.0.0.1:%d/hang", hang.port);
        ck_assert_int_ge(sd_event_new(&e), 0);
        /* Made and freed without libcurl ever being loaded (no policy had a webhook). */
        ck_assert_int_eq(webhooks_new(e, 500000, &h), 0);
        h = webhooks_free(h);
        ck_assert_int_eq(webhooks_new(e, 1500000, &h), 0);
        ck_assert_int_eq(webhooks_post(h, "http://127.0.0.1:1/", "{}", 2, "c", on_done, &d_ok), -ENOTCONN);
        ck_assert_int_eq(webhooks_prepare(h), 0);

        /* The hanging endpoint first: the answering one is not held up by it (it
         * answers while the hanging post still waits for its 1.5 s timeout). */
        ck_assert_int_eq(webhooks_post(h, url_hang, body, strlen(body), "hang", on_done, &d_hang), 0);
        ck_assert_int_eq(webhooks_post(h, url, body, strlen(body), "ok", on_done, &d_ok), 0);
        ck_assert_int_eq(webhooks_post(h, url_flaky, body, strlen(body), "flaky", on_done, &d_flaky), 0);
        run_until(e, &d_ok.done, 5000);
        ck_assert(d_ok.done && d_ok.ok);
        ck_assert_int_eq(d_ok.code, 204);
        ck_assert_uint_eq(d_ok.attempts, 1);
        ck_assert_str_eq(d_ok.cookie, "ok");
        ck_assert_str_eq(ok.last_body, body);
        ck_assert(!d_hang.done);

        /* 500 once, then 204 after a 1 s backoff. */
        run_until(e, &d_flaky.done, 5000);
        ck_assert(d_flaky.done && d_flaky.ok);
        ck_assert_uint_eq(d_flaky.attempts, 2);
        ck_assert_int_eq(flaky.n_requests, 2);

        /* The queue is bounded: 16 slots, one taken by the hanging post. */
        unsigned queued = 0;
        int r = 0;
        for (unsigned i = 0; i < WEBHOOK_QUEUE_MAX && r == 0; i++) {
                r = webhooks_post(h, url_hang, body, strlen(body), "x", on_done, &d_extra[i]);
                queued += r == 0;
        }
        ck_assert_int_eq(r, -ENOBUFS);
        ck_assert_uint_eq(queued, WEBHOOK_QUEUE_MAX - 1);

        /* The hanging one: 4 attempts of 0.5 s with 1 + 2 + 4 s of backoff, then failed. */
        run_until(e, &d_hang.done, 30000);
        ck_assert(d_hang.done && !d_hang.ok);
        ck_assert_uint_eq(d_hang.attempts, 4);
        ck_assert_int_eq(d_hang.code, 0);

        uint64_t sent, failed, dropped;
        webhooks_get_stats(h, &sent, &failed, &dropped);
        ck_assert_uint_eq(sent, 2);
        ck_assert_uint_eq(failed, 1);
        ck_assert_uint_eq(dropped, 1);
        webhooks_free(h);
        sd_event_unref(e);
}
END_TEST

typedef struct ExecResult {
        bool done;
        int status, forged;
        char cookie[64], detail[256];
} ExecResult;

static void on_exec(void *userdata, const char *cookie, int status, const char *detail)
{
        ExecResult *x = userdata;
        if (strcmp(cookie, "forged") == 0) {
                x->forged++;
                return;
        }
        x->done = true;
        x->status = status;
        snprintf(x->cookie, sizeof(x->cookie), "%s", cookie);
        snprintf(x->detail, sizeof(x->detail), "%s", detail);
}

static char self_exe[4096];

static int cmp_int(const void *a, const void *b)
{
        return *(const int *)a - *(const int *)b;
}

/* This binary run as a command (test-webhook --probe OUT): what the command
 * was given, written to OUT. It also tries to forge a reply on every fd. */
_Noreturn static void probe(const char *out)
{
        static char buf[16384];
        int fds[256], n_fds = 0, forged = 0;
        size_t len = 0;
        char line[256], target[256] = "";
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

#define APPEND(...)                                                                                         \
        len += (size_t)snprintf(buf + len, len < sizeof(buf) ? sizeof(buf) - len : 0, __VA_ARGS__)
        while (d && (de = readdir(d)) && n_fds < (int)ELEMENTSOF(fds)) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);
                if (de->d_name[0] != '.' && !*end && fd != dirfd(d))
                        fds[n_fds++] = (int)fd;
        }
        if (d)
                closedir(d);
        qsort(fds, (size_t)n_fds, sizeof(int), cmp_int);
        APPEND("fds:");
        for (int i = 0; i < n_fds; i++)
                APPEND(" %d", fds[i]);
        APPEND("\n");

        FILE *f = fopen("/proc/self/status", "re");
        static const char *const keys[] = { "SigBlk:", "SigIgn:", "CapInh:", "CapPrm:",
                                            "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:" };
        while (f && fgets(line, sizeof(line), f))
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (strncmp(line, keys[i], strlen(keys[i])) == 0)
                                APPEND("%s", line);
        if (f)
                fclose(f);
        APPEND("leader: %d %d\n", getpgid(0) == getpid(), getsid(0) == getpid());
        for (char **e = environ; *e; e++)
                APPEND("env: %s\n", *e);
        ssize_t k = readlink("/proc/self/fd/1", target, sizeof(target) - 1);
        target[k > 0 ? k : 0] = '\0';
        APPEND("stdout: %s\n", target);

        /* The helper's socket, were it here, would take this as its reply. */
        char msg[256];
        size_t n;
        if (exec_reply_encode(msg, sizeof(msg), 0, "forged", 6, "x", 1, &n) < 0)
                _exit(3); /* no ck_assert here: this is not a test */
        for (int fd = 0; fd < 1024; fd++)
                if (send(fd, msg, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n)
                        forged++;
        APPEND("forged: %d\n", forged);

        APPEND("stdin: ");
        while (len < sizeof(buf) - 1 && (k = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)k;
#undef APPEND
        int o = open(out, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (o < 0 || write(o, buf, len < sizeof(buf) ? len : sizeof(buf)) < 0)
                _exit(1);
        _exit(0); /* no leak check: it would need ptrace, which the command may not have */
}

static void read_file(const char *path, char *buf, size_t size)
{
        FILE *f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        size_t n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        fclose(f);
}

static void run_exec(sd_event *e, ExecHelper *h, ExecResult *x, char **argv, size_t argc,
                     uint64_t timeout_usec, const char *input, const char *cookie)
{
        *x = (ExecResult){};
        ck_assert_int_eq(exec_helper_run(h, argv, argc, timeout_usec, input, strlen(input), cookie), 0);
        run_until(e, &x->done, 20000);
        ck_assert_msg(x->done, "no reply for '%s'", cookie);
        ck_assert_str_eq(x->cookie, cookie);
}

START_TEST(test_exec_helper)
{
        char out[] = "/tmp/mw-exec-XXXXXX", script[300], got[256] = "";
        ExecHelper *h;
        ExecResult x = {};
        sd_event *e;
        int fd;

        fd = mkstemp(out);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(exec_helper_start(e, memwardend, on_exec, &x, &h), 0);

        /* The event on stdin; no shell unless the command asks for one. */
        snprintf(script, sizeof(script), "cat > %s; cat /proc/self/oom_score_adj >> %s", out, out);
        char *argv1[] = { "/bin/sh", "-c", script };
        run_exec(e, h, &x, argv1, 3, 5000000, "{\"event\":\"action\"}\n", "c1");
        ck_assert_int_eq(x.status, 0);
        read_file(out, got, sizeof(got));
        ck_assert_str_eq(got, "{\"event\":\"action\"}\n0\n"); /* the command is not shielded from OOM */

        /* Killed at its timeout. */
        char *argv2[] = { "/bin/sleep", "30" };
        uint64_t t0 = now_ms();
        run_exec(e, h, &x, argv2, 2, 300000, "", "c2");
        ck_assert_int_eq(x.status, -ETIME);
        ck_assert_uint_lt(now_ms() - t0, 5000);
        ck_assert_ptr_nonnull(strstr(x.detail, "timed out"));

        /* A program that is not there: the child says why before it exits. */
        char *argv3[] = { "/nonexistent/program" };
        run_exec(e, h, &x, argv3, 1, 5000000, "", "c3");
        ck_assert_int_eq(x.status, 127);
        ck_assert_str_eq(x.detail, "/nonexistent/program: execve failed: No such file or directory");

        /* A command exiting 127 itself is not mistaken for a failed start. */
        char *argv4[] = { "/bin/sh", "-c", "exit 127" };
        run_exec(e, h, &x, argv4, 3, 5000000, "", "c4");
        ck_assert_int_eq(x.status, 127);
        ck_assert_ptr_nonnull(strstr(x.detail, "exit 127"));

        exec_helper_free(h);
        sd_event_unref(e);
        unlink(out);
}
END_TEST

/* What the command gets: stdin, stdout /dev/null and stderr and no other fd,
 * default signals, no capabilities, its own session, the clean environment.
 * The daemon here starts with stdin and stdout closed and an fd without
 * CLOEXEC, so its socketpair lands on 0 and 1: neither may reach the command. */
START_TEST(test_exec_sandbox)
{
        char out[] = "/tmp/mw-exec-XXXXXX", got[16384], expect[2048];
        ExecHelper *h;
        ExecResult x = {};
        sd_event *e;
        int fd, saved_in, saved_out, leak;

        fd = mkstemp(out);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_ge(sd_event_new(&e), 0);
        leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC, on purpose */
        ck_assert_int_ge(leak, 3);
        saved_in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        saved_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        ck_assert_int_ge(saved_in, 0);
        ck_assert_int_ge(saved_out, 0);
        close(STDIN_FILENO);
        close(STDOUT_FILENO);
        ck_assert_int_eq(exec_helper_start(e, memwardend, on_exec, &x, &h), 0);
        int type = 0;
        socklen_t sl = sizeof(type);
        ck_assert_int_eq(getsockopt(STDIN_FILENO, SOL_SOCKET, SO_TYPE, &type, &sl), 0);
        ck_assert_int_eq(type, SOCK_SEQPACKET); /* the daemon's end; the helper's was 1 */
        ck_assert_int_eq(dup2(saved_out, STDOUT_FILENO), STDOUT_FILENO);

        char *argv[] = { self_exe, "--probe", out };
        run_exec(e, h, &x, argv, 3, 10000000, "{\"event\":\"probe\"}\n", "p1");
        ck_assert_msg(x.status == 0, "probe: %s", x.detail);
        ck_assert_int_eq(x.forged, 0);
        read_file(out, got, sizeof(got));

        const char *zero = "0000000000000000";
        snprintf(expect, sizeof(expect),
                 "fds: 0 1 2\nSigBlk:\t%s\nSigIgn:\t%s\nCapInh:\t%s\nCapPrm:\t%s\nCapEff:\t%s\nCapBnd:\t%s\n"
                 "CapAmb:\t%s\nNoNewPrivs:\t1\nleader: 1 1\nenv: PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
                 "env: LANG=C.UTF-8\nstdout: /dev/null\nforged: 0\nstdin: {\"event\":\"probe\"}\n",
                 zero, zero, zero, zero, zero, zero, zero);
        if (geteuid() != 0) {
                /* Not root: the bounding set cannot be dropped (no CAP_SETPCAP); no_new_privs covers it. */
                char *b = strstr(got, "CapBnd:\t"), *nl = b ? strchr(b, '\n') : NULL;
                ck_assert_ptr_nonnull(nl);
                memcpy(b + 8, zero, 16);
                fprintf(stderr, "test-exec-sandbox: not root, CapBnd not checked\n");
        }
        ck_assert_str_eq(got, expect);

        exec_helper_free(h);
        sd_event_unref(e);
        close(leak);
        ck_assert_int_eq(dup2(saved_in, STDIN_FILENO), STDIN_FILENO);
        close(saved_in);
        close(saved_out);
        unlink(out);
}
END_TEST

/* A daemon without CAP_SETPCAP (say, systemd's CapabilityBoundingSet= left
 * it out) cannot empty the bounding set: the command must still run, with no
 * capabilities and no way to gain any (no_new_privs). Its own process, as
 * that is not undone; no ck_assert there. */
START_TEST(test_exec_no_setpcap)
{
        char out[] = "/tmp/mw-exec-XXXXXX", got[16384];
        int fd, st;
        pid_t pid;

        if (geteuid() != 0 || prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1) {
                fprintf(stderr, "test-exec-no-setpcap: needs root with CAP_SETPCAP, skipped\n");
                return;
        }
        fd = mkstemp(out);
        ck_assert_int_ge(fd, 0);
        close(fd);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                ExecResult x = {};
                ExecHelper *h;
                sd_event *e;
                char *argv[] = { self_exe, "--probe", out };
                const char *in = "{}";

                /* uid 0 gets its bounding set as permitted at execve: the helper has no CAP_SETPCAP. */
                if (prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0) < 0)
                        _exit(10);
                if (sd_event_new(&e) < 0 || exec_helper_start(e, memwardend, on_exec, &x, &h) < 0 ||
                    exec_helper_run(h, argv, 3, 10000000, in, strlen(in), "n1") < 0)
                        _exit(11);
                for (uint64_t end = now_ms() + 20000; !x.done && now_ms() < end;)
                        if (sd_event_run(e, 50000) < 0)
                                _exit(12);
                if (!x.done || x.status != 0 || x.forged) {
                        fprintf(stderr, "probe without CAP_SETPCAP: %s\n", x.done ? x.detail : "no reply");
                        _exit(13);
                }
                exec_helper_free(h);
                sd_event_unref(e);
                _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "the helper without CAP_SETPCAP: wait status %d", st);
        read_file(out, got, sizeof(got));
        ck_assert_ptr_nonnull(strstr(got, "\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"));
        ck_assert_ptr_nonnull(strstr(got, "\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"));
        ck_assert_ptr_null(strstr(got, "\nCapBnd:\t0000000000000000\n")); /* what it could not drop */
        ck_assert_ptr_nonnull(strstr(got, "\nforged: 0\n"));
        unlink(out);
}
END_TEST

static bool gone_within(pid_t pid, unsigned max_ms)
{
        uint64_t end = now_ms() + max_ms;
        for (;;) {
                if (kill(pid, 0) < 0 && errno == ESRCH)
                        return true;
                if (now_ms() >= end)
                        return false;
                usleep(10000);
        }
}

/* At the timeout the whole process group goes: here a grandchild that
 * ignores SIGTERM and outlives its parent's death. Both are reaped. */
START_TEST(test_exec_timeout_group)
{
        char out[] = "/tmp/mw-exec-XXXXXX", script[300], got[256];
        ExecHelper *h;
        ExecResult x = {};
        sd_event *e;
        int fd, shell = 0, grandchild = 0;

        fd = mkstemp(out);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(exec_helper_start(e, memwardend, on_exec, &x, &h), 0);

        snprintf(script, sizeof(script), "trap '' TERM; /bin/sleep 1000 & echo $$ $! > %s; wait", out);
        char *argv[] = { "/bin/sh", "-c", script };
        uint64_t t0 = now_ms();
        run_exec(e, h, &x, argv, 3, 2000000, "", "t1");
        ck_assert_int_eq(x.status, -ETIME);
        ck_assert_str_eq(strstr(x.detail, ": timed out") ? "ok" : x.detail, "ok");
        ck_assert_ptr_null(strstr(x.detail, "not gone"));
        ck_assert_uint_lt(now_ms() - t0, 2000 + 5000);
        read_file(out, got, sizeof(got));
        ck_assert_int_eq(sscanf(got, "%d %d", &shell, &grandchild), 2);
        ck_assert_int_gt(shell, 0);
        ck_assert_int_gt(grandchild, 0);
        /* Reaped before the reply (the helper is their subreaper), so at once; the bound is for slow hosts.
         */
        ck_assert_msg(gone_within(shell, 5000), "the command (%d) is still there", shell);
        ck_assert_msg(gone_within(grandchild, 5000), "its grandchild (%d) is still there", grandchild);

        exec_helper_free(h);
        sd_event_unref(e);
        unlink(out);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("webhook-exec");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_webhooks);
        tcase_add_test(tc, test_exec_helper);
        tcase_add_test(tc, test_exec_sandbox);
        tcase_add_test(tc, test_exec_timeout_group);
        tcase_add_test(tc, test_exec_no_setpcap);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv)
{
        SRunner *sr;
        int failed;

        if (argc == 3 && strcmp(argv[1], "--probe") == 0)
                probe(argv[2]);
        if (argc != 2) {
                fprintf(stderr, "usage: test-webhook MEMWARDEND\n");
                return 2;
        }
        memwardend = argv[1];
        ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
        if (n <= 0) {
                perror("readlink /proc/self/exe");
                return EXIT_FAILURE;
        }
        self_exe[n] = '\0';
        sr = srunner_create(make_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
