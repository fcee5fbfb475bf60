/* SPDX-License-Identifier: MIT */
#include "thread-util.h"

#include <signal.h>

int thread_start(pthread_t *ret, size_t stack_size, const char *name, void *(*main)(void *), void *arg)
{
        pthread_attr_t attr;
        sigset_t all, old;
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_attr_init(&attr);
        if (r == 0) {
                r = -pthread_attr_setstacksize(&attr, stack_size);
                if (r == 0)
                        r = -pthread_create(ret, &attr, main, arg);
                pthread_attr_destroy(&attr);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r == 0 && name)
                (void)pthread_setname_np(*ret, name);
        return r;
}
