/* SPDX-License-Identifier: MIT */
/* memwardend: arguments, the process's own safety (locked memory, OOM score,
 * file limits), then the loop. Exit codes: 0 clean stop, 1 failure at start,
 * 2 bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup-read.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "memcg-v1.h"
#include "parse.h"
#include "selfcg.h"

typedef enum MlockMode {
        MLOCK_MODE_ALL,
        MLOCK_MODE_ONFAULT,
        MLOCK_MODE_OFF,
} MlockMode;

static ManagerConfig arg_config;
static bool arg_root_given;
static int arg_cgroup_version; /* 0: auto */
static bool arg_psi_root_given;
static char arg_psi_root_buf[4096];
static int arg_oom_score_adj = -1000;
static MlockMode arg_mlock = MLOCK_MODE_ONFAULT;
static char arg_root_buf[4096];
static char arg_self_exe[4096];
static const char *arg_own_cgroup; /* --own-cgroup */
static SelfCgroup arg_self_cgroup;

/* CAP_SYS_RESOURCE in the effective set: PSI windows that are not 2 s
 * multiples need it (Linux 6.4+). */
static bool have_cap_sys_resource(void)
{
        char line[256];
        bool r = false;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return false;
        while (fgets(line, sizeof(line), f)) {
                uint64_t caps;
                if (strncmp(line, "CapEff:", 7) != 0)
                        continue;
                caps = strtoull(line + 7, NULL, 16);
                r = caps & (1ULL << 24); /* CAP_SYS_RESOURCE */
        }
        fclose(f);
        return r;
}

/* ---- options: one table gives getopt's list, the handlers and --help ---- */

/* A handler returns 0, 1 to stop with exit 0 (--help, --version), or -EINVAL
 * after logging why. */
typedef int (*OptionHandler)(const char *arg);

typedef struct Option {
        const char *name;
        int short_name; /* 0: none */
        int has_arg;    /* no_argument or required_argument */
        const char *arg_name;
        const char *help; /* '\n' starts a continuation line */
        OptionHandler handle;
} Option;

static int opt_help(const char *arg);

static int opt_version(const char *arg)
{
        (void)arg;
        puts("memwardend " MEMWARDEN_VERSION);
        return 1;
}

static int opt_cgroup_root(const char *arg)
{
        arg_config.watch.root = arg;
        arg_root_given = true;
        return 0;
}

static int opt_cgroup_version(const char *arg)
{
        if (strcmp(arg, "auto") == 0)
                arg_cgroup_version = 0;
        else if (strcmp(arg, "1") == 0 || strcmp(arg, "2") == 0)
                arg_cgroup_version = arg[0] - '0';
        else {
                log_error("--cgroup-version: expected auto, 1 or 2, got '%s'", arg);
                return -EINVAL;
        }
        return 0;
}

static int opt_psi_root(const char *arg)
{
        arg_config.watch.psi_root = arg[0] ? arg : NULL;
        arg_psi_root_given = true;
        return 0;
}

static int opt_level_mode(const char *arg)
{
        for (int i = 0; i < _V1_MODE_MAX; i++)
                if (strcmp(arg, v1_mode_to_string((V1Mode)i)) == 0) {
                        arg_config.watch.v1_mode = (V1Mode)i;
                        return 0;
                }
        log_error("--pressure-level-mode: expected hierarchy, default or local, got '%s'", arg);
        return -EINVAL;
}

static int opt_output(const char *arg)
{
        if (strcmp(arg, "-") == 0)
                arg_config.output = OUTPUT_STDOUT;
        else if (strcmp(arg, "journal") == 0)
                arg_config.output = OUTPUT_JOURNAL;
        else if (strcmp(arg, "none") == 0)
                arg_config.output = OUTPUT_NONE;
        else {
                arg_config.output = OUTPUT_FILE;
                arg_config.output_path = arg;
        }
        return 0;
}

static int opt_socket(const char *arg)
{
        arg_config.socket_path = arg[0] ? arg : NULL;
        return 0;
}

static int opt_watch(const char *arg)
{
        int v = watch_select_from_string(arg);

        if (v < 0) {
                log_error("--watch: expected 'limited' or 'all', got '%s'", arg);
                return -EINVAL;
        }
        arg_config.watch.select = v;
        return 0;
}

/* A count in min..max for option name. */
static int parse_count(const char *name, const char *arg, uint64_t min, uint64_t max, unsigned *ret)
{
        uint64_t u;

        if (parse_u64(arg, &u) < 0 || u < min || u > max) {
                log_error("--%s: expected %" PRIu64 "..%" PRIu64 ", got '%s'", name, min, max, arg);
                return -EINVAL;
        }
        *ret = (unsigned)u;
        return 0;
}

static int opt_max_cgroups(const char *arg)
{
        return parse_count("max-cgroups", arg, 1, 1000000, &arg_config.watch.max_cgroups);
}

static int opt_metrics_listen(const char *arg)
{
        if (!arg[0]) {
                arg_config.metrics.listen = NULL;
                return 0;
        }
        if (metrics_listen_valid(arg) < 0) {
                log_error("--metrics-listen: expected ADDR:PORT or [ADDR6]:PORT (numeric), got '%s'", arg);
                return -EINVAL;
        }
        arg_config.metrics.listen = arg;
        return 0;
}

static int opt_metrics_cgroups(const char *arg)
{
        int v = metrics_cgroups_from_string(arg);

        if (v < 0) {
                log_error("--metrics-cgroups: expected none, policy, limited or all, got '%s'", arg);
                return -EINVAL;
        }
        arg_config.metrics.cgroups = v;
        return 0;
}

static int opt_metrics_max_cgroups(const char *arg)
{
        return parse_count("metrics-max-cgroups", arg, 0, METRICS_MAX_CGROUPS_LIMIT,
                           &arg_config.metrics.max_cgroups);
}

static int opt_max_depth(const char *arg)
{
        return parse_count("max-depth", arg, 1, 1024, &arg_config.max_depth);
}

static int opt_psi_type(const char *arg)
{
        int v = psi_type_from_string(arg);

        if (v < 0) {
                log_error("--psi-type: expected 'some' or 'full', got '%s'", arg);
                return -EINVAL;
        }
        arg_config.watch.psi_type = v;
        return 0;
}

static int parse_duration_opt(const char *name, const char *arg, uint64_t *ret)
{
        if (parse_duration(arg, ret) < 0) {
                log_error("--%s: not a duration: '%s'", name, arg);
                return -EINVAL;
        }
        return 0;
}

static int opt_psi_stall(const char *arg)
{
        return parse_duration_opt("psi-stall", arg, &arg_config.watch.psi_stall_usec);
}

static int opt_psi_window(const char *arg)
{
        return parse_duration_opt("psi-window", arg, &arg_config.watch.psi_window_usec);
}

static int opt_no_psi(const char *arg)
{
        (void)arg;
        arg_config.watch.psi = false;
        return 0;
}

static int opt_policy_dir(const char *arg)
{
        arg_config.policy_dir = arg[0] ? arg : NULL;
        return 0;
}

static int opt_pod_log_dir(const char *arg)
{
        arg_config.watch.pod_log_dir = arg[0] ? arg : NULL;
        return 0;
}

static int opt_container_log_dir(const char *arg)
{
        arg_config.watch.container_log_dir = arg[0] ? arg : NULL;
        return 0;
}

static int opt_report_dir(const char *arg)
{
        arg_config.exec.report_dir = arg[0] ? arg : NULL;
        return 0;
}

static int opt_state_dir(const char *arg)
{
        arg_config.exec.state_dir = arg[0] ? arg : NULL;
        return 0;
}

static int opt_report_keep(const char *arg)
{
        return parse_count("report-keep", arg, 0, 100000, &arg_config.exec.report_keep);
}

static int opt_event_log(const char *arg)
{
        arg_config.event_log = arg[0] ? arg : NULL;
        return 0;
}

static int opt_event_log_max(const char *arg)
{
        uint64_t u;

        if (parse_size(arg, &u) < 0 || u < 4096) {
                log_error("--event-log-max: expected a size of at least 4K, got '%s'", arg);
                return -EINVAL;
        }
        arg_config.event_log_max = u;
        return 0;
}

static int opt_fill_rate(const char *arg)
{
        uint64_t u;

        if (parse_size(arg, &u) < 0 || u < (1U << 20)) {
                log_error("--fill-rate: expected a size per second of at least 1M, got '%s'", arg);
                return -EINVAL;
        }
        arg_config.fill_rate = u;
        return 0;
}

static int opt_event_log_keep(const char *arg)
{
        return parse_count("event-log-keep", arg, 0, 100000, &arg_config.event_log_keep);
}

static int opt_coalesce_interval(const char *arg)
{
        uint64_t u;

        if (strcmp(arg, "0") == 0)
                u = 0;
        else if (parse_duration(arg, &u) < 0 || u > 60 * USEC_PER_SEC) {
                log_error("--coalesce-interval: expected 0 (off) .. 1m, got '%s'", arg);
                return -EINVAL;
        }
        arg_config.coalesce_usec = u;
        return 0;
}

static int opt_webhook_timeout(const char *arg)
{
        uint64_t u;

        if (parse_duration(arg, &u) < 0 || u < 100 * USEC_PER_MSEC || u > 600 * USEC_PER_SEC) {
                log_error("--webhook-timeout: expected 100ms..10m, got '%s'", arg);
                return -EINVAL;
        }
        arg_config.exec.webhook_timeout_usec = u;
        return 0;
}

static int opt_kube_events(const char *arg)
{
        arg_config.exec.kube.enabled = true;
        return 0;
}

static int opt_kube_api(const char *arg)
{
        arg_config.exec.kube.api_url = arg;
        return 0;
}

static int opt_kube_token(const char *arg)
{
        arg_config.exec.kube.token_file = arg;
        return 0;
}

static int opt_kube_ca(const char *arg)
{
        arg_config.exec.kube.ca_file = arg;
        return 0;
}

static int opt_kube_events_interval(const char *arg)
{
        uint64_t u;

        if (parse_duration(arg, &u) < 0 || u < USEC_PER_SEC || u > 24 * 3600 * USEC_PER_SEC) {
                log_error("--kube-events-interval: expected 1s..24h, got '%s'", arg);
                return -EINVAL;
        }
        arg_config.exec.kube.interval_usec = u;
        return 0;
}

static int opt_no_bus(const char *arg)
{
        (void)arg;
        arg_config.exec.bus = false;
        return 0;
}

static int opt_oom_score_adj(const char *arg)
{
        long v;
        char *end;

        errno = 0;
        v = strtol(arg, &end, 10);
        if (errno || *end || end == arg || v < -1000 || v > 1000) {
                log_error("--oom-score-adj: expected -1000..1000, got '%s'", arg);
                return -EINVAL;
        }
        arg_oom_score_adj = (int)v;
        return 0;
}

static int opt_mlock(const char *arg)
{
        if (strcmp(arg, "all") == 0)
                arg_mlock = MLOCK_MODE_ALL;
        else if (strcmp(arg, "onfault") == 0)
                arg_mlock = MLOCK_MODE_ONFAULT;
        else if (strcmp(arg, "off") == 0)
                arg_mlock = MLOCK_MODE_OFF;
        else {
                log_error("--mlock: expected all, onfault or off, got '%s'", arg);
                return -EINVAL;
        }
        return 0;
}

/* A path below the cgroup root; "" for none. */
static int parse_cgroup_path(const char *name, const char *arg, const char **ret)
{
        if (strstr(arg, "/..") || strncmp(arg, "..", 2) == 0 || strlen(arg) >= 4096) {
                log_error("--%s: expected a cgroup path below the root, got '%s'", name, arg);
                return -EINVAL;
        }
        *ret = arg[0] ? arg : NULL;
        return 0;
}

static int opt_own_cgroup(const char *arg)
{
        return parse_cgroup_path("own-cgroup", arg, &arg_own_cgroup);
}

static int opt_kubepods_root(const char *arg)
{
        return parse_cgroup_path("kubepods-root", arg, &arg_config.kubepods_root);
}

static int opt_debug(const char *arg)
{
        (void)arg;
        log_set_max_level(LOG_DEBUG);
        return 0;
}

static const Option options[] = {
        { "cgroup-root", 0, required_argument, "DIR",
          "hierarchy to watch (default: the cgroup2 mount if it has the memory\n"
          "controller, else the cgroup v1 memory mount)",
          opt_cgroup_root },
        { "cgroup-version", 0, required_argument, "auto|1|2",
          "what --cgroup-root is (default auto: by its file system)", opt_cgroup_version },
        { "psi-root", 0, required_argument, "DIR",
          "cgroup v1: the unified hierarchy whose cgroups of the same path\n"
          "give PSI (default: the cgroup2 mount, if any; '' for none)",
          opt_psi_root },
        { "pressure-level-mode", 0, required_argument, "hierarchy|default|local",
          "cgroup v1 memory.pressure_level\n"
          "registration mode (default hierarchy)",
          opt_level_mode },
        { "own-cgroup", 0, required_argument, "PATH",
          "memwarden's own cgroup, from the root (default: /proc/self/cgroup\n"
          "where the hierarchy agrees, else the pod of $MEMWARDEN_POD_UID, else\n"
          "a bounded search for our PID); actions never pick it",
          opt_own_cgroup },
        { "kubepods-root", 0, required_argument, "PATH",
          "the kubepods cgroup, from the root (default kubepods.slice, then\n"
          "kubepods)",
          opt_kubepods_root },
        { "output", 0, required_argument, "TARGET",
          "records to '-' (stdout), 'journal', 'none' or a file\n"
          "(default: journal under systemd, stdout otherwise)",
          opt_output },
        { "coalesce-interval", 0, required_argument, "DURATION",
          "memory_events output: the first of a cgroup at once, then one\n"
          "summary per interval with the sums (default 1s; 0: off)",
          opt_coalesce_interval },
        { "socket", 0, required_argument, "PATH",
          "status socket for memwardenctl (default " MW_SOCKET_DEFAULT ";\n'' disables)", opt_socket },
        { "watch", 0, required_argument, "limited|all",
          "which cgroups get memory watchers (default limited: root, slices,\n"
          "pods and cgroups with memory.high or memory.max set)",
          opt_watch },
        { "max-cgroups", 0, required_argument, "N", "cgroups to track at most (default 65536)",
          opt_max_cgroups },
        { "max-depth", 0, required_argument, "N", "levels below the root to track at most (default: 64)",
          opt_max_depth },
        { "psi-type", 0, required_argument, "some|full", "PSI trigger type (default some)", opt_psi_type },
        { "psi-stall", 0, required_argument, "DURATION",
          "stall per window that fires the trigger (default 100ms)", opt_psi_stall },
        { "psi-window", 0, required_argument, "DURATION", "PSI window, <= 10s (default 2s)",
          opt_psi_window },
        { "no-psi", 0, no_argument, NULL, "do not arm PSI triggers", opt_no_psi },
        { "fill-rate", 0, required_argument, "SIZE",
          "the fastest memory is assumed to fill, per second: usage\n"
          "triggers, and MemAvailable near a watermark or without the page\n"
          "allocation counter, are read again when they could reach a\n"
          "watermark at this rate (default 1G; 10ms to 60s)",
          opt_fill_rate },
        { "policy-dir", 0, required_argument, "DIR",
          "policies (default /etc/memwarden/policies.d; '' for none);\n"
          "SIGHUP reloads them, each source on its own",
          opt_policy_dir },
        { "pod-log-dir", 0, required_argument, "DIR",
          "kubelet's pod log directory, for pod namespace and name\n(default /var/log/pods; '' disables)",
          opt_pod_log_dir },
        { "container-log-dir", 0, required_argument, "DIR",
          "kubelet's container log directory, for container names\n"
          "(default /var/log/containers; '' disables)",
          opt_container_log_dir },
        { "report-dir", 0, required_argument, "DIR",
          "where report steps write (default /var/lib/memwarden/reports;\n'' disables)", opt_report_dir },
        { "report-keep", 0, required_argument, "N", "newest reports kept (default 64)", opt_report_keep },
        { "state-dir", 0, required_argument, "DIR",
          "the undo file of throttles and freezes (default " EXECUTOR_STATE_DIR_DEFAULT ";\n'' disables)",
          opt_state_dir },
        { "event-log", 0, required_argument, "FILE",
          "policy decisions and action outcomes as JSON lines\n"
          "(default /var/log/memwarden/events.jsonl; '' disables)",
          opt_event_log },
        { "event-log-max", 0, required_argument, "SIZE", "rotate the event log past this size (default 16M)",
          opt_event_log_max },
        { "event-log-keep", 0, required_argument, "N", "rotated event logs kept (default 3)",
          opt_event_log_keep },
        { "webhook-timeout", 0, required_argument, "DURATION", "per attempt (default 5s)",
          opt_webhook_timeout },
        { "kube-events", 0, no_argument, NULL,
          "post Kubernetes Events about throttles, freezes, kills and\n"
          "restarts of pods to the API server (default off)",
          opt_kube_events },
        { "kube-api", 0, required_argument, "URL",
          "the API server (default https://$KUBERNETES_SERVICE_HOST:\n"
          "$KUBERNETES_SERVICE_PORT)",
          opt_kube_api },
        { "kube-token", 0, required_argument, "FILE",
          "bearer token, re-read as it rotates (default the ServiceAccount's)", opt_kube_token },
        { "kube-ca", 0, required_argument, "FILE",
          "CA bundle for the API server (default the ServiceAccount's;\n'' for the system's)", opt_kube_ca },
        { "kube-events-interval", 0, required_argument, "DURATION",
          "at most one Event per pod, container and action per interval\n(default 1m)",
          opt_kube_events_interval },
        { "no-bus", 0, no_argument, NULL, "do not use the system bus (systemd units: files instead)",
          opt_no_bus },
        { "oom-score-adj", 0, required_argument, "N",
          "the daemon's own OOM score adjustment (default -1000)", opt_oom_score_adj },
        { "mlock", 0, required_argument, "all|onfault|off", "lock the daemon's memory (default onfault)",
          opt_mlock },
        { "metrics-listen", 0, required_argument, "ADDR:PORT",
          "serve /metrics and /healthz over HTTP there (default: off;\ne.g. 127.0.0.1:9743; '' disables)",
          opt_metrics_listen },
        { "metrics-cgroups", 0, required_argument, "none|policy|limited|all",
          "cgroups with series of their own (default limited)", opt_metrics_cgroups },
        { "metrics-max-cgroups", 0, required_argument, "N",
          "at most N cgroups per family in a scrape (default 2000)", opt_metrics_max_cgroups },
        { "debug", 0, no_argument, NULL, "log debug messages", opt_debug },
        { "version", 0, no_argument, NULL, "print the version", opt_version },
        { "help", 'h', no_argument, NULL, "this help", opt_help },
};

#define HELP_COLUMN 24

static int opt_help(const char *arg)
{
        (void)arg;
        printf("Usage: memwardend [OPTIONS]\n\n"
               "Watch cgroup memory events and pressure, event-driven, from locked memory.\n\n");
        for (size_t i = 0; i < ELEMENTSOF(options); i++) {
                const Option *o = &options[i];
                int n = printf("  --%s%s%s", o->name, o->arg_name ? " " : "",
                               o->arg_name ? o->arg_name : "");
                if (o->short_name)
                        n += printf(", -%c", o->short_name);
                /* Too long for the column: two spaces, as the old hand-made help did. */
                printf("%*s", n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
                for (const char *h = o->help; *h;) {
                        const char *nl = strchr(h, '\n');
                        int len = nl ? (int)(nl - h) : (int)strlen(h);
                        printf("%.*s\n", len, h);
                        h += len;
                        if (*h == '\n' && *++h)
                                printf("%*s", HELP_COLUMN, "");
                }
        }
        return 1;
}

static void set_defaults(void)
{
        bool under_systemd = getenv("INVOCATION_ID") != NULL;

        arg_config.watch = WATCHER_CONFIG_DEFAULT;
        arg_config.output = under_systemd ? OUTPUT_JOURNAL : OUTPUT_STDOUT;
        arg_config.socket_path = MW_SOCKET_DEFAULT;
        arg_config.policy_dir = "/etc/memwarden/policies.d";
        arg_config.exec = (ExecutorConfig){ .report_dir = "/var/lib/memwarden/reports",
                                            .state_dir = EXECUTOR_STATE_DIR_DEFAULT,
                                            .report_keep = 64,
                                            .bus = true,
                                            .webhook_timeout_usec = 5 * USEC_PER_SEC };
        arg_config.coalesce_usec = USEC_PER_SEC;
        arg_config.event_log = "/var/log/memwarden/events.jsonl";
        arg_config.event_log_max = 16 << 20;
        arg_config.event_log_keep = 3;
        arg_config.metrics = (MetricsConfig){ .cgroups = METRICS_CGROUPS_LIMITED,
                                              .max_cgroups = METRICS_MAX_CGROUPS_DEFAULT };
}

static int parse_args(int argc, char **argv)
{
        struct option longopts[ELEMENTSOF(options) + 1] = {};
        char shortopts[2 * ELEMENTSOF(options) + 1] = "";
        size_t ns = 0;
        int c;

        set_defaults();
        /* getopt's val: the table index + 0x100, or the short letter. */
        for (size_t i = 0; i < ELEMENTSOF(options); i++) {
                longopts[i] = (struct option){ options[i].name, options[i].has_arg, NULL, (int)i + 0x100 };
                if (options[i].short_name) {
                        longopts[i].val = options[i].short_name;
                        shortopts[ns++] = (char)options[i].short_name;
                        if (options[i].has_arg == required_argument)
                                shortopts[ns++] = ':';
                }
        }
        while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0) {
                const Option *o = NULL;
                int r;

                for (size_t i = 0; i < ELEMENTSOF(options) && !o; i++)
                        if (longopts[i].val == c)
                                o = &options[i];
                if (!o)
                        return -EINVAL; /* getopt said why */
                r = o->handle(optarg);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        if (optind < argc) {
                log_error("Unexpected argument '%s'.", argv[optind]);
                return -EINVAL;
        }
        if (arg_config.watch.psi) {
                const char *why;
                if (psi_trigger_validate(arg_config.watch.psi_stall_usec, arg_config.watch.psi_window_usec,
                                         have_cap_sys_resource(), &why) < 0) {
                        log_error("PSI trigger: %s.", why);
                        return -EINVAL;
                }
        }
        return 1;
}

/* cgroup v2 if its mount has the memory controller; else the v1 memory
 * hierarchy (hybrid and legacy hosts), with PSI from the cgroup2 mount by the
 * same paths. An explicit --cgroup-root is taken as it is; its file system
 * says which version it is unless --cgroup-version does. */
static int find_root(void)
{
        WatcherConfig *wc = &arg_config.watch;
        bool localevents = false, have_v2;
        char v1[4096];

        have_v2 = cg_find_cgroup2_mount("/proc/self/mountinfo", arg_psi_root_buf, sizeof(arg_psi_root_buf),
                                        &localevents) >= 0;
        if (!arg_root_given) {
                _cleanup_close_ int fd =
                        have_v2 ? open(arg_psi_root_buf, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
                bool v2_memory = fd >= 0 && cg_has_controller(fd, "memory") > 0;

                if (arg_cgroup_version != 2 && !v2_memory &&
                    cg_find_v1_memory_mount("/proc/self/mountinfo", v1, sizeof(v1)) >= 0) {
                        snprintf(arg_root_buf, sizeof(arg_root_buf), "%s", v1);
                        wc->v1 = true;
                } else if (have_v2 && arg_cgroup_version != 1)
                        snprintf(arg_root_buf, sizeof(arg_root_buf), "%s", arg_psi_root_buf);
                else
                        return log_error_errno(-ENOENT,
                                               "No cgroup%s memory hierarchy found in /proc/self/mountinfo.",
                                               arg_cgroup_version == 1 ? " v1" : "");
                wc->root = arg_root_buf;
                if (!wc->v1 && localevents)
                        log_info("cgroup2 is mounted with memory_localevents: memory.events is not "
                                 "hierarchical.");
                if (!wc->v1 && !v2_memory)
                        log_warning("The memory controller is not on in '%s' and there is no cgroup v1 "
                                    "memory hierarchy: only PSI can be watched.",
                                    wc->root);
        } else {
                int v2 = cg_is_cgroup2(wc->root);
                bool v1fs;
                if (v2 < 0)
                        return log_error_errno(v2, "Cannot stat cgroup root '%s': %m", wc->root);
                v1fs = !v2 && cg_is_cgroup1(wc->root) > 0;
                wc->v1 = arg_cgroup_version == 1 || (arg_cgroup_version == 0 && v1fs);
                if (arg_cgroup_version == 0 && !v1fs && !v2)
                        log_warning(
                                "'%s' is not a cgroup file system; watching it as cgroup v2 anyway (a test "
                                "tree?).",
                                wc->root);
        }
        if (wc->v1 && !arg_psi_root_given)
                wc->psi_root = have_v2 ? arg_psi_root_buf : NULL;
        if (wc->v1)
                log_info("cgroup v1 memory hierarchy at '%s'; per-cgroup PSI from %s%s.", wc->root,
                         wc->psi_root ? "the same paths under " : "nowhere (no unified hierarchy)",
                         wc->psi_root ? wc->psi_root : "");
        return 0;
}

/* Our own cgroup as the watcher's root sees it, which the action rules keep
 * off limits; in a pod's cgroup namespace /proc/self/cgroup alone cannot say. */
static void find_own_cgroup(void)
{
        _cleanup_close_ int proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int root_fd = open(arg_config.watch.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        const SelfCgroupConfig c = { .proc_fd = proc_fd,
                                     .root_fd = root_fd,
                                     .v1 = arg_config.watch.v1,
                                     .pid = getpid(),
                                     .explicit_path = arg_own_cgroup,
                                     .pod_uid = getenv("MEMWARDEN_POD_UID"),
                                     .kubepods_root = arg_config.kubepods_root };
        SelfCgroup *s = &arg_self_cgroup;
        int r;

        r = selfcg_find(&c, s);
        arg_config.own_cgroup = s->path;
        if (r < 0) {
                log_warning_errno(
                        r,
                        "Cannot tell memwarden's own cgroup under '%s' (/proc/self/cgroup says '%s'%s, "
                        "%u cgroups searched): actions are not kept off it; set --own-cgroup or "
                        "MEMWARDEN_POD_UID.",
                        arg_config.watch.root, s->proc_path, s->namespaced ? " in a cgroup namespace" : "",
                        s->walked_dirs);
                return;
        }
        if (s->source == SELFCG_SOURCE_POD_UID && !s->container_found)
                log_notice("Own container not found below the pod cgroup '%s'; keeping actions off the pod.",
                           s->path);
        log_info("Own cgroup '%s' (from %s%s).", s->path, selfcg_source_to_string(s->source),
                 s->namespaced ? ", in a cgroup namespace" : "");
}

/* The daemon must survive the memory shortage it reports on. */
static void protect_self(void)
{
        struct rlimit rl;
        char buf[16];
        int fd, n;
        /* Per watched cgroup: memory.events and the PSI trigger; on v1, three eventfds
         * (medium, critical, OOM; low and a threshold where a policy asks) and PSI. */
        rlim_t want = (rlim_t)arg_config.watch.max_cgroups * (arg_config.watch.v1 ? 6 : 2) + 256;

        fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        n = snprintf(buf, sizeof(buf), "%d", arg_oom_score_adj);
        if (fd < 0 || write(fd, buf, (size_t)n) < 0)
                log_warning_errno(-errno, "Failed to set oom_score_adj to %d: %m", arg_oom_score_adj);
        safe_close(fd);

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
                rlim_t old = rl.rlim_cur;
                rl.rlim_cur = want;
                if (rl.rlim_max < want)
                        rl.rlim_max = want;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
                        getrlimit(RLIMIT_NOFILE, &rl);
                        rl.rlim_cur = rl.rlim_max;
                        (void)setrlimit(RLIMIT_NOFILE, &rl);
                        log_warning("RLIMIT_NOFILE is %llu, below the %llu that --max-cgroups=%u needs.",
                                    (unsigned long long)rl.rlim_cur, (unsigned long long)want,
                                    arg_config.watch.max_cgroups);
                } else
                        log_debug("RLIMIT_NOFILE raised from %llu to %llu.", (unsigned long long)old,
                                  (unsigned long long)want);
        }

        if (arg_mlock != MLOCK_MODE_OFF) {
                int flags = MCL_CURRENT | MCL_FUTURE | (arg_mlock == MLOCK_MODE_ONFAULT ? MCL_ONFAULT : 0);
                if (mlockall(flags) < 0)
                        log_warning_errno(
                                -errno, "Failed to lock memory (mlockall): %m; the daemon may be paged out "
                                        "under pressure (needs CAP_IPC_LOCK or a higher RLIMIT_MEMLOCK)");
        }
}

/* What start-up needed and the loop does not (daemon/caps.h). */
static void drop_capabilities(void)
{
        struct rlimit rl;
        bool memlock_bounded = getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur != RLIM_INFINITY;
        uint64_t kept;
        int r;

        r = caps_drop_after_start(arg_mlock != MLOCK_MODE_OFF && memlock_bounded, &kept);
        if (r < 0)
                log_warning_errno(r, "Failed to drop capabilities after start-up: %m");
        else
                log_debug("Capabilities after start-up: %#" PRIx64 ".", kept);
}

int main(int argc, char **argv)
{
        Manager *m = NULL;
        struct timespec ts;
        int r;

        /* The exec helper (executor.h) is this program run again. */
        if (argc == 3 && strcmp(argv[1], "--exec-helper") == 0) {
                uint64_t fd;
                if (parse_u64(argv[2], &fd) < 0 || fd > INT_MAX)
                        return 2;
                return exec_helper_main((int)fd);
        }

        r = parse_args(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        {
                ssize_t n = readlink("/proc/self/exe", arg_self_exe, sizeof(arg_self_exe) - 1);
                if (n > 0) {
                        arg_self_exe[n] = '\0';
                        arg_config.exec.exec_helper = arg_self_exe;
                }
        }
        if (find_root() < 0)
                return 1;
        arg_config.watch.kubepods_root = arg_config.kubepods_root;
        arg_config.watch.max_depth = arg_config.max_depth;
        find_own_cgroup();
        protect_self();

        r = manager_new(&arg_config, &m);
        if (r < 0)
                return 1;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        m->start_usec = (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
        r = manager_start(m);
        if (r >= 0) {
                drop_capabilities();
                r = manager_run(m);
        }
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
        manager_free(m);
        return r < 0 ? 1 : 0;
}
