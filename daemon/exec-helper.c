/* SPDX-License-Identifier: MIT */
/* The exec helper: a small process started at launch (memwardend
 * --exec-helper FD, a fresh exec, so it holds none of the daemon's memory).
 * The daemon sends it requests over a SOCK_SEQPACKET pair; it runs each
 * command (no shell) with the event's JSON on stdin, one at a time, kills it
 * at its timeout, and answers with the outcome. The daemon itself never forks
 * after start-up, and a fork from this small process is cheap when memory is
 * short. The socket's buffer is the queue: a full one refuses new requests. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec-proto.h"
#include "executor.h"
#include "log.h"
#include "macro.h"

struct ExecHelper {
        sd_event *event;
        sd_event_source *source;
        int fd;
        pid_t pid;
        ExecDone done;
        void *userdata;
        char buf[EXEC_MSG_MAX];
};

/* ---- the daemon's side ---- */

static int on_reply(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ExecHelper *h = userdata;

        for (;;) {
                ssize_t n = recv(h->fd, h->buf, sizeof(h->buf) - 1, MSG_DONTWAIT);
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0) {
                        log_warning("The exec helper went away; exec steps will fail from now on.");
                        h->source = sd_event_source_disable_unref(h->source);
                        h->fd = safe_close(h->fd);
                        if (h->pid > 0)
                                (void)waitpid(h->pid, NULL, WNOHANG);
                        return 0;
                }
                ExecReply rep;
                char cookie[EXEC_COOKIE_MAX + 1];
                if (exec_reply_decode(h->buf, (size_t)n, &rep) < 0)
                        continue;
                h->buf[n] = '\0'; /* ends the detail, the last part */
                memcpy(cookie, rep.cookie, rep.cookie_len);
                cookie[rep.cookie_len] = '\0';
                h->done(h->userdata, cookie, rep.status, rep.detail);
        }
}

int exec_helper_start(sd_event *event, const char *program, ExecDone done, void *userdata, ExecHelper **ret)
{
        int sv[2], r;
        ExecHelper *h;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                char fdarg[16];
                sigset_t all;
                /* The helper starts with signals as a new process expects them. */
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                /* dup2() onto itself would keep FD_CLOEXEC: the helper would start without its socket. */
                if (sv[1] == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(sv[1], 3) < 0)
                        _exit(127);
                snprintf(fdarg, sizeof(fdarg), "%d", 3);
                execl(program, "memwardend", "--exec-helper", fdarg, (char *)NULL);
                _exit(127);
        }
        close(sv[1]);
        h = calloc(1, sizeof(ExecHelper));
        if (!h) {
                close(sv[0]);
                return -ENOMEM;
        }
        h->event = sd_event_ref(event);
        h->fd = sv[0];
        h->pid = pid;
        h->done = done;
        h->userdata = userdata;
        r = sd_event_add_io(event, &h->source, h->fd, EPOLLIN, on_reply, h);
        if (r < 0) {
                exec_helper_free(h);
                return r;
        }
        (void)sd_event_source_set_description(h->source, "exec-helper");
        *ret = h;
        return 0;
}

ExecHelper *exec_helper_free(ExecHelper *h)
{
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->source);
        safe_close(h->fd); /* the helper sees EOF and exits */
        if (h->pid > 0) {
                for (int i = 0; i < 100 && waitpid(h->pid, NULL, WNOHANG) == 0; i++)
                        usleep(10000);
                if (waitpid(h->pid, NULL, WNOHANG) == 0) {
                        kill(h->pid, SIGKILL);
                        (void)waitpid(h->pid, NULL, 0);
                }
        }
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

int exec_helper_run(ExecHelper *h, char *const *argv, size_t argc, uint64_t timeout_usec, const char *input,
                    size_t len, const char *cookie)
{
        size_t n;
        int r;

        if (h->fd < 0)
                return -ECHILD;
        if (timeout_usec / USEC_PER_MSEC > EXEC_TIMEOUT_MS_MAX)
                return -EINVAL;
        r = exec_request_encode(h->buf, sizeof(h->buf), argv, argc, (uint32_t)(timeout_usec / USEC_PER_MSEC),
                                input, len, cookie, strlen(cookie), &n);
        if (r < 0)
                return r;
        if (send(h->fd, h->buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                return errno == EAGAIN ? -ENOBUFS : -errno;
        return 0;
}

/* ---- the helper process ---- */

static void reply(int fd, int status, const char *cookie, size_t cookie_len, const char *fmt, ...)
        _printf_(5, 6);
static void reply(int fd, int status, const char *cookie, size_t cookie_len, const char *fmt, ...)
{
        static char out[4096];
        char detail[1024];
        size_t n;
        va_list ap;

        va_start(ap, fmt);
        int k = vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        if (k < 0)
                k = 0;
        if (exec_reply_encode(out, sizeof(out), status, cookie, cookie_len, detail,
                              (size_t)k < sizeof(detail) ? (size_t)k : sizeof(detail) - 1, &n) < 0)
                return;
        (void)send(fd, out, n, MSG_NOSIGNAL);
}

static void run_one(int fd, const char *msg, size_t n)
{
        ExecRequest req;
        int in[2];
        pid_t pid;

        /* A malformed request gets no reply: only a broken daemon sends one. */
        if (exec_request_decode(msg, n, &req) < 0)
                return;
        char **argv = req.argv;
        const char *cookie = req.cookie, *input = req.input;

        if (pipe2(in, O_CLOEXEC) < 0) {
                reply(fd, -errno, cookie, req.cookie_len, "%s: pipe: %s", argv[0], strerror(errno));
                return;
        }
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(in[0]);
                close(in[1]);
                reply(fd, -e, cookie, req.cookie_len, "%s: fork: %s", argv[0], strerror(e));
                return;
        }
        if (pid == 0) {
                static char *const envp[] = {
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                        NULL
                };
                int o = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                /* The command is an ordinary process: not shielded from the OOM killer like us. */
                if (o >= 0) {
                        (void)!write(o, "0", 1);
                        close(o);
                }
                (void)setsid();
                if (dup2(in[0], STDIN_FILENO) < 0)
                        _exit(127);
                int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (nul >= 0)
                        (void)dup2(nul, STDOUT_FILENO);
                execve(argv[0], argv, envp);
                _exit(127);
        }
        close(in[0]);
        /* The input fits a pipe's buffer (64 KiB) and the request is smaller: no deadlock. */
        for (size_t off = 0; off < req.input_len;) {
                ssize_t w = write(in[1], input + off, req.input_len - off);
                if (w <= 0)
                        break;
                off += (size_t)w;
        }
        close(in[1]);

        int pfd = (int)syscall(SYS_pidfd_open, pid, 0), status = 0;
        bool timed_out = false;
        if (pfd >= 0) {
                struct pollfd pf = { .fd = pfd, .events = POLLIN };
                int k;
                do
                        k = poll(&pf, 1, req.timeout_ms ? (int)req.timeout_ms : -1);
                while (k < 0 && errno == EINTR);
                if (k == 0) {
                        timed_out = true;
                        kill(pid, SIGKILL);
                }
                close(pfd);
        } else {
                /* No pidfd (Linux < 5.3): poll the child's state. */
                uint64_t deadline = start + (uint64_t)req.timeout_ms * USEC_PER_MSEC;
                while (waitpid(pid, &status, WNOHANG) == 0) {
                        if (req.timeout_ms && now_usec(CLOCK_MONOTONIC) > deadline) {
                                timed_out = true;
                                kill(pid, SIGKILL);
                                break;
                        }
                        usleep(10000);
                }
        }
        (void)waitpid(pid, &status, 0);
        unsigned ms = (unsigned)((now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_MSEC);
        if (timed_out)
                reply(fd, -ETIME, cookie, req.cookie_len, "%s: timed out after %u ms, killed", argv[0], ms);
        else if (WIFEXITED(status))
                reply(fd, WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status), cookie, req.cookie_len,
                      "%s: exit %d after %u ms%s", argv[0], WEXITSTATUS(status), ms,
                      WEXITSTATUS(status) == 127 ? " (not found or not executable?)" : "");
        else
                reply(fd, 128 + WTERMSIG(status), cookie, req.cookie_len,
                      "%s: killed by signal %d after %u ms", argv[0], WTERMSIG(status), ms);
}

int exec_helper_main(int fd)
{
        static char msg[EXEC_MSG_MAX];

        signal(SIGPIPE, SIG_IGN);
        signal(SIGTERM, SIG_IGN); /* the daemon ends us by closing the socket */
        signal(SIGINT, SIG_IGN);
        for (;;) {
                ssize_t n = recv(fd, msg, sizeof(msg), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return 0;
                run_one(fd, msg, (size_t)n);
        }
}
