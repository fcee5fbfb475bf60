/* SPDX-License-Identifier: MIT */
/* The policy loader thread (policy-loader.h). One mutex guards the request,
 * the state and the result slot; it is held only to flip them, never across
 * a load, so the loop never waits on it for long. The thread never waits on
 * the loop either: a result not taken yet is replaced by the next one (the
 * newer load saw the directory later; its set is self-contained). */
#include "policy-loader.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "macro.h"
#include "thread-util.h"

/* libyaml and the compiler do not recurse deeply (nesting is bounded at 32);
 * a small stack keeps --mlock=all from pinning 8 MiB for it. */
#define LOADER_STACK_SIZE (256 * 1024)

struct PolicyLoader {
        PolicyDir *dir; /* the thread's, from start to stop */
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        atomic_bool stop;
        int done_fd;
        /* under lock */
        uint64_t n_pending; /* requests not yet started on */
        bool running;
        bool enomem;
        PolicyLoadResult *result;
};

PolicyLoadResult *policy_load_result_free(PolicyLoadResult *r)
{
        if (!r)
                return NULL;
        policy_set_done(&r->set);
        free(r);
        return NULL;
}

static PolicyLoadResult *load_once(PolicyLoader *l, uint64_t n_requests)
{
        PolicyLoadResult *res = calloc(1, sizeof(PolicyLoadResult));

        if (!res)
                return NULL;
        res->r = policy_dir_load(l->dir, &res->set, &res->errors, &res->stats);
        res->n_requests = n_requests;
        return res;
}

/* Hand res over (under lock); the one it replaces, if any, goes back to be freed. */
static PolicyLoadResult *put_result(PolicyLoader *l, PolicyLoadResult *res)
{
        PolicyLoadResult *old = l->result;

        if (!res) {
                l->enomem = true;
                return NULL;
        }
        if (old) {
                res->n_requests += old->n_requests;
                res->n_superseded += old->n_superseded + 1;
        }
        l->result = res;
        return old;
}

static void *loader_main(void *userdata)
{
        PolicyLoader *l = userdata;
        const uint64_t one = 1;

        pthread_mutex_lock(&l->lock);
        for (;;) {
                PolicyLoadResult *res, *old;
                uint64_t n;

                while (l->n_pending == 0 && !atomic_load(&l->stop))
                        pthread_cond_wait(&l->cond, &l->lock);
                if (atomic_load(&l->stop))
                        break;
                n = l->n_pending;
                l->n_pending = 0;
                l->running = true;
                pthread_mutex_unlock(&l->lock);

                res = load_once(l, n);

                pthread_mutex_lock(&l->lock);
                l->running = false;
                old = put_result(l, res);
                pthread_mutex_unlock(&l->lock);
                /* Cannot fail short of a counter at 2^64-1: the loop drains it. */
                (void)!write(l->done_fd, &one, sizeof(one));
                policy_load_result_free(old);
                pthread_mutex_lock(&l->lock);
        }
        pthread_mutex_unlock(&l->lock);
        return NULL;
}

static int start_thread(PolicyLoader *l)
{
        /* Signals are the loop's (signalfd): none may land on this thread. */
        return thread_start(&l->thread, LOADER_STACK_SIZE, "mw-policy-load", loader_main, l);
}

int policy_loader_start(PolicyDir *dir, const PolicyDirBudget *budget, PolicyLoader **ret)
{
        PolicyDirBudget b = POLICY_DIR_BUDGET_DEFAULT;
        PolicyLoader *l = calloc(1, sizeof(PolicyLoader));
        int r;

        if (!l) {
                policy_dir_free(dir);
                return -ENOMEM;
        }
        l->dir = dir;
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->cond, NULL);
        atomic_init(&l->stop, false);
        l->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (l->done_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (budget)
                b = *budget;
        b.cancel = &l->stop;
        policy_dir_set_budget(dir, &b);
        r = start_thread(l);
        if (r < 0)
                goto fail;
        *ret = l;
        return 0;
fail:
        safe_close(l->done_fd);
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        policy_dir_free(l->dir);
        free(l);
        return r;
}

PolicyLoader *policy_loader_stop(PolicyLoader *l)
{
        if (!l)
                return NULL;
        pthread_mutex_lock(&l->lock);
        atomic_store(&l->stop, true);
        pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
        policy_load_result_free(l->result);
        safe_close(l->done_fd);
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        policy_dir_free(l->dir);
        free(l);
        return NULL;
}

int policy_loader_fd(const PolicyLoader *l)
{
        return l->done_fd;
}

void policy_loader_request(PolicyLoader *l)
{
        pthread_mutex_lock(&l->lock);
        l->n_pending++;
        pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&l->lock);
}

int policy_loader_take(PolicyLoader *l, PolicyLoadResult **ret)
{
        uint64_t n;
        bool enomem;

        /* Drain first: a result put after this read makes the fd readable again. */
        (void)!read(l->done_fd, &n, sizeof(n));
        pthread_mutex_lock(&l->lock);
        *ret = TAKE_PTR(l->result);
        enomem = l->enomem && !*ret; /* a result, older or newer, is worth more */
        l->enomem = false;
        pthread_mutex_unlock(&l->lock);
        if (*ret)
                return 1;
        return enomem ? -ENOMEM : 0;
}

bool policy_loader_busy(PolicyLoader *l)
{
        bool busy;

        pthread_mutex_lock(&l->lock);
        busy = l->n_pending > 0 || l->running || l->result;
        pthread_mutex_unlock(&l->lock);
        return busy;
}
