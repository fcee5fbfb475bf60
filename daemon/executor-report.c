/* SPDX-License-Identifier: MIT */
/* Why-reports off the loop: a thread started at launch builds one report at
 * a time into its preallocated buffer (src/report.c, bounded at
 * REPORT_BUILD_USEC), writes the file and prunes the directory; the loop
 * gets the result through an eventfd and emits the action record then.
 * Requests that come while one is being built wait in a small fixed queue;
 * past it they fail at once. Like the limit writer, but nothing here ever
 * needs interrupting: the builder watches its own deadline. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "executor-internal.h"
#include "report.h"
#include "thread-util.h"

typedef struct ReportJob {
        ActionTarget t;
        bool dry_run;
        uint64_t real_usec;
} ReportJob;

/* The job being built and its result: the thread's while busy. */
typedef struct ReportResult {
        ReportJob job;
        int result;
        bool write_failed;
        size_t len;
        ReportSummary sum;
        char name[REPORT_NAME_MAX];
} ReportResult;

struct ReportWorker {
        Executor *x;
        pthread_t thread;
        bool running, busy;
        int req_efd, done_efd;
        sd_event_source *done_source;
        volatile int stop;
        ReportJob queue[REPORT_QUEUE_MAX];
        unsigned q_head, q_len;
        uint64_t last_real_usec; /* the report's name: one per microsecond */
        ReportResult cur;
        /* The thread's own (a thread left running at exit touches nothing of x). */
        int root_fd, proc_fd, report_fd;
        unsigned keep;
        char buf[REPORT_BUF_SIZE];
};

static int write_all(int fd, const char *buf, size_t len)
{
        for (size_t off = 0; off < len;) {
                ssize_t n = write(fd, buf + off, len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                off += (size_t)n;
        }
        return 0;
}

/* On the thread: build, name, write, prune. */
static void build_one(ReportWorker *w)
{
        ReportResult *res = &w->cur;
        const ReportJob *j = &res->job;
        ReportBound bound = { .deadline_usec = now_usec(CLOCK_MONOTONIC) + REPORT_BUILD_USEC };
        _cleanup_close_ int fd = -1;
        int r;

        res->write_failed = false;
        r = report_build_bounded(w->root_fd, rel(j->t.path), w->proc_fd, j->t.path, j->t.policy,
                                 j->real_usec, &bound, w->buf, sizeof(w->buf), &res->len, &res->sum);
        if (r >= 0)
                r = report_file_name(j->t.ns, j->t.policy, j->t.path, j->real_usec, res->name,
                                     sizeof(res->name));
        if (r < 0 || j->dry_run) {
                res->result = r;
                return;
        }
        fd = openat(w->report_fd, res->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
        r = fd < 0 ? -errno : write_all(fd, w->buf, res->len);
        if (r < 0) {
                (void)unlinkat(w->report_fd, res->name, 0);
                res->write_failed = true;
        } else
                (void)report_prune(w->report_fd, j->t.ns, w->keep);
        res->result = r;
}

static void *worker_main(void *userdata)
{
        ReportWorker *w = userdata;

        for (;;) {
                uint64_t v;
                if (read(w->req_efd, &v, sizeof(v)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return NULL;
                }
                if (w->stop)
                        return NULL;
                build_one(w);
                v = 1;
                (void)write(w->done_efd, &v, sizeof(v));
        }
}

static void report_summary(const ReportSummary *sum, char *detail, size_t size)
{
        char a[32], b[32], cs[32];

        format_size(sum->top.rss, a, sizeof(a));
        format_size(sum->anon, b, sizeof(b));
        format_size(sum->file, cs, sizeof(cs));
        snprintf(detail, size,
                 "top process: pid %d (%s) rss %s; anon %s, file %s; %u processes, %u children%s",
                 sum->top.pid, sum->top.comm, a, b, cs, sum->n_processes, sum->n_children,
                 sum->timed_out   ? " (truncated: out of time)"
                 : sum->truncated ? " (truncated)"
                                  : "");
}

/* On the loop: the record of the report just built. */
static void report_outcome(Executor *x, const ReportResult *w)
{
        ActionOutcome o = { .action = ACTION_REPORT };
        char detail[PATH_MAX + 600], full[PATH_MAX + REPORT_NAME_MAX];
        const ActionTarget *t = &w->job.t;

        if (w->result < 0 && !w->write_failed) {
                outcome(x, t, ACTION_REPORT, false, ACTION_RESULT_FAILED, NULL, w->result,
                        "building the report: %s", strerror(-w->result));
                return;
        }
        if (w->write_failed) {
                char summary[400];

                report_summary(&w->sum, summary, sizeof(summary));
                snprintf(detail, sizeof(detail), "writing the report to %s failed: %s (it said: %s)",
                         x->cfg.report_dir, strerror(w->result < 0 ? -w->result : EIO), summary);
        } else
                report_summary(&w->sum, detail, sizeof(detail));
        snprintf(full, sizeof(full), "%s/%s", x->cfg.report_dir, w->name);
        o.detail = detail;
        o.report = w->write_failed ? NULL : full;
        o.result = w->write_failed  ? ACTION_RESULT_FAILED
                   : w->job.dry_run ? ACTION_RESULT_DRY_RUN
                                    : ACTION_RESULT_DONE;
        emit(x, t, &o, w->result < 0 ? w->result : 0);
}

static void submit(ReportWorker *w, const ReportJob *j)
{
        uint64_t one = 1;

        w->cur.job = *j;
        w->busy = true;
        (void)write(w->req_efd, &one, sizeof(one));
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ReportWorker *w = userdata;
        uint64_t v;

        (void)s, (void)fd, (void)revents;
        (void)read(w->done_efd, &v, sizeof(v));
        if (!w->busy)
                return 0;
        w->busy = false;
        /* The next one first: the thread works while the record goes out (the
         * result copied out before: the thread writes over it). */
        ReportResult done = w->cur;
        if (w->q_len > 0) {
                submit(w, &w->queue[w->q_head]);
                w->q_head = (w->q_head + 1) % REPORT_QUEUE_MAX;
                w->q_len--;
        }
        report_outcome(w->x, &done);
        return 0;
}

int report_worker_new(Executor *x, ReportWorker **ret)
{
        ReportWorker *w = calloc(1, sizeof(ReportWorker));
        int r;

        if (!w)
                return -ENOMEM;
        w->req_efd = w->done_efd = w->root_fd = w->proc_fd = w->report_fd = -1;
        w->x = x;
        w->keep = x->cfg.report_keep;
        w->root_fd = fcntl(x->root_fd, F_DUPFD_CLOEXEC, 3);
        w->proc_fd = fcntl(x->proc_fd, F_DUPFD_CLOEXEC, 3);
        w->report_fd = fcntl(x->report_fd, F_DUPFD_CLOEXEC, 3);
        w->req_efd = eventfd(0, EFD_CLOEXEC);
        w->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r = w->req_efd < 0 || w->done_efd < 0 || w->root_fd < 0 || w->proc_fd < 0 || w->report_fd < 0
                    ? -errno
                    : 0;
        if (r >= 0)
                r = sd_event_add_io(x->event, &w->done_source, w->done_efd, EPOLLIN, on_done, w);
        if (r >= 0) {
                (void)sd_event_source_set_description(w->done_source, "report-builder");
                /* Every signal blocked on the thread: they are the loop's. */
                r = thread_start(&w->thread, 256 * 1024, "mw-report", worker_main, w);
                w->running = r >= 0;
        }
        if (r < 0) {
                report_worker_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

ReportWorker *report_worker_free(ReportWorker *w)
{
        if (!w)
                return NULL;
        if (w->running) {
                uint64_t one = 1;
                struct timespec ts;
                w->stop = 1;
                (void)write(w->req_efd, &one, sizeof(one));
                /* A build in progress ends at its deadline, unless one read of /proc
                 * hangs (smaps_rollup waits for a process's mmap lock): then the
                 * thread is left be, and w with it, rather than the exit waiting. */
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += REPORT_BUILD_USEC / USEC_PER_SEC + 1;
                if (pthread_timedjoin_np(w->thread, NULL, &ts) != 0) {
                        (void)pthread_detach(w->thread);
                        return NULL;
                }
        }
        sd_event_source_disable_unref(w->done_source);
        safe_close(w->req_efd);
        safe_close(w->done_efd);
        safe_close(w->root_fd);
        safe_close(w->proc_fd);
        safe_close(w->report_fd);
        free(w);
        return NULL;
}

void run_report(Executor *x, const Action *act, const ActionTarget *t)
{
        ReportWorker *w = x->reports;
        ReportJob j = { .t = *t, .dry_run = act->dry_run, .real_usec = now_usec(CLOCK_REALTIME) };

        if (x->report_fd < 0) {
                outcome(x, t, ACTION_REPORT, false, ACTION_RESULT_FAILED, NULL, -ENOTDIR,
                        "no report directory (--report-dir)");
                return;
        }
        if (!w) {
                outcome(x, t, ACTION_REPORT, false, ACTION_RESULT_FAILED, NULL, -ECHILD,
                        "the report thread is not running");
                return;
        }
        if (j.real_usec <= w->last_real_usec)
                j.real_usec = w->last_real_usec + 1;
        w->last_real_usec = j.real_usec;
        if (!w->busy) {
                submit(w, &j);
                return;
        }
        if (w->q_len == REPORT_QUEUE_MAX) {
                w->last_real_usec--; /* not used */
                outcome(x, t, ACTION_REPORT, false, ACTION_RESULT_FAILED, NULL, -ENOBUFS,
                        "report queue full (one being built, %d waiting)", REPORT_QUEUE_MAX);
                return;
        }
        w->queue[(w->q_head + w->q_len) % REPORT_QUEUE_MAX] = j;
        w->q_len++;
}
