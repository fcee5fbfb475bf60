/* SPDX-License-Identifier: MIT */
/* Test helper: allocate and touch MiB of anonymous memory, hold it, then exit.
 *   mw-hog MIB [HOLD_SECONDS] [STEP_MIB]
 * Touches memory in steps so memory.high throttling shows up as many events.
 * HOLD_SECONDS 0 (default) holds until killed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        unsigned long mib, hold = 0, step = 1;
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
        for (unsigned long done = 0; done < mib; done += step) {
                size_t len = step << 20;
                char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        perror("mmap");
                        return 1;
                }
                memset(p, 0x5a, len);
        }
        printf("mw-hog: holding %lu MiB\n", mib);
        fflush(stdout);
        if (hold == 0)
                for (;;)
                        pause();
        sleep((unsigned)hold);
        return 0;
}
