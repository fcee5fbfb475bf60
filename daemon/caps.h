/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* What memwardend keeps after start-up: CAP_DAC_OVERRIDE (limits, freeze and
 * kill files in subtrees delegated to others), CAP_KILL (their processes),
 * CAP_SYS_PTRACE (/proc/PID/smaps_rollup of others' processes for reports),
 * CAP_SYS_RESOURCE (PSI triggers with windows that are not 2 s multiples on
 * Linux 6.4+, for cgroups that appear later). CAP_IPC_LOCK too when
 * keep_ipc_lock (memory locked with MCL_FUTURE under a finite RLIMIT_MEMLOCK:
 * new mappings need it). */
uint64_t caps_runtime_mask(bool keep_ipc_lock);

/* Drop every capability outside caps_runtime_mask() from the effective,
 * permitted and inheritable sets and the ambient set, and from the bounding
 * set where CAP_SETPCAP allows (it is one of those dropped, so first). Sets
 * no_new_privs: nothing is executed after start-up (the exec helper was
 * started before). 0 or -errno; *ret_kept is the permitted set after. */
int caps_drop_after_start(bool keep_ipc_lock, uint64_t *ret_kept);
