/* SPDX-License-Identifier: MIT */
/* memwardend: arguments, the process's own safety (locked memory, OOM score,
 * file limits), then the loop. Exit codes: 0 clean stop, 1 failure at start,
 * 2 bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "memcg-v1.h"
#include "parse.h"

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

static void help(void)
{
        printf("Usage: memwardend [OPTIONS]\n\n"
               "Watch cgroup memory events and pressure, event-driven, from locked memory.\n\n"
               "  --cgroup-root DIR     hierarchy to watch (default: the cgroup2 mount if it has the "
               "memory\n"
               "                        controller, else the cgroup v1 memory mount)\n"
               "  --cgroup-version auto|1|2  what --cgroup-root is (default auto: by its file system)\n"
               "  --psi-root DIR        cgroup v1: the unified hierarchy whose cgroups of the same path\n"
               "                        give PSI (default: the cgroup2 mount, if any; '' for none)\n"
               "  --pressure-level-mode hierarchy|default|local  cgroup v1 memory.pressure_level\n"
               "                        registration mode (default hierarchy)\n"
               "  --output TARGET       records to '-' (stdout), 'journal', 'none' or a file\n"
               "                        (default: journal under systemd, stdout otherwise)\n"
               "  --socket PATH         status socket for memwardenctl (default " MW_SOCKET_DEFAULT ";\n"
               "                        '' disables)\n"
               "  --watch limited|all   which cgroups get memory watchers (default limited: root, slices,\n"
               "                        pods and cgroups with memory.high or memory.max set)\n"
               "  --max-cgroups N       cgroups to track at most (default 65536)\n"
               "  --psi-type some|full  PSI trigger type (default some)\n"
               "  --psi-stall DURATION  stall per window that fires the trigger (default 100ms)\n"
               "  --psi-window DURATION PSI window, <= 10s (default 2s)\n"
               "  --no-psi              do not arm PSI triggers\n"
               "  --policy-dir DIR      policies (default /etc/memwarden/policies.d; '' for none);\n"
               "                        SIGHUP reloads them, all or nothing\n"
               "  --pod-log-dir DIR     kubelet's pod log directory, for pod namespace and name\n"
               "                        (default /var/log/pods; '' disables)\n"
               "  --report-dir DIR      where report steps write (default /var/lib/memwarden/reports;\n"
               "                        '' disables)\n"
               "  --report-keep N       newest reports kept (default 64)\n"
               "  --event-log FILE      policy decisions and action outcomes as JSON lines\n"
               "                        (default /var/log/memwarden/events.jsonl; '' disables)\n"
               "  --event-log-max SIZE  rotate the event log past this size (default 16M)\n"
               "  --event-log-keep N    rotated event logs kept (default 3)\n"
               "  --webhook-timeout DURATION  per attempt (default 5s)\n"
               "  --no-bus              do not use the system bus (systemd units: files instead)\n"
               "  --oom-score-adj N     the daemon's own OOM score adjustment (default -1000)\n"
               "  --mlock all|onfault|off  lock the daemon's memory (default onfault)\n"
               "  --debug               log debug messages\n"
               "  --version, --help\n");
}

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

static int parse_args(int argc, char **argv)
{
        enum {
                ARG_ROOT = 0x100,
                ARG_OUTPUT,
                ARG_SOCKET,
                ARG_WATCH,
                ARG_MAX,
                ARG_PSI_TYPE,
                ARG_PSI_STALL,
                ARG_PSI_WINDOW,
                ARG_NO_PSI,
                ARG_POD_LOG_DIR,
                ARG_POLICY_DIR,
                ARG_OOM,
                ARG_MLOCK,
                ARG_REPORT_DIR,
                ARG_REPORT_KEEP,
                ARG_EVENT_LOG,
                ARG_EVENT_LOG_MAX,
                ARG_EVENT_LOG_KEEP,
                ARG_WEBHOOK_TIMEOUT,
                ARG_NO_BUS,
                ARG_CGROUP_VERSION,
                ARG_PSI_ROOT,
                ARG_LEVEL_MODE,
                ARG_DEBUG,
                ARG_VERSION
        };
        static const struct option options[] = {
                { "cgroup-root", required_argument, NULL, ARG_ROOT },
                { "output", required_argument, NULL, ARG_OUTPUT },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "watch", required_argument, NULL, ARG_WATCH },
                { "max-cgroups", required_argument, NULL, ARG_MAX },
                { "psi-type", required_argument, NULL, ARG_PSI_TYPE },
                { "psi-stall", required_argument, NULL, ARG_PSI_STALL },
                { "psi-window", required_argument, NULL, ARG_PSI_WINDOW },
                { "no-psi", no_argument, NULL, ARG_NO_PSI },
                { "pod-log-dir", required_argument, NULL, ARG_POD_LOG_DIR },
                { "policy-dir", required_argument, NULL, ARG_POLICY_DIR },
                { "oom-score-adj", required_argument, NULL, ARG_OOM },
                { "mlock", required_argument, NULL, ARG_MLOCK },
                { "report-dir", required_argument, NULL, ARG_REPORT_DIR },
                { "report-keep", required_argument, NULL, ARG_REPORT_KEEP },
                { "event-log", required_argument, NULL, ARG_EVENT_LOG },
                { "event-log-max", required_argument, NULL, ARG_EVENT_LOG_MAX },
                { "event-log-keep", required_argument, NULL, ARG_EVENT_LOG_KEEP },
                { "webhook-timeout", required_argument, NULL, ARG_WEBHOOK_TIMEOUT },
                { "no-bus", no_argument, NULL, ARG_NO_BUS },
                { "cgroup-version", required_argument, NULL, ARG_CGROUP_VERSION },
                { "psi-root", required_argument, NULL, ARG_PSI_ROOT },
                { "pressure-level-mode", required_argument, NULL, ARG_LEVEL_MODE },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "version", no_argument, NULL, ARG_VERSION },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        WatcherConfig *wc = &arg_config.watch;
        bool under_systemd = getenv("INVOCATION_ID") != NULL;
        uint64_t u;
        int c;

        *wc = WATCHER_CONFIG_DEFAULT;
        arg_config.output = under_systemd ? OUTPUT_JOURNAL : OUTPUT_STDOUT;
        arg_config.socket_path = MW_SOCKET_DEFAULT;
        arg_config.policy_dir = "/etc/memwarden/policies.d";
        arg_config.exec = (ExecutorConfig){ .report_dir = "/var/lib/memwarden/reports",
                                            .report_keep = 64,
                                            .bus = true,
                                            .webhook_timeout_usec = 5 * USEC_PER_SEC };
        arg_config.event_log = "/var/log/memwarden/events.jsonl";
        arg_config.event_log_max = 16 << 20;
        arg_config.event_log_keep = 3;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("memwardend " MEMWARDEN_VERSION);
                        return 0;
                case ARG_ROOT:
                        wc->root = optarg;
                        arg_root_given = true;
                        break;
                case ARG_OUTPUT:
                        if (strcmp(optarg, "-") == 0)
                                arg_config.output = OUTPUT_STDOUT;
                        else if (strcmp(optarg, "journal") == 0)
                                arg_config.output = OUTPUT_JOURNAL;
                        else if (strcmp(optarg, "none") == 0)
                                arg_config.output = OUTPUT_NONE;
                        else {
                                arg_config.output = OUTPUT_FILE;
                                arg_config.output_path = optarg;
                        }
                        break;
                case ARG_SOCKET:
                        arg_config.socket_path = optarg[0] ? optarg : NULL;
                        break;
                case ARG_WATCH:
                        if (watch_select_from_string(optarg) < 0) {
                                log_error("--watch: expected 'limited' or 'all', got '%s'", optarg);
                                return -EINVAL;
                        }
                        wc->select = watch_select_from_string(optarg);
                        break;
                case ARG_MAX:
                        if (parse_u64(optarg, &u) < 0 || u == 0 || u > 1000000) {
                                log_error("--max-cgroups: expected 1..1000000, got '%s'", optarg);
                                return -EINVAL;
                        }
                        wc->max_cgroups = (unsigned)u;
                        break;
                case ARG_PSI_TYPE:
                        if (psi_type_from_string(optarg) < 0) {
                                log_error("--psi-type: expected 'some' or 'full', got '%s'", optarg);
                                return -EINVAL;
                        }
                        wc->psi_type = psi_type_from_string(optarg);
                        break;
                case ARG_PSI_STALL:
                case ARG_PSI_WINDOW:
                        if (parse_duration(optarg, &u) < 0) {
                                log_error("--psi-%s: not a duration: '%s'",
                                          c == ARG_PSI_STALL ? "stall" : "window", optarg);
                                return -EINVAL;
                        }
                        *(c == ARG_PSI_STALL ? &wc->psi_stall_usec : &wc->psi_window_usec) = u;
                        break;
                case ARG_CGROUP_VERSION:
                        if (strcmp(optarg, "auto") == 0)
                                arg_cgroup_version = 0;
                        else if (strcmp(optarg, "1") == 0 || strcmp(optarg, "2") == 0)
                                arg_cgroup_version = optarg[0] - '0';
                        else {
                                log_error("--cgroup-version: expected auto, 1 or 2, got '%s'", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_PSI_ROOT:
                        wc->psi_root = optarg[0] ? optarg : NULL;
                        arg_psi_root_given = true;
                        break;
                case ARG_LEVEL_MODE: {
                        int m = -1;
                        for (int i = 0; i < _V1_MODE_MAX; i++)
                                if (strcmp(optarg, v1_mode_to_string((V1Mode)i)) == 0)
                                        m = i;
                        if (m < 0) {
                                log_error("--pressure-level-mode: expected hierarchy, default or local, got "
                                          "'%s'",
                                          optarg);
                                return -EINVAL;
                        }
                        wc->v1_mode = (V1Mode)m;
                        break;
                }
                case ARG_NO_PSI:
                        wc->psi = false;
                        break;
                case ARG_POLICY_DIR:
                        arg_config.policy_dir = optarg[0] ? optarg : NULL;
                        break;
                case ARG_POD_LOG_DIR:
                        wc->pod_log_dir = optarg[0] ? optarg : NULL;
                        break;
                case ARG_OOM: {
                        long v;
                        char *end;
                        errno = 0;
                        v = strtol(optarg, &end, 10);
                        if (errno || *end || end == optarg || v < -1000 || v > 1000) {
                                log_error("--oom-score-adj: expected -1000..1000, got '%s'", optarg);
                                return -EINVAL;
                        }
                        arg_oom_score_adj = (int)v;
                        break;
                }
                case ARG_MLOCK:
                        if (strcmp(optarg, "all") == 0)
                                arg_mlock = MLOCK_MODE_ALL;
                        else if (strcmp(optarg, "onfault") == 0)
                                arg_mlock = MLOCK_MODE_ONFAULT;
                        else if (strcmp(optarg, "off") == 0)
                                arg_mlock = MLOCK_MODE_OFF;
                        else {
                                log_error("--mlock: expected all, onfault or off, got '%s'", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_REPORT_DIR:
                        arg_config.exec.report_dir = optarg[0] ? optarg : NULL;
                        break;
                case ARG_REPORT_KEEP:
                case ARG_EVENT_LOG_KEEP:
                        if (parse_u64(optarg, &u) < 0 || u > 100000) {
                                log_error("--%s: expected a count, got '%s'",
                                          c == ARG_REPORT_KEEP ? "report-keep" : "event-log-keep", optarg);
                                return -EINVAL;
                        }
                        *(c == ARG_REPORT_KEEP ? &arg_config.exec.report_keep : &arg_config.event_log_keep) =
                                (unsigned)u;
                        break;
                case ARG_EVENT_LOG:
                        arg_config.event_log = optarg[0] ? optarg : NULL;
                        break;
                case ARG_EVENT_LOG_MAX:
                        if (parse_size(optarg, &u) < 0 || u < 4096) {
                                log_error("--event-log-max: expected a size of at least 4K, got '%s'",
                                          optarg);
                                return -EINVAL;
                        }
                        arg_config.event_log_max = u;
                        break;
                case ARG_WEBHOOK_TIMEOUT:
                        if (parse_duration(optarg, &u) < 0 || u < 100 * USEC_PER_MSEC ||
                            u > 600 * USEC_PER_SEC) {
                                log_error("--webhook-timeout: expected 100ms..10m, got '%s'", optarg);
                                return -EINVAL;
                        }
                        arg_config.exec.webhook_timeout_usec = u;
                        break;
                case ARG_NO_BUS:
                        arg_config.exec.bus = false;
                        break;
                case ARG_DEBUG:
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument '%s'.", argv[optind]);
                return -EINVAL;
        }
        if (wc->psi) {
                const char *why;
                if (psi_trigger_validate(wc->psi_stall_usec, wc->psi_window_usec, have_cap_sys_resource(),
                                         &why) < 0) {
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
                struct statfs sfs;
                if (statfs(wc->root, &sfs) < 0)
                        return log_error_errno(-errno, "Cannot stat cgroup root '%s': %m", wc->root);
                wc->v1 = arg_cgroup_version == 1 ||
                         (arg_cgroup_version == 0 && sfs.f_type == CGROUP_SUPER_MAGIC);
                if (arg_cgroup_version == 0 && sfs.f_type != CGROUP_SUPER_MAGIC &&
                    sfs.f_type != CGROUP2_SUPER_MAGIC)
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

int main(int argc, char **argv)
{
        Manager *m = NULL;
        struct timespec ts;
        int r;

        /* The exec helper (executor.h) is this program run again. */
        if (argc == 3 && strcmp(argv[1], "--exec-helper") == 0)
                return exec_helper_main(atoi(argv[2]));

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
        protect_self();

        r = manager_new(&arg_config, &m);
        if (r < 0)
                return 1;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        m->start_usec = (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
        r = manager_start(m);
        if (r >= 0)
                r = manager_run(m);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
        manager_free(m);
        return r < 0 ? 1 : 0;
}
