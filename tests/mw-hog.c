/* SPDX-License-Identifier: MIT */
/* Test helper: allocate and touch MiB of anonymous memory, hold it, then exit.
 *   mw-hog MIB [HOLD_SECONDS] [STEP_MIB] [PAUSE_MS]
 * Touches memory in steps so memory.high throttling shows up as many events.
 * HOLD_SECONDS 0 (default) holds until killed. PAUSE_MS after each step sets
 * the fill rate (8 MiB steps, 100 ms: 80 MiB/s); 0 (default): as fast as it
 * can. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        unsigned long mib, hold = 0, step = 1, pause_ms = 0;
        char *end;

        if (argc < 2) {
                fprintf(stderr, "usage: mw-hog MIB [HOLD_SECONDS] [STEP_MIB]\n");
                return 2;
        }
        mib = strtoul(argv[1], &end, 10);
        if (*end || mib == 0)
                return 2;
        if (argc > 2)
                hold = strtoul(argv[2], NULL, 10);
        if (argc > 3)
                step = strtoul(argv[3], NULL, 10);
        if (step == 0)
                step = 1;
        if (argc > 4)
                pause_ms = strtoul(argv[4], NULL, 10);
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        for (unsigned long done = 0; done < mib; done += step) {
                size_t len = step << 20;
                char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        perror("mmap");
                        return 1;
                }
                memset(p, 0x5a, len);
                if (pause_ms) {
                        /* Paced from the start, not after each step: the rate holds
                         * however long touching a step takes (until the machine
                         * cannot keep up). */
                        next.tv_nsec += (long)(pause_ms % 1000) * 1000000L;
                        next.tv_sec += (time_t)(pause_ms / 1000) + next.tv_nsec / 1000000000L;
                        next.tv_nsec %= 1000000000L;
                        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
                }
        }
        printf("mw-hog: holding %lu MiB\n", mib);
        fflush(stdout);
        if (hold == 0)
                for (;;)
                        pause();
        sleep((unsigned)hold);
        return 0;
}
