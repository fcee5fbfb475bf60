/* SPDX-License-Identifier: MIT */
/* Capabilities after start-up (caps.h). Start-up needs more than the loop:
 * mlockall, raising RLIMIT_NOFILE, oom_score_adj, the exec helper (started
 * with ours, it drops its commands' to none itself). The unit's
 * CapabilityBoundingSet= is the outer bound; this is the same bound for a
 * daemon started by hand as root. No libcap: two system calls and prctl. */
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CAP_BIT(c) (UINT64_C(1) << (c))

uint64_t caps_runtime_mask(bool keep_ipc_lock)
{
        return CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_KILL) | CAP_BIT(CAP_SYS_PTRACE) |
               CAP_BIT(CAP_SYS_RESOURCE) | (keep_ipc_lock ? CAP_BIT(CAP_IPC_LOCK) : 0);
}

static uint64_t join(uint32_t lo, uint32_t hi)
{
        return (uint64_t)lo | (uint64_t)hi << 32;
}

int caps_drop_after_start(bool keep_ipc_lock, uint64_t *ret_kept)
{
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
        uint64_t keep = caps_runtime_mask(keep_ipc_lock), permitted;

        if (syscall(SYS_capget, &hdr, d) < 0)
                return -errno;
        permitted = join(d[0].permitted, d[1].permitted);
        if (d[0].effective & CAP_BIT(CAP_SETPCAP)) {
                /* Past the kernel's last capability PR_CAPBSET_READ fails: stop there. */
                for (int c = 0; c < 64; c++) {
                        int in = prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0);
                        if (in < 0)
                                break;
                        if (in && !(keep & CAP_BIT(c)) &&
                            prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0)
                                return -errno;
                }
        }
        /* Linux before 4.3 has no ambient set (EINVAL): nothing to clear. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        permitted &= keep;
        for (int i = 0; i < 2; i++) {
                d[i].permitted = d[i].effective = (uint32_t)(permitted >> (32 * i));
                d[i].inheritable = 0;
        }
        if (syscall(SYS_capset, &hdr, d) < 0)
                return -errno;
        if (ret_kept)
                *ret_kept = permitted;
        return 0;
}
