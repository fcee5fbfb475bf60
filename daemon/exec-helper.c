/* SPDX-License-Identifier: MIT */
/* The exec helper: a small process started at launch (memwardend
 * --exec-helper FD, a fresh exec, so it holds none of the daemon's memory).
 * The daemon sends it requests over a SOCK_SEQPACKET pair; it runs each
 * command (no shell) with the event's JSON on stdin, one at a time, kills it
 * at its timeout, and answers with the outcome. The daemon itself never forks
 * after start-up, and a fork from this small process is cheap when memory is
 * short. The socket's buffer is the queue: a full one refuses new requests.
 *
 * A command gets nothing of ours: stdin (the event), stdout /dev/null and
 * stderr, no other fd (least of all the socket: it could forge replies),
 * default signals, no capabilities (bounding set included, no_new_privs), its
 * own session, a fixed environment, oom_score_adj 0. A step that fails before
 * execve() is reported by name. At the timeout its whole process group is
 * killed and reaped (the helper is a subreaper); what a command leaves
 * running after it exits is not killed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
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

/* Everything a command gets: nothing of ours is inherited. No /usr/local in
 * PATH: on Debian it is writable by group staff, and the command runs as
 * uid 0. */
static char *const exec_envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", NULL };

/* How long to wait for a killed command's processes to go: one stuck in the
 * kernel must not stall the queue (the helper reaps it later, idle). */
#define REAP_TIMEOUT_MS 5000

/* The steps between fork() and execve(). A failing one is sent over a CLOEXEC
 * pipe (a successful execve() closes it with nothing written), so the reply
 * can say why. */
typedef enum ChildStep {
        CHILD_STEP_SIGNALS,
        CHILD_STEP_SESSION,
        CHILD_STEP_OOM_SCORE_ADJ,
        CHILD_STEP_STDIO,
        CHILD_STEP_CLOSE_FDS,
        CHILD_STEP_BOUNDING_SET,
        CHILD_STEP_AMBIENT,
        CHILD_STEP_NO_NEW_PRIVS,
        CHILD_STEP_CAPABILITIES,
        CHILD_STEP_EXECVE,
        _CHILD_STEP_MAX,
        _CHILD_STEP_INVALID = -EINVAL,
} ChildStep;

static const char *const child_step_name[_CHILD_STEP_MAX] = {
        [CHILD_STEP_SIGNALS] = "resetting signals",
        [CHILD_STEP_SESSION] = "starting a session",
        [CHILD_STEP_OOM_SCORE_ADJ] = "resetting oom_score_adj",
        [CHILD_STEP_STDIO] = "setting up stdin and stdout",
        [CHILD_STEP_CLOSE_FDS] = "closing inherited fds",
        [CHILD_STEP_BOUNDING_SET] = "dropping the capability bounding set",
        [CHILD_STEP_AMBIENT] = "clearing ambient capabilities",
        [CHILD_STEP_NO_NEW_PRIVS] = "setting no_new_privs",
        [CHILD_STEP_CAPABILITIES] = "dropping capabilities",
        [CHILD_STEP_EXECVE] = "execve",
};

typedef struct ChildError {
        int32_t step, error;
} ChildError;

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

static int parse_fd(const char *s)
{
        int v = 0;

        if (!*s)
                return -1;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (INT_MAX - 9) / 10)
                        return -1;
                v = v * 10 + (*s - '0');
        }
        return v;
}

/* Close every fd from 3 up but keep (-1: none). The fallbacks are for Linux
 * before 5.9 (no close_range()) and for a missing /proc; nothing allocates. */
static int close_fds_from_3(int keep)
{
        union {
                struct dirent64 de;
                char raw[4096];
        } u;
        struct rlimit rl;
        int d;

#ifdef SYS_close_range
        if (keep < 3 ? syscall(SYS_close_range, 3U, ~0U, 0) == 0
                     : (keep == 3 || syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0) == 0) &&
                               syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0) == 0)
                return 0;
#endif
        d = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d >= 0) {
                long n;
                while ((n = syscall(SYS_getdents64, d, u.raw, sizeof(u.raw))) > 0)
                        for (long off = 0; off < n;) {
                                struct dirent64 *de = (struct dirent64 *)(u.raw + off);
                                int fd = parse_fd(de->d_name);
                                off += de->d_reclen;
                                if (fd >= 3 && fd != keep && fd != d)
                                        (void)close(fd);
                        }
                int r = n < 0 ? -errno : 0;
                close(d);
                return r;
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        /* The hard limit: fds above a lowered soft limit stay open. */
        rlim_t max = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1U << 20) ? (1U << 20) : rl.rlim_max;
        for (rlim_t fd = 3; fd < max; fd++)
                if ((int)fd != keep)
                        (void)close((int)fd);
        return 0;
}

/* Every disposition to default and nothing blocked: ignored signals survive
 * execve(), and the helper ignores SIGTERM, SIGINT and SIGPIPE. */
static int reset_signals(void)
{
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;

        for (int sig = 1; sig < _NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                /* glibc keeps two real-time signals for itself (EINVAL). */
                if (sigaction(sig, &sa, NULL) < 0 && errno != EINVAL)
                        return -errno;
        }
        sigemptyset(&none);
        return sigprocmask(SIG_SETMASK, &none, NULL) < 0 ? -errno : 0;
}

static int cap_last_cap(void)
{
        char buf[16];
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC), last = 0, digits = 0;
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

        safe_close(fd);
        for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9' && last < 1000; i++, digits++)
                last = last * 10 + (buf[i] - '0');
        if (digits > 0)
                return last;
        /* No /proc: ask the kernel, which refuses a capability past its last. */
        for (last = 0; last < 63 && prctl(PR_CAPBSET_READ, (unsigned long)last + 1, 0, 0, 0) >= 0; last++)
                ;
        return last;
}

/* No capabilities now and none after execve(): for uid 0 execve() fills the
 * permitted set from the bounding set, so that goes first (it needs
 * CAP_SETPCAP, so before capset()). */
static int drop_capabilities(ChildStep *ret_step)
{
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
        int last = cap_last_cap();
        bool setpcap;

        *ret_step = CHILD_STEP_BOUNDING_SET;
        if (syscall(SYS_capget, &hdr, data) < 0)
                return -errno;
        setpcap = data[CAP_TO_INDEX(CAP_SETPCAP)].effective & CAP_TO_MASK(CAP_SETPCAP);
        for (int cap = 0; cap <= last; cap++) {
                int k = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
                if (k < 0 && errno == EINVAL)
                        break;
                if (k == 0)
                        continue;
                /* A helper not run as root cannot; no_new_privs and the empty
                 * permitted set below still keep the command from gaining any. */
                if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0 && !(errno == EPERM && !setpcap))
                        return -errno;
        }
        *ret_step = CHILD_STEP_AMBIENT;
        /* Linux before 4.3 has no ambient set (EINVAL): nothing to clear. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        *ret_step = CHILD_STEP_NO_NEW_PRIVS;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        *ret_step = CHILD_STEP_CAPABILITIES;
        memset(data, 0, sizeof(data));
        if (syscall(SYS_capset, &hdr, data) < 0)
                return -errno;
        return 0;
}

_Noreturn static void child_fail(int err_fd, ChildStep step, int error)
{
        ChildError e = { .step = step, .error = error };

        (void)!write(err_fd, &e, sizeof(e));
        _exit(127);
}

/* In the child, between fork() and execve(). in_fd and err_fd are above 2
 * (exec_helper_main() keeps 0-2 open), so dup2() clears their FD_CLOEXEC. */
_Noreturn static void child_exec(char *const *argv, int in_fd, int err_fd)
{
        ChildStep step;
        int r, o, nul;

        r = reset_signals();
        if (r < 0)
                child_fail(err_fd, CHILD_STEP_SIGNALS, -r);
        /* Its own process group, which the timeout kills whole. */
        if (setsid() < 0)
                child_fail(err_fd, CHILD_STEP_SESSION, errno);
        /* The command is an ordinary process: not shielded from the OOM killer like us. */
        o = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (o < 0 || write(o, "0", 1) != 1)
                child_fail(err_fd, CHILD_STEP_OOM_SCORE_ADJ, errno);
        close(o);
        nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (nul < 0 || dup2(in_fd, STDIN_FILENO) < 0 || dup2(nul, STDOUT_FILENO) < 0)
                child_fail(err_fd, CHILD_STEP_STDIO, errno);
        /* stderr stays the helper's (the daemon's: the journal). */
        r = close_fds_from_3(err_fd);
        if (r < 0)
                child_fail(err_fd, CHILD_STEP_CLOSE_FDS, -r);
        r = drop_capabilities(&step);
        if (r < 0)
                child_fail(err_fd, step, -r);
        execve(argv[0], argv, exec_envp);
        child_fail(err_fd, CHILD_STEP_EXECVE, errno);
}

typedef struct Run {
        pid_t pid;
        int in_fd, err_fd; /* -1 once done with */
        const char *input;
        size_t input_len, input_off;
        int status;
        bool failed;
        ChildError error;
} Run;

/* Milliseconds to deadline for poll(): -1 for none (0), 0 once past it. */
static int ms_until(uint64_t deadline)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (deadline == 0)
                return -1;
        if (now >= deadline)
                return 0;
        return (int)((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
}

static void drain(int sigfd)
{
        struct signalfd_siginfo si;

        while (sigfd >= 0 && read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
}

/* Wait for a SIGCHLD or the deadline; false once past it. Without a signalfd,
 * look at the children's state every 10 ms. */
static bool wait_sigchld(int sigfd, uint64_t deadline)
{
        struct pollfd p = { .fd = sigfd, .events = POLLIN };
        int ms = ms_until(deadline);

        if (ms == 0)
                return false;
        if (sigfd < 0 && (ms < 0 || ms > 10))
                ms = 10;
        if (poll(&p, 1, ms) < 0 && errno != EINTR)
                usleep(10000);
        drain(sigfd);
        return true;
}

/* Reap which (a pid, or -pgid for a group) until none is left (true) or the
 * deadline (false); the leader's wait status goes to r->status. */
static bool reap(Run *r, pid_t which, int sigfd, uint64_t deadline)
{
        for (;;) {
                int st;
                pid_t p = waitpid(which, &st, WNOHANG);
                if (p == r->pid)
                        r->status = st;
                if (p > 0 || (p < 0 && errno == EINTR))
                        continue;
                if (p < 0)
                        return true;
                if (!wait_sigchld(sigfd, deadline))
                        return false;
        }
}

static void read_child_error(Run *r)
{
        ssize_t n = read(r->err_fd, &r->error, sizeof(r->error));

        if (n < 0 && errno == EAGAIN)
                return;
        r->failed = n == (ssize_t)sizeof(r->error); /* atomic: under PIPE_BUF */
        r->err_fd = safe_close(r->err_fd);
}

static void feed_input(Run *r)
{
        ssize_t w = write(r->in_fd, r->input + r->input_off, r->input_len - r->input_off);

        if (w < 0 && errno == EAGAIN)
                return;
        if (w > 0)
                r->input_off += (size_t)w;
        if (w <= 0 || r->input_off == r->input_len)
                r->in_fd = safe_close(r->in_fd); /* EOF; or the command closed its stdin */
}

/* Feed stdin (a command that does not read it must not stall us), note a
 * failed setup, and wait for the command to exit (true) or its deadline. */
static bool supervise(Run *r, int sigfd, uint64_t deadline)
{
        if (r->input_len == 0)
                r->in_fd = safe_close(r->in_fd);
        for (;;) {
                struct pollfd p[3];
                nfds_t n = 0;
                pid_t k = waitpid(r->pid, &r->status, WNOHANG);
                if (k == r->pid || (k < 0 && errno != EINTR))
                        return true;
                int ms = ms_until(deadline);
                if (ms == 0)
                        return false;
                if (sigfd < 0 && (ms < 0 || ms > 10))
                        ms = 10;
                p[n++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
                p[n++] = (struct pollfd){ .fd = r->in_fd, .events = POLLOUT };
                p[n++] = (struct pollfd){ .fd = r->err_fd, .events = POLLIN };
                if (poll(p, n, ms) < 0) {
                        if (errno != EINTR)
                                usleep(10000);
                        continue;
                }
                if (p[0].revents)
                        drain(sigfd);
                if (p[1].revents && r->in_fd >= 0)
                        feed_input(r);
                if (p[2].revents && r->err_fd >= 0)
                        read_child_error(r);
        }
}

static void report(int fd, const ExecRequest *req, const Run *r, uint64_t start, bool timed_out, bool gone)
{
        unsigned ms = (unsigned)((now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_MSEC);
        const char *prog = req->argv[0];
        int st = r->status;

        if (timed_out)
                reply(fd, -ETIME, req->cookie, req->cookie_len, "%s: timed out after %u ms, killed%s", prog,
                      ms, gone ? "" : " (some of its processes are not gone yet)");
        else if (r->failed && r->error.step >= 0 && r->error.step < _CHILD_STEP_MAX)
                reply(fd, 127, req->cookie, req->cookie_len, "%s: %s failed: %s", prog,
                      child_step_name[r->error.step], strerror(r->error.error));
        else if (WIFEXITED(st))
                reply(fd, WEXITSTATUS(st), req->cookie, req->cookie_len, "%s: exit %d after %u ms", prog,
                      WEXITSTATUS(st), ms);
        else
                reply(fd, 128 + WTERMSIG(st), req->cookie, req->cookie_len,
                      "%s: killed by signal %d after %u ms", prog, WTERMSIG(st), ms);
}

static void run_one(int fd, int sigfd, const char *msg, size_t n)
{
        ExecRequest req;
        Run r = { .in_fd = -1, .err_fd = -1, .status = 127 << 8 }; /* if it could not be reaped */
        int in[2], er[2];

        /* A malformed request gets no reply: only a broken daemon sends one. */
        if (exec_request_decode(msg, n, &req) < 0)
                return;
        if (pipe2(in, O_CLOEXEC) < 0) {
                reply(fd, -errno, req.cookie, req.cookie_len, "%s: pipe: %s", req.argv[0], strerror(errno));
                return;
        }
        if (pipe2(er, O_CLOEXEC) < 0) {
                int e = errno;
                close(in[0]);
                close(in[1]);
                reply(fd, -e, req.cookie, req.cookie_len, "%s: pipe: %s", req.argv[0], strerror(e));
                return;
        }
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        r.pid = fork();
        if (r.pid == 0)
                child_exec(req.argv, in[0], er[1]);
        int e = errno;
        close(in[0]);
        close(er[1]);
        r.in_fd = in[1];
        r.err_fd = er[0];
        if (r.pid < 0) {
                close(r.in_fd);
                close(r.err_fd);
                reply(fd, -e, req.cookie, req.cookie_len, "%s: fork: %s", req.argv[0], strerror(e));
                return;
        }
        /* The input fits a pipe's buffer, but a pipe can be one page (pipe-user-pages-soft). */
        (void)fcntl(r.in_fd, F_SETFL, O_NONBLOCK);
        (void)fcntl(r.err_fd, F_SETFL, O_NONBLOCK);
        r.input = req.input;
        r.input_len = req.input_len;

        bool timed_out = !supervise(&r, sigfd, req.timeout_ms ? start + req.timeout_ms * USEC_PER_MSEC : 0);
        bool gone = true;
        r.in_fd = safe_close(r.in_fd);
        if (timed_out) {
                uint64_t deadline = now_usec(CLOCK_MONOTONIC) + REAP_TIMEOUT_MS * USEC_PER_MSEC;
                /* The leader first: with SIGKILL pending it forks no more. Then
                 * its group, with whatever it started; not yet reaped, the pid
                 * is still the group's. What it orphans comes to us (subreaper). */
                (void)kill(r.pid, SIGKILL);
                (void)kill(-r.pid, SIGKILL);
                gone = reap(&r, r.pid, sigfd, deadline) && reap(&r, -r.pid, sigfd, deadline);
        }
        if (r.err_fd >= 0 && gone)
                read_child_error(&r); /* the child is gone: a report is there, or EOF */
        r.err_fd = safe_close(r.err_fd);
        report(fd, &req, &r, start, timed_out, gone);
}

/* fd (the socket) above 2 and CLOEXEC, 0-2 open (so that no pipe of ours
 * lands there), nothing else the daemon left open. */
static int helper_setup_fds(int fd)
{
        if (fd < 3) {
                int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (moved < 0)
                        return -errno;
                close(fd);
                fd = moved;
        } else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -errno;
        for (int i = 0; i < 3; i++)
                if (fcntl(i, F_GETFD) < 0 && errno == EBADF) {
                        int nul = open("/dev/null", O_RDWR); /* the lowest free fd: i */
                        if (nul < 0)
                                return -errno;
                        if (nul != i) {
                                (void)dup2(nul, i);
                                close(nul);
                        }
                }
        (void)close_fds_from_3(fd);
        return fd;
}

int exec_helper_main(int fd)
{
        static char msg[EXEC_MSG_MAX];
        sigset_t chld;
        int sigfd;

        fd = helper_setup_fds(fd);
        if (fd < 0)
                return 1;
        /* Whatever the daemon had: an ignored SIGCHLD would reap for us. */
        (void)reset_signals();
        signal(SIGPIPE, SIG_IGN);
        signal(SIGTERM, SIG_IGN); /* the daemon ends us by closing the socket */
        signal(SIGINT, SIG_IGN);
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        (void)sigprocmask(SIG_BLOCK, &chld, NULL);
        sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC); /* -1: polling instead */
        /* What a command orphans is ours to reap, not init's: it is gone when we reply. */
        (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        for (;;) {
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
                if (poll(p, sigfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
                        return 1;
                drain(sigfd);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ; /* orphans, and what a stuck kill left */
                if (!p[0].revents)
                        continue;
                ssize_t n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0)
                        return 0;
                run_one(fd, sigfd, msg, (size_t)n);
        }
}
