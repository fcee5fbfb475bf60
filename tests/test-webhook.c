/* SPDX-License-Identifier: MIT */
/* Webhooks and the exec helper on a real sd-event loop, against real HTTP
 * endpoints on loopback (one answers, one fails once, one never answers) and
 * real commands. Argument: the memwardend binary (the exec helper). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
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
        int status;
        char cookie[64], detail[256];
} ExecResult;

static void on_exec(void *userdata, const char *cookie, int status, const char *detail)
{
        ExecResult *x = userdata;
        x->done = true;
        x->status = status;
        snprintf(x->cookie, sizeof(x->cookie), "%s", cookie);
        snprintf(x->detail, sizeof(x->detail), "%s", detail);
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
        const char *input = "{\"event\":\"action\"}\n";
        ck_assert_int_eq(exec_helper_run(h, argv1, 3, 5000000, input, strlen(input), "c1"), 0);
        run_until(e, &x.done, 10000);
        ck_assert(x.done);
        ck_assert_int_eq(x.status, 0);
        ck_assert_str_eq(x.cookie, "c1");
        FILE *f = fopen(out, "re");
        ck_assert_ptr_nonnull(f);
        size_t n = fread(got, 1, sizeof(got) - 1, f);
        got[n] = '\0';
        fclose(f);
        ck_assert_str_eq(got, "{\"event\":\"action\"}\n0\n"); /* the command is not shielded from OOM */

        /* Killed at its timeout. */
        x = (ExecResult){};
        char *argv2[] = { "/bin/sleep", "30" };
        ck_assert_int_eq(exec_helper_run(h, argv2, 2, 300000, "", 0, "c2"), 0);
        uint64_t t0 = now_ms();
        run_until(e, &x.done, 10000);
        ck_assert(x.done);
        ck_assert_int_eq(x.status, -ETIME);
        ck_assert_uint_lt(now_ms() - t0, 5000);
        ck_assert_ptr_nonnull(strstr(x.detail, "timed out"));

        /* A program that is not there. */
        x = (ExecResult){};
        char *argv3[] = { "/nonexistent/program" };
        ck_assert_int_eq(exec_helper_run(h, argv3, 1, 5000000, "", 0, "c3"), 0);
        run_until(e, &x.done, 10000);
        ck_assert(x.done);
        ck_assert_int_eq(x.status, 127);

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
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv)
{
        SRunner *sr;
        int failed;

        if (argc != 2) {
                fprintf(stderr, "usage: test-webhook MEMWARDEND\n");
                return 2;
        }
        memwardend = argv[1];
        sr = srunner_create(make_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
