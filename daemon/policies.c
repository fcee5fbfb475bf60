/* SPDX-License-Identifier: MIT */
/* The daemon's policy set: loaded at start, reloaded on SIGHUP and on changes
 * in the policy directory. What a reload gives is decided by src/policy-dir.c
 * (each source on its own: a broken one keeps its last good set); this file
 * only swaps the result in, reports it, and watches the directory.
 *
 * The first load runs before the loop, on the main thread: the cgroups are
 * bound to the policies from the first walk on, and it is bounded by the
 * load's budget (POLICY_DIR_BUDGET_DEFAULT), within any start timeout. Then the PolicyDir
 * goes to the loader thread (policy-loader.c), which does every reload: the
 * loop only asks and, when the result's eventfd is readable, swaps it in. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "policy-loader.h"

static PolicyWatch *policy_watch_get(Manager *m)
{
        PolicyWatch *pw;

        if (m->policy_watch)
                return m->policy_watch;
        pw = calloc(1, sizeof(PolicyWatch));
        if (!pw)
                return NULL;
        pw->inotify_fd = -1;
        if (policy_dir_new(m->cfg.policy_dir, &pw->dir) < 0) {
                free(pw);
                return NULL;
        }
        return m->policy_watch = pw;
}

static bool abandoned(int r)
{
        return r == -ETIME || r == -E2BIG || r == -ECANCELED;
}

static void report_load(Manager *m, int r, const PolicyErrors *errors, const PolicyDirStats *st, size_t n,
                        bool initial)
{
        /* An abandoned load's message is its last error: the others are real ones of the sources it read. */
        const char *first = errors->n ? errors->msg[abandoned(r) ? errors->n - 1 : 0] : "";
        char msg[640];

        for (size_t i = 0; i < errors->n; i++)
                log_error("%s", errors->msg[i]);
        if (errors->dropped)
                log_error("... and %zu more policy errors.", errors->dropped);
        if (st->n_errors == 0)
                return;
        if (initial)
                snprintf(msg, sizeof(msg), "%zu error%s in the policies, %zu valid policies loaded: %s",
                         st->n_errors, st->n_errors == 1 ? "" : "s", n, first);
        else
                snprintf(msg, sizeof(msg),
                         "policy reload%s: %zu error%s, %zu of %zu sources kept their last good policies, "
                         "%zu policies in force: %s",
                         abandoned(r) ? " abandoned" : "", st->n_errors, st->n_errors == 1 ? "" : "s",
                         st->n_failed, st->n_sources, n, first);
        watcher_warn(m->watcher, r, msg);
}

static void swap_in(Manager *m, PolicySet *set)
{
        if (m->executor)
                executor_prepare(m->executor, set);
        manager_rebind_policies(m, set); /* while the old set, which bindings point into, is alive */
        policy_set_done(&m->policies);
        m->policies = *set;
        *set = (PolicySet){};
        if (m->scanned)
                manager_node_policies_changed(m);
}

/* The directory could not be read (or -ENOMEM): nothing changed. */
static int report_unchanged(Manager *m, int r, uint64_t n_requests, bool initial)
{
        PolicyWatch *pw = m->policy_watch;
        char msg[512];

        if (!initial) {
                pw->n_reloads += n_requests;
                pw->n_reload_failures++;
        }
        snprintf(msg, sizeof(msg),
                 "policy reload failed: cannot read '%s' (%s), the %zu policies in "
                 "force stay",
                 m->cfg.policy_dir, strerror(-r), m->policies.n);
        watcher_warn(m->watcher, r, msg);
        return log_error_errno(r, "Cannot read the policy directory '%s': %m", m->cfg.policy_dir);
}

/* Swap in what a load gave (policy_dir_load's r, set, errors, stats). An
 * abandoned load gives a set too: the sources it finished are new. */
static int apply_load(Manager *m, int r, PolicySet *set, const PolicyErrors *errors,
                      const PolicyDirStats *st, uint64_t n_requests, bool initial)
{
        PolicyWatch *pw = m->policy_watch;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);

        if (r < 0 && r != -EINVAL && !abandoned(r))
                return report_unchanged(m, r, n_requests, initial);
        pw->last = *st;
        if (st->missing && set->n == 0)
                log_info("No policy directory '%s': no policies.", m->cfg.policy_dir);
        report_load(m, r, errors, st, set->n, initial);
        swap_in(m, set);
        if (abandoned(r))
                pw->n_reloads_abandoned++;
        if (!initial) {
                pw->n_reloads += n_requests;
                if (r < 0)
                        pw->n_reload_failures++;
        }
        /* The swap is the part of a reload that runs on the loop: say what it costs. */
        log_info("Loaded %zu policies from '%s' (%zu sources, %zu on their last good set; %" PRIu64
                 " bytes in %" PRIu64 " ms, swapped in in %" PRIu64 " ms).",
                 m->policies.n, m->cfg.policy_dir, st->n_sources, st->n_failed, st->n_bytes,
                 (uint64_t)(st->usec / USEC_PER_MSEC),
                 (uint64_t)((now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_MSEC));
        return r;
}

/* On the calling thread: at start (before the loader has the PolicyDir),
 * and as the fallback when the loader could not be started. */
static int load_here(Manager *m, bool initial)
{
        _cleanup_free_ PolicyErrors *errors = NULL;
        PolicySet set = {};
        PolicyDirStats st = {};
        PolicyWatch *pw = policy_watch_get(m);
        int r;

        errors = calloc(1, sizeof(PolicyErrors));
        if (!pw || !pw->dir || !errors)
                return log_error_errno(-ENOMEM, "Cannot load policies: %m");
        r = policy_dir_load(pw->dir, &set, errors, &st);
        return apply_load(m, r, &set, errors, &st, 1, initial);
}

int manager_load_policies(Manager *m)
{
        if (!m->cfg.policy_dir)
                return 0;
        return load_here(m, true);
}

void manager_reload_policies(Manager *m)
{
        PolicyWatch *pw = m->policy_watch;

        if (!m->cfg.policy_dir)
                return;
        if (!pw || !pw->loader) {
                (void)load_here(m, false);
                return;
        }
        if (policy_loader_busy(pw->loader))
                log_info("A policy reload is running: one more follows it.");
        policy_loader_request(pw->loader);
}

static int on_policies_loaded(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        PolicyLoadResult *res = NULL;
        int r;

        (void)s, (void)fd, (void)revents;
        r = policy_loader_take(m->policy_watch->loader, &res);
        if (r < 0)
                log_error_errno(r, "A policy reload could not be done, send SIGHUP: %m");
        if (r <= 0)
                return 0;
        (void)apply_load(m, res->r, &res->set, &res->errors, &res->stats, res->n_requests, false);
        policy_load_result_free(res);
        return 0;
}

/* From now on the thread owns the PolicyDir. */
static int start_loader(Manager *m)
{
        PolicyWatch *pw = m->policy_watch;
        int r;

        r = policy_loader_start(TAKE_PTR(pw->dir), NULL, &pw->loader);
        if (r < 0) {
                /* The PolicyDir went with it: a fresh one loses only the last good sets. */
                (void)policy_dir_new(m->cfg.policy_dir, &pw->dir);
                return r;
        }
        r = sd_event_add_io(m->event, &pw->loaded_source, policy_loader_fd(pw->loader), EPOLLIN,
                            on_policies_loaded, m);
        if (r < 0) {
                pw->loader = policy_loader_stop(pw->loader);
                (void)policy_dir_new(m->cfg.policy_dir, &pw->dir);
                return r;
        }
        (void)sd_event_source_set_description(pw->loaded_source, "policy-loaded");
        return 0;
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
        PolicyWatch *pw = m->policy_watch;
        unsigned n_seen = 0, n_dirs = 0;
        char path[4096];
        struct dirent *de;
        DIR *d;

        /* Adding a watch that exists is a no-op; the kernel drops watches of
         * directories that are gone. Bounded as the loader is: real
         * directories only (no symlink is followed), as many as it loads. */
        (void)inotify_add_watch(pw->inotify_fd, m->cfg.policy_dir, POLICY_DIR_MASK);
        d = opendir(m->cfg.policy_dir);
        if (!d)
                return;
        while ((de = readdir(d)) && n_seen++ < POLICY_DIR_ENTRIES_MAX &&
               n_dirs < POLICY_DIR_NAMESPACES_MAX) {
                struct stat st;
                if (de->d_name[0] == '.' &&
                    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
                        continue;
                if ((size_t)snprintf(path, sizeof(path), "%s/%s", m->cfg.policy_dir, de->d_name) >=
                    sizeof(path))
                        continue;
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
                    inotify_add_watch(pw->inotify_fd, path, POLICY_DIR_MASK) >= 0)
                        n_dirs++;
        }
        closedir(d);
}

static int on_reload_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void)s, (void)usec;
        m->policy_watch->reload_timer = sd_event_source_disable_unref(m->policy_watch->reload_timer);
        log_info("Policy directory changed: reloading.");
        watch_dirs(m);
        manager_reload_policies(m);
        return 0;
}

static int on_policy_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        _Alignas(struct inotify_event) char buf[4096];
        Manager *m = userdata;
        PolicyWatch *pw = m->policy_watch;
        int r;

        (void)s, (void)revents;
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        if (pw->reload_timer)
                r = sd_event_source_set_time_relative(pw->reload_timer, POLICY_RELOAD_DELAY_USEC);
        else {
                r = sd_event_add_time_relative(m->event, &pw->reload_timer, CLOCK_MONOTONIC,
                                               POLICY_RELOAD_DELAY_USEC, 0, on_reload_timer, m);
                if (r >= 0)
                        (void)sd_event_source_set_description(pw->reload_timer, "policy-reload-delay");
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(pw->reload_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Cannot schedule a policy reload, send SIGHUP: %m");
        return 0;
}

int manager_watch_policies(Manager *m)
{
        PolicyWatch *pw;
        int r;

        if (!m->cfg.policy_dir)
                return 0;
        pw = policy_watch_get(m);
        if (!pw)
                return -ENOMEM;
        r = start_loader(m);
        if (r < 0)
                log_warning_errno(r, "Cannot start the policy loader thread, reloading on the loop: %m");
        pw->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (pw->inotify_fd < 0)
                return -errno;
        watch_dirs(m);
        r = sd_event_add_io(m->event, &pw->inotify_source, pw->inotify_fd, EPOLLIN, on_policy_inotify, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(pw->inotify_source, "policy-dir-inotify");
        return 0;
}

void manager_unwatch_policies(Manager *m)
{
        PolicyWatch *pw = m->policy_watch;

        if (!pw)
                return;
        pw->reload_timer = sd_event_source_disable_unref(pw->reload_timer);
        pw->inotify_source = sd_event_source_disable_unref(pw->inotify_source);
        pw->inotify_fd = safe_close(pw->inotify_fd);
        pw->loaded_source = sd_event_source_disable_unref(pw->loaded_source);
        pw->loader = policy_loader_stop(pw->loader); /* cancels a running load */
        policy_dir_free(pw->dir);
        free(pw);
        m->policy_watch = NULL;
}
