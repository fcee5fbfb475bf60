/* SPDX-License-Identifier: MIT */
#include "limit-writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "thread-util.h"

struct LimitWriter {
        sd_event *event;
        int root_fd;
        LimitWriterDone done;
        void *userdata;
        pthread_t thread;
        bool running, busy;
        int req_efd, done_efd;
        sd_event_source *done_source, *timeout;
        uint64_t token;
        char path[PATH_MAX + 32];
        char value[32];
        int result;
        volatile int stop;
};

static void on_alarm(int sig)
{
        (void)sig; /* only interrupts the reclaim of a memory.high write */
}

static int write_once(LimitWriter *w)
{
        /* O_NONBLOCK: Linux 6.16+ then skips the reclaim a lower limit starts;
         * older kernels reclaim here, bounded by the loop's SIGUSR2. */
        _cleanup_close_ int fd = openat(w->root_fd, w->path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (write(fd, w->value, strlen(w->value)) < 0 && errno != EINTR)
                return -errno; /* EINTR: the limit is set, the reclaim was cut short */
        return 0;
}

static void *writer_main(void *userdata)
{
        LimitWriter *w = userdata;
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        for (;;) {
                uint64_t v;
                if (read(w->req_efd, &v, sizeof(v)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return NULL;
                }
                if (w->stop)
                        return NULL;
                w->result = write_once(w);
                v = 1;
                (void)write(w->done_efd, &v, sizeof(v));
        }
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        LimitWriter *w = userdata;

        (void)s, (void)usec;
        if (w->busy)
                (void)pthread_kill(w->thread, SIGUSR2);
        return 0;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        LimitWriter *w = userdata;
        uint64_t v;

        (void)s, (void)fd, (void)revents;
        (void)read(w->done_efd, &v, sizeof(v));
        if (w->timeout)
                (void)sd_event_source_set_enabled(w->timeout, SD_EVENT_OFF);
        if (!w->busy)
                return 0;
        w->busy = false;
        w->done(w->userdata, w->token, w->result);
        return 0;
}

static int writer_start(LimitWriter *w)
{
        struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
        int r;

        w->req_efd = eventfd(0, EFD_CLOEXEC);
        w->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->req_efd < 0 || w->done_efd < 0)
                return -errno;
        r = sd_event_add_io(w->event, &w->done_source, w->done_efd, EPOLLIN, on_done, w);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(w->done_source, "limit-writer");
        sigaction(SIGUSR2, &sa, NULL);
        /* The thread starts with every signal blocked (it unblocks SIGUSR2 only). */
        r = thread_start(&w->thread, 64 * 1024, "mw-limit-write", writer_main, w);
        if (r < 0)
                return r;
        w->running = true;
        return 0;
}

int limit_writer_new(sd_event *event, int root_fd, LimitWriterDone done, void *userdata, LimitWriter **ret)
{
        LimitWriter *w = calloc(1, sizeof(LimitWriter));
        int r;

        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->root_fd = root_fd;
        w->done = done;
        w->userdata = userdata;
        w->req_efd = w->done_efd = -1;
        r = writer_start(w);
        if (r < 0) {
                limit_writer_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

LimitWriter *limit_writer_free(LimitWriter *w)
{
        if (!w)
                return NULL;
        if (w->running) {
                uint64_t one = 1;
                bool joined = false;
                w->stop = 1;
                (void)write(w->req_efd, &one, sizeof(one));
                /* The signal again and again: it may come just before the thread
                 * enters a reclaiming write. Bounded (shutdown has a deadline). */
                for (int i = 0; i < LIMIT_WRITER_STOP_TRIES && !joined; i++) {
                        struct timespec ts;
                        (void)pthread_kill(w->thread, SIGUSR2);
                        clock_gettime(CLOCK_REALTIME, &ts);
                        ts.tv_nsec += 10 * 1000 * 1000;
                        if (ts.tv_nsec >= 1000000000L)
                                ts.tv_sec++, ts.tv_nsec -= 1000000000L;
                        joined = pthread_timedjoin_np(w->thread, NULL, &ts) == 0;
                }
                if (!joined) {
                        /* Stuck in the kernel: leave it (and w) be rather than wait. */
                        (void)pthread_detach(w->thread);
                        return NULL;
                }
        }
        sd_event_source_disable_unref(w->done_source);
        sd_event_source_disable_unref(w->timeout);
        safe_close(w->req_efd);
        safe_close(w->done_efd);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

bool limit_writer_busy(const LimitWriter *w)
{
        return w->busy;
}

int limit_writer_submit(LimitWriter *w, const char *rel, uint64_t value, uint64_t token)
{
        uint64_t one = 1;
        int n;

        if (w->busy)
                return -EBUSY;
        n = snprintf(w->path, sizeof(w->path), "%s/memory.high", rel);
        if (n < 0 || (size_t)n >= sizeof(w->path))
                return -ENAMETOOLONG;
        if (value == UINT64_MAX)
                snprintf(w->value, sizeof(w->value), "max");
        else
                snprintf(w->value, sizeof(w->value), "%" PRIu64, value);
        w->token = token;
        w->busy = true;
        if (!w->timeout) {
                if (sd_event_add_time_relative(w->event, &w->timeout, CLOCK_MONOTONIC,
                                               LIMIT_WRITE_BOUND_USEC, 0, on_timeout, w) >= 0)
                        (void)sd_event_source_set_description(w->timeout, "limit-write-bound");
        } else {
                (void)sd_event_source_set_time_relative(w->timeout, LIMIT_WRITE_BOUND_USEC);
                (void)sd_event_source_set_enabled(w->timeout, SD_EVENT_ONESHOT);
        }
        (void)write(w->req_efd, &one, sizeof(one));
        return 0;
}
