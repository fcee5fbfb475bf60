/* SPDX-License-Identifier: MIT */
/* The daemon's policy set: loaded at start, reloaded on SIGHUP. A reload
 * replaces the set only when all of it is valid; otherwise the old set stays
 * and the failure is reported (log and a warning record). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "log.h"
#include "manager.h"

int manager_load_policies(Manager *m, bool initial)
{
        PolicySet set = {};
        PolicyErrors *errors;
        struct stat st;
        size_t n_errors;
        char msg[512];
        int r;

        if (!m->cfg.policy_dir)
                return 0;
        if (stat(m->cfg.policy_dir, &st) < 0 && errno == ENOENT) {
                log_info("No policy directory '%s': no policies.", m->cfg.policy_dir);
                policy_set_done(&m->policies);
                return 0;
        }
        errors = calloc(1, sizeof(PolicyErrors));
        if (!errors)
                return log_error_errno(-ENOMEM, "Cannot load policies: %m");
        (void)policy_load_dir(&set, m->cfg.policy_dir, errors);
        (void)policy_set_check_ambiguity(&set, errors);
        n_errors = errors->n + errors->dropped;
        for (size_t i = 0; i < errors->n; i++)
                log_error("%s", errors->msg[i]);

        if (n_errors > 0 && !initial) {
                m->n_policy_reload_failures++;
                snprintf(msg, sizeof(msg),
                         "policy reload failed with %zu error%s, the previous %zu policies stay: %s",
                         n_errors, n_errors == 1 ? "" : "s", m->policies.n, errors->n ? errors->msg[0] : "");
                watcher_warn(m->watcher, -EINVAL, msg);
                policy_set_done(&set);
                free(errors);
                return -EINVAL;
        }
        if (n_errors > 0) {
                /* At start-up there is no previous set to keep: the valid files are used. */
                snprintf(msg, sizeof(msg), "%zu error%s in the policies, %zu valid policies loaded: %s",
                         n_errors, n_errors == 1 ? "" : "s", set.n, errors->n ? errors->msg[0] : "");
                watcher_warn(m->watcher, -EINVAL, msg);
        }
        r = n_errors ? -EINVAL : 0;
        policy_set_done(&m->policies);
        m->policies = set;
        if (!initial)
                m->n_policy_reloads++;
        log_info("Loaded %zu policies from '%s'.", set.n, m->cfg.policy_dir);
        free(errors);
        return r;
}
