/* SPDX-License-Identifier: MIT */
/* memwardenctl: talk to memwardend over its status socket.
 * Exit codes: 0 success, 1 failure (daemon unreachable, bad answer), 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl-tree.h"
#include "macro.h"
#include "policy.h"
#include "policy-dir.h"
#include "status-proto.h"

static const char *arg_socket = MW_SOCKET_DEFAULT;
static const char *arg_namespace;
static bool arg_json;
bool ctl_json;

static void help(void)
{
        printf("Usage: memwardenctl [OPTIONS] COMMAND\n\n"
               "Commands:\n"
               "  status        watched cgroups with their last counters and PSI\n"
               "  explain [CGROUP]  which policy applies to each cgroup (or one), its armed\n"
               "                triggers and actions, and why the other policies do not match\n"
               "  events        the recent records; with --follow, then each new one; filtered\n"
               "                by --cgroup PATH (and below), --pod [NS/]NAME, --policy [NS/]NAME,\n"
               "                --event TYPE\n"
               "  reports [NAME]  the why-reports in --report-dir, oldest first, or one of them\n"
               "                (a name or a path) as a summary\n"
               "  tree [CGROUP] the cgroup tree (or a subtree): memory, limits, PSI, events,\n"
               "                the policy and phase\n"
               "  check PATH... validate policy files or directories (a directory: NAME.yaml for\n"
               "                the node admin, NAMESPACE/NAME.yaml per namespace); prints every\n"
               "                error as file:line:col: message\n\n"
               "Options:\n"
               "  --socket PATH status socket of memwardend (default " MW_SOCKET_DEFAULT ")\n"
               "  --json        print the daemon's JSON lines as they are\n"
               "  --all         list unwatched cgroups too (table output)\n"
               "  --namespace NS  check: treat the files given as NS's policies\n"
               "  --follow, -f  events: keep printing new records until interrupted\n"
               "  --report-dir DIR  reports: where they are (default /var/lib/memwarden/reports)\n"
               "  --help, --version\n");
}

/* Find the raw JSON value of a top-level key in one object line: returns a
 * pointer to its first character and its length, or NULL. Strings are
 * skipped with their escapes, nested containers by depth. */
static const char *json_find(const char *s, size_t len, const char *key, size_t *ret_len)
{
        size_t kl = strlen(key);
        int depth = 0;

        for (size_t i = 0; i < len; i++) {
                char ch = s[i];
                if (ch == '"') {
                        size_t start = i + 1;
                        for (i++; i < len && s[i] != '"'; i++)
                                if (s[i] == '\\')
                                        i++;
                        if (depth == 1 && i + 1 < len && s[i + 1] == ':' && i - start == kl &&
                            memcmp(s + start, key, kl) == 0) {
                                size_t v = i + 2, e = v;
                                int d = 0;
                                for (; e < len; e++) {
                                        if (s[e] == '"') {
                                                for (e++; e < len && s[e] != '"'; e++)
                                                        if (s[e] == '\\')
                                                                e++;
                                                continue;
                                        }
                                        if (s[e] == '{' || s[e] == '[')
                                                d++;
                                        else if (s[e] == '}' || s[e] == ']') {
                                                if (d == 0)
                                                        break;
                                                d--;
                                        } else if (s[e] == ',' && d == 0)
                                                break;
                                }
                                *ret_len = e - v;
                                return s + v;
                        }
                } else if (ch == '{' || ch == '[')
                        depth++;
                else if (ch == '}' || ch == ']')
                        depth--;
        }
        return NULL;
}

/* A top-level value of a JSON line, strings without their quotes; "-" if absent. */
static int value_of(const char *line, size_t len, const char *key, const char **ret)
{
        size_t vl;
        const char *v = json_find(line, len, key, &vl);

        if (!v) {
                *ret = "-";
                return 1;
        }
        if (vl >= 2 && v[0] == '"') {
                *ret = v + 1;
                return (int)vl - 2;
        }
        *ret = v;
        return (int)vl;
}

/* A table cell: padded to width (negative: left-aligned), then a space. */
static void print_field(const char *line, size_t len, const char *key, int width)
{
        const char *v;
        int n = value_of(line, len, key, &v);

        printf("%*.*s ", width, n, v);
}

static void print_value(const char *line, size_t len, const char *key)
{
        const char *v;
        int n = value_of(line, len, key, &v);

        printf("%.*s", n, v);
}

static void print_counter(const char *line, size_t len, const char *key)
{
        size_t cl;
        const char *c = json_find(line, len, "counters", &cl);
        if (!c) {
                printf("%8s ", "-");
                return;
        }
        print_field(c, cl, key, 8);
}

/* Send one request line, return the answer as a stream (NULL on failure, said). */
FILE *ctl_request(const char *req)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        size_t len = strlen(req);

        if (strlen(arg_socket) >= sizeof(sa.sun_path) || len > STATUS_REQUEST_MAX) {
                fprintf(stderr, "memwardenctl: socket path or request too long\n");
                return NULL;
        }
        strcpy(sa.sun_path, arg_socket);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                fprintf(stderr, "memwardenctl: cannot reach memwardend at '%s': %m\n", arg_socket);
                return NULL;
        }
        if (write(fd, req, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
                fprintf(stderr, "memwardenctl: cannot send the request: %m\n");
                return NULL;
        }
        return fdopen(TAKE_FD(fd), "r");
}

/* Print a JSON array of strings, joined by sep. */
static void print_list(const char *v, size_t vl, const char *sep)
{
        bool first = true;

        for (size_t i = 0; i < vl; i++) {
                if (v[i] != '"')
                        continue;
                size_t s = ++i;
                while (i < vl && v[i] != '"')
                        i += v[i] == '\\' ? 2 : 1;
                printf("%s%.*s", first ? "" : sep, (int)(i - s), v + s);
                first = false;
        }
}

/* The policy fields of an explain object (the top level, or node_policy). */
static void print_policy(const char *line, size_t len, const char *what)
{
        size_t vl;
        const char *v = json_find(line, len, "policy", &vl);

        if (!v || (vl == 4 && memcmp(v, "null", 4) == 0)) {
                printf("  %s: none applies\n", what);
                return;
        }
        printf("  %s: %.*s (", what, (int)vl - 2, v + 1);
        print_value(line, len, "source");
        const char *t = json_find(line, len, "any", &vl);
        bool all = !t;
        if (all)
                t = json_find(line, len, "all", &vl);
        printf(")\n  armed: %s of: ", all ? "all" : "any");
        if (t)
                print_list(t, vl, "; ");
        v = json_find(line, len, "select", &vl);
        if (v && !(vl == 6 && memcmp(v, "\"each\"", 6) == 0))
                printf("\n  select: %.*s", (int)vl - 2, v + 1);
        v = json_find(line, len, "target", &vl);
        if (v)
                printf("\n  target: %.*s (the triggers are this cgroup's, the steps go to its children)",
                       (int)vl - 2, v + 1);
        v = json_find(line, len, "actions", &vl);
        printf("\n  actions: ");
        if (v)
                print_list(v, vl, " -> ");
        v = json_find(line, len, "phase", &vl);
        if (v && !(vl == 4 && memcmp(v, "null", 4) == 0))
                printf("\n  phase: %.*s\n", (int)vl - 2, v + 1);
        else
                printf("\n  phase: not evaluated (the cgroup is not watched)\n");
}

static int cmd_explain(const char *cgroup)
{
        char req[STATUS_REQUEST_MAX + 1];
        FILE *f;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned lines = 0;

        snprintf(req, sizeof(req), "explain%s%s", cgroup ? " " : "", cgroup ? cgroup : "");
        f = ctl_request(req);
        if (!f)
                return 1;
        while ((n = getline(&line, &cap, f)) > 0) {
                size_t len = (size_t)n, vl, il;
                const char *v, *id;

                if (lines++ == 0 && strncmp(line, "{\"error\":", 9) == 0) {
                        fprintf(stderr, "memwardenctl: memwardend refused the request: %s", line);
                        free(line);
                        fclose(f);
                        return 1;
                }
                if (lines == 1 || arg_json) {
                        if (arg_json)
                                fputs(line, stdout);
                        continue;
                }
                print_value(line, len, "cgroup");
                printf(" (");
                print_value(line, len, "kind");
                printf(")\n  who:");
                id = json_find(line, len, "identity", &il);
                static const char *const keys[] = { "unit", "namespace", "pod", "container", "qos" };
                for (size_t k = 0; id && k < ELEMENTSOF(keys); k++) {
                        v = json_find(id, il, keys[k], &vl);
                        if (v && !(vl == 4 && memcmp(v, "null", 4) == 0))
                                printf(" %s=%.*s", keys[k], (int)vl - 2, v + 1);
                }
                putchar('\n');
                v = json_find(line, len, "route", &vl);
                if (v && vl >= 2 && v[0] == '"') {
                        printf("  steps through: ");
                        print_value(line, len, "route");
                        printf("\n");
                }
                print_policy(line, len, "policy");
                v = json_find(line, len, "node_policy", &vl);
                if (v && v[0] == '{')
                        print_policy(v, vl, "node policy");
                v = json_find(line, len, "others", &vl);
                for (size_t i = 0; v && i < vl; i++) {
                        if (v[i] != '{')
                                continue;
                        size_t e = i;
                        while (e < vl && v[e] != '}')
                                e++;
                        printf("  not: ");
                        print_value(v + i, e - i + 1, "policy");
                        printf(": ");
                        print_value(v + i, e - i + 1, "why");
                        putchar('\n');
                        i = e;
                }
        }
        free(line);
        fclose(f);
        if (lines == 0) {
                fprintf(stderr, "memwardenctl: no answer from memwardend\n");
                return 1;
        }
        if (lines == 1 && cgroup) {
                fprintf(stderr, "memwardenctl: no cgroup '%s' is known to memwardend\n", cgroup);
                return 1;
        }
        return 0;
}

/* The agent's own figures, below the header line. */
/* Labels and the fields after them: {label, key, label, key, ..., NULL}. */
static void print_labelled(const char *obj, size_t len, const char *const *lk)
{
        for (; lk[0]; lk += 2) {
                fputs(lk[0], stdout);
                if (lk[1])
                        print_field(obj, len, lk[1], 0);
        }
}

static void print_summary(const char *line, size_t len)
{
        static const char *const agent[] = { "\npolicies ",    "policies", "(reloads ",
                                             "policy_reloads", "failed ",  "policy_reload_failures",
                                             "), records ",    "records",  "inotify overflows ",
                                             "overflows",      NULL };
        static const char *const actions[] = { "\nactions: outcomes ",
                                               "outcomes",
                                               "failed ",
                                               "failed",
                                               "throttled now ",
                                               "throttled",
                                               "frozen now ",
                                               "frozen",
                                               "webhooks sent ",
                                               "webhooks_sent",
                                               "failed ",
                                               "webhooks_failed",
                                               NULL };
        size_t al;
        const char *a = json_find(line, len, "actions", &al);

        print_labelled(line, len, agent);
        if (a)
                print_labelled(a, al, actions);
}

static int cmd_status(bool all)
{
        FILE *f;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        bool first = true;

        f = ctl_request("status");
        if (!f)
                return 1;
        while ((n = getline(&line, &cap, f)) > 0) {
                size_t len = (size_t)n, wl;
                if (arg_json) {
                        fputs(line, stdout);
                        first = false;
                        continue;
                }
                if (first) {
                        first = false;
                        static const char *const head[] = { "memwardend pid ",
                                                            "pid",
                                                            "root ",
                                                            "cgroup_root",
                                                            ": ",
                                                            "watched",
                                                            "watched of ",
                                                            "cgroups",
                                                            "cgroups, ",
                                                            "psi_triggers",
                                                            "PSI triggers, memory controller ",
                                                            "memory_controller",
                                                            NULL };
                        print_labelled(line, len, head);
                        print_summary(line, len);
                        printf("\n\n%-50s %-9s %12s %12s %8s %8s %8s %8s %7s\n", "CGROUP", "KIND", "HIGH",
                               "MAX", "high", "max", "oom", "oom_kill", "psi10");
                        continue;
                }
                const char *wv = json_find(line, len, "watched", &wl);
                if (!all && !(wv && wl == 4 && memcmp(wv, "true", 4) == 0))
                        continue;
                print_field(line, len, "cgroup", -50);
                print_field(line, len, "kind", -9);
                print_field(line, len, "memory_high", 12);
                print_field(line, len, "memory_max", 12);
                print_counter(line, len, "high");
                print_counter(line, len, "max");
                print_counter(line, len, "oom");
                print_counter(line, len, "oom_kill");
                {
                        size_t pl, sl;
                        const char *p = json_find(line, len, "psi", &pl);
                        const char *s = p ? json_find(p, pl, "some", &sl) : NULL;
                        if (s)
                                print_field(s, sl, "avg10", 7);
                        else
                                printf("%7s", "-");
                }
                putchar('\n');
        }
        free(line);
        fclose(f);
        if (first) {
                fprintf(stderr, "memwardenctl: no answer from memwardend\n");
                return 1;
        }
        return 0;
}

/* A directory is loaded as memwardend loads it (src/policy-dir.c: each
 * source on its own, the same bounds and symlink rules); files given one by
 * one are checked together. */
static int check_dir(const char *path, PolicyErrors *errors, size_t *n_policies)
{
        PolicyDir *d = NULL;
        PolicySet set = {};
        int r;

        r = policy_dir_new(path, &d);
        if (r < 0)
                return r;
        r = policy_dir_load(d, &set, errors, NULL);
        if (r < 0 && r != -EINVAL && r != -ETIME && r != -E2BIG) /* those say why themselves */
                policy_error(errors, path, 0, 0, "cannot read the policy directory: %s", strerror(-r));
        *n_policies += set.n;
        policy_set_done(&set);
        policy_dir_free(d);
        return r;
}

static int cmd_check(char **paths, int n)
{
        PolicySet set = {};
        PolicyErrors *errors = calloc(1, sizeof(PolicyErrors));
        size_t n_errors, n_policies = 0;

        if (!errors)
                return 1;
        for (int i = 0; i < n; i++) {
                struct stat st;
                if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
                        (void)check_dir(paths[i], errors, &n_policies);
                else
                        (void)policy_load_file(&set, paths[i], arg_namespace, errors);
        }
        (void)policy_set_check_ambiguity(&set, errors);
        n_policies += set.n;
        for (size_t i = 0; i < errors->n; i++)
                fprintf(stderr, "%s\n", errors->msg[i]);
        if (errors->dropped)
                fprintf(stderr, "... and %zu more errors\n", errors->dropped);
        n_errors = errors->n + errors->dropped;
        if (n_errors == 0)
                printf("configuration OK (%zu %s)\n", n_policies, n_policies == 1 ? "policy" : "policies");
        else
                fprintf(stderr, "%zu %s\n", n_errors, n_errors == 1 ? "error" : "errors");
        policy_set_done(&set);
        free(errors);
        return n_errors ? 1 : 0;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "all", no_argument, NULL, 'a' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "namespace", required_argument, NULL, 'n' },
                { "follow", no_argument, NULL, 'f' },
                { "cgroup", required_argument, NULL, 'C' },
                { "pod", required_argument, NULL, 'P' },
                { "policy", required_argument, NULL, 'Y' },
                { "event", required_argument, NULL, 'E' },
                { "report-dir", required_argument, NULL, 'R' },
                {},
        };
        CtlFilter filter = {};
        const char *report_dir = "/var/lib/memwarden/reports";
        bool all = false;
        int c;

        while ((c = getopt_long(argc, argv, "hf", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        arg_socket = optarg;
                        break;
                case 'j':
                        arg_json = true;
                        break;
                case 'a':
                        all = true;
                        break;
                case 'n':
                        arg_namespace = optarg;
                        break;
                case 'f':
                        filter.follow = true;
                        break;
                case 'C':
                        filter.cgroup = optarg;
                        break;
                case 'P':
                        filter.pod = optarg;
                        break;
                case 'Y':
                        filter.policy = optarg;
                        break;
                case 'E':
                        filter.event = optarg;
                        break;
                case 'R':
                        report_dir = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        puts("memwardenctl " MEMWARDEN_VERSION);
                        return 0;
                default:
                        return 2;
                }
        if (optind >= argc) {
                help();
                return 2;
        }
        ctl_json = arg_json;
        if (strcmp(argv[optind], "events") == 0)
                return ctl_events(&filter);
        if (strcmp(argv[optind], "reports") == 0)
                return ctl_reports(report_dir, optind + 1 < argc ? argv[optind + 1] : NULL);
        if (strcmp(argv[optind], "status") == 0)
                return cmd_status(all);
        if (strcmp(argv[optind], "explain") == 0)
                return cmd_explain(optind + 1 < argc ? argv[optind + 1] : NULL);
        if (strcmp(argv[optind], "tree") == 0)
                return ctl_tree(arg_socket, optind + 1 < argc ? argv[optind + 1] : NULL, arg_json);
        if (strcmp(argv[optind], "check") == 0) {
                if (optind + 1 >= argc) {
                        fprintf(stderr, "memwardenctl: check needs at least one file or directory\n");
                        return 2;
                }
                return cmd_check(argv + optind + 1, argc - optind - 1);
        }
        fprintf(stderr, "memwardenctl: unknown command '%s'\n", argv[optind]);
        return 2;
}
