/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the policy loader on arbitrary bytes, as a node-admin
 * file and as a namespace's file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static PolicyErrors errors;
        PolicySet set = {};

        errors.n = errors.dropped = 0;
        (void)policy_load_buffer(&set, "fuzz.yaml", (const char *)data, size, NULL, &errors);
        errors.n = errors.dropped = 0;
        (void)policy_load_buffer(&set, "fuzz.yaml", (const char *)data, size, "ns", &errors);
        policy_set_done(&set);
        return 0;
}
