/* SPDX-License-Identifier: MIT */
/* The daemon's policy set: loaded at start, reloaded on SIGHUP. A reload
 * replaces the set only when all of it is valid; otherwise the old set stays
 * and the failure is reported (log and a warning record). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

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
                manager_rebind_policies(m, NULL);
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
        if (m->executor)
                executor_prepare(m->executor, &set);
        manager_rebind_policies(m, &set); /* while the old set, which bindings point into, is alive */
        policy_set_done(&m->policies);
        m->policies = set;
        if (m->scanned)
                manager_node_policies_changed(m);
        if (!initial)
                m->n_policy_reloads++;
        log_info("Loaded %zu policies from '%s'.", set.n, m->cfg.policy_dir);
        free(errors);
        return r;
}

/* Changes in the policy directory (an edited file, a ConfigMap's atomic
 * "..data" symlink swap) reload the policies after a short quiet period, so
 * that one swap or one editor's save gives one reload. The timer exists only
 * while a reload is pending: nothing ticks when nothing changes. */
#define POLICY_RELOAD_DELAY_USEC (500 * USEC_PER_MSEC)
#define POLICY_DIR_MASK                                                                                     \
        (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB |                 \
         IN_DELETE_SELF | IN_ONLYDIR)

static void watch_dirs(Manager *m)
{
        char path[4096];
        struct dirent *de;
        DIR *d;

        /* Adding a watch that exists is a no-op; the kernel drops watches of
         * directories that are gone. */
        (void)inotify_add_watch(m->policy_inotify_fd, m->cfg.policy_dir, POLICY_DIR_MASK);
        d = opendir(m->cfg.policy_dir);
        if (!d)
                return;
        while ((de = readdir(d))) {
                struct stat st;
                if (de->d_name[0] == '.' &&
                    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
                        continue;
                if ((size_t)snprintf(path, sizeof(path), "%s/%s", m->cfg.policy_dir, de->d_name) >=
                    sizeof(path))
                        continue;
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        (void)inotify_add_watch(m->policy_inotify_fd, path, POLICY_DIR_MASK);
        }
        closedir(d);
}

static int on_reload_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void)s, (void)usec;
        m->policy_reload_timer = sd_event_source_disable_unref(m->policy_reload_timer);
        log_info("Policy directory changed: reloading.");
        watch_dirs(m);
        (void)manager_load_policies(m, false);
        return 0;
}

static int on_policy_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        _Alignas(struct inotify_event) char buf[4096];
        Manager *m = userdata;
        int r;

        (void)s, (void)revents;
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        if (m->policy_reload_timer)
                r = sd_event_source_set_time_relative(m->policy_reload_timer, POLICY_RELOAD_DELAY_USEC);
        else {
                r = sd_event_add_time_relative(m->event, &m->policy_reload_timer, CLOCK_MONOTONIC,
                                               POLICY_RELOAD_DELAY_USEC, 0, on_reload_timer, m);
                if (r >= 0)
                        (void)sd_event_source_set_description(m->policy_reload_timer, "policy-reload-delay");
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(m->policy_reload_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Cannot schedule a policy reload, send SIGHUP: %m");
        return 0;
}

int manager_watch_policies(Manager *m)
{
        int r;

        if (!m->cfg.policy_dir)
                return 0;
        m->policy_inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (m->policy_inotify_fd < 0)
                return -errno;
        watch_dirs(m);
        r = sd_event_add_io(m->event, &m->policy_inotify_source, m->policy_inotify_fd, EPOLLIN,
                            on_policy_inotify, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(m->policy_inotify_source, "policy-dir-inotify");
        return 0;
}

void manager_unwatch_policies(Manager *m)
{
        m->policy_reload_timer = sd_event_source_disable_unref(m->policy_reload_timer);
        m->policy_inotify_source = sd_event_source_disable_unref(m->policy_inotify_source);
        m->policy_inotify_fd = safe_close(m->policy_inotify_fd);
}
