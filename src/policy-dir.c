/* SPDX-License-Identifier: MIT */
/* The policy directory, loaded source by source (include/policy-dir.h). A
 * namespace's directory is hostile input: every walk is bounded, no symlink
 * is followed except kubelet's ConfigMap scheme inside the directory itself,
 * files are opened O_NOFOLLOW|O_NONBLOCK (a FIFO must not block the loop) and
 * read up to a bound. The load as a whole has a budget (bytes, wall time, a
 * cancel flag), checked before each file and each namespace and as bytes are
 * read: past it the load is abandoned where it is (report_abandoned). Each
 * source has a share of it too (share_check): past its share a source stops
 * reading, as an error of its own, and the load goes on. */
#include "policy-dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

struct PolicyDir {
        char *path;
        PolicySource *sources; /* the admin's first (when it has files or a set), then by namespace name */
        size_t n_sources;
        PolicyDirBudget budget;
};

/* One load's use of the budget. */
typedef struct LoadCtx {
        const PolicyDirBudget *b;
        uint64_t start_usec, n_bytes;
        int abandoned;         /* 0, or -ETIME, -E2BIG, -ECANCELED: sticky */
        char at[256];          /* what was to be read next when it was abandoned */
        bool stopped_in_admin; /* ... in the admin's files, else in namespace stop_ns */
        char stop_ns[64];
        uint64_t last_now; /* the clock at the last budget_check */
        uint64_t src_start_usec, src_start_bytes, src_bytes_max, src_usec_max; /* this source's share */
        size_t n_settled;          /* sources of this load settled, in order */
        size_t err_n, err_dropped; /* errors before the source being loaded */
} LoadCtx;

static uint64_t budget_now(const PolicyDirBudget *b)
{
        return b->now_usec ? b->now_usec(b->userdata) : now_usec(CLOCK_MONOTONIC);
}

static int abandon(LoadCtx *c, int why, const char *ns, const char *name)
{
        c->abandoned = why;
        c->stopped_in_admin = !ns;
        snprintf(c->stop_ns, sizeof(c->stop_ns), "%s", ns ? ns : "");
        snprintf(c->at, sizeof(c->at), "%s%s%s", ns ? ns : "", ns && name ? "/" : "", name ? name : "");
        return why;
}

/* 0, or why the load is to be abandoned (the bytes are checked as they are
 * read, load_one). */
static int budget_check(LoadCtx *c, const char *ns, const char *name)
{
        if (c->abandoned)
                return c->abandoned;
        if (c->b->cancel && atomic_load(c->b->cancel))
                return abandon(c, -ECANCELED, ns, name);
        if (c->b->usec_max || c->b->ns_usec_max || c->b->admin_usec_max)
                c->last_now = budget_now(c->b);
        if (c->b->usec_max && c->last_now - c->start_usec >= c->b->usec_max)
                return abandon(c, -ETIME, ns, name);
        return 0;
}

/* A source starts its share of the load: ns NULL is the admin's, which
 * starts with the load. */
static void share_begin(LoadCtx *c, const char *ns)
{
        c->src_start_usec = ns ? c->last_now : c->start_usec;
        c->src_start_bytes = c->n_bytes;
        c->src_bytes_max = ns ? c->b->ns_bytes_max : c->b->admin_bytes_max;
        c->src_usec_max = ns ? c->b->ns_usec_max : c->b->admin_usec_max;
}

bool policy_dir_valid_namespace(const char *s)
{
        size_t len = strlen(s);

        if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

static int strdup_or_null(const char *s, char **ret)
{
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* Keep in step with the heap fields of Policy (policy.c's policy_free_fields). */
int policy_copy(const Policy *p, Policy *ret)
{
        PolicySet tmp = { .n = 1 };
        Policy *c = calloc(1, sizeof(Policy));
        int r = 0;

        if (!c)
                return -ENOMEM;
        *c = *p;
        c->name = c->file = c->scope_namespace = NULL;
        c->match.cgroup = c->match.unit = c->match.namespace = c->match.pod = c->match.container = NULL;
        for (size_t i = 0; i < c->n_actions; i++)
                c->actions[i].webhook = NULL, c->actions[i].argv = NULL;
        tmp.policies = c;
        r |= strdup_or_null(p->name, &c->name);
        r |= strdup_or_null(p->file, &c->file);
        r |= strdup_or_null(p->scope_namespace, &c->scope_namespace);
        r |= strdup_or_null(p->match.cgroup, &c->match.cgroup);
        r |= strdup_or_null(p->match.unit, &c->match.unit);
        r |= strdup_or_null(p->match.namespace, &c->match.namespace);
        r |= strdup_or_null(p->match.pod, &c->match.pod);
        r |= strdup_or_null(p->match.container, &c->match.container);
        for (size_t i = 0; i < c->n_actions && r == 0; i++) {
                const Action *a = &p->actions[i];
                r |= strdup_or_null(a->webhook, &c->actions[i].webhook);
                if (!a->argv)
                        continue;
                c->actions[i].argv = calloc(a->argc + 1, sizeof(char *));
                if (!c->actions[i].argv) {
                        c->actions[i].argc = 0;
                        r = -ENOMEM;
                        break;
                }
                for (size_t k = 0; k < a->argc; k++)
                        r |= strdup_or_null(a->argv[k], &c->actions[i].argv[k]);
        }
        if (r != 0) {
                policy_set_done(&tmp);
                return -ENOMEM;
        }
        *ret = *c;
        free(c);
        return 0;
}

/* Append copies of src's policies. (An admin and a namespace policy never
 * tie: policy_set_lookup ranks the admin's first, policy-match.c.) */
static int set_append_copies(PolicySet *dst, const PolicySet *src)
{
        Policy *np;

        if (src->n == 0)
                return 0;
        np = realloc(dst->policies, (dst->n + src->n) * sizeof(Policy));
        if (!np)
                return -ENOMEM;
        dst->policies = np;
        for (size_t i = 0; i < src->n; i++) {
                if (policy_copy(&src->policies[i], &dst->policies[dst->n]) < 0)
                        return -ENOMEM;
                dst->n++;
        }
        return 0;
}

static size_t n_errors(const PolicyErrors *e)
{
        return e->n + e->dropped;
}

static void note_errors(PolicySource *s, const PolicyErrors *e, size_t before)
{
        s->n_errors = n_errors(e) - before;
        s->first_error[0] = '\0';
        if (s->n_errors == 0)
                return;
        if (before < e->n)
                snprintf(s->first_error, sizeof(s->first_error), "%s", e->msg[before]);
        else
                snprintf(s->first_error, sizeof(s->first_error), "(more errors than can be kept)");
}

/* ---- the walk ---- */

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* The names in the directory at fd, sorted, without dot-entries; at most
 * POLICY_DIR_ENTRIES_MAX are looked at (-E2BIG past that, with what was read). */
static int list_names(int fd, char ***ret, size_t *ret_n)
{
        struct dirent *de;
        char **v = NULL;
        size_t n = 0, seen = 0;
        int dfd, r = 0;
        DIR *d;

        dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return -errno;
        d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }
        rewinddir(d);
        while ((de = readdir(d))) {
                char **nv;
                if (de->d_name[0] == '.')
                        continue;
                if (++seen > POLICY_DIR_ENTRIES_MAX) {
                        r = -E2BIG;
                        break;
                }
                nv = realloc(v, (n + 1) * sizeof(char *));
                if (!nv || !(nv[n] = strdup(de->d_name))) {
                        free_names(nv ? nv : v, n);
                        closedir(d);
                        return -ENOMEM;
                }
                v = nv;
                n++;
        }
        closedir(d);
        if (n)
                qsort(v, n, sizeof(char *), cmp_str);
        *ret = v;
        *ret_n = n;
        return r;
}

static bool is_yaml_name(const char *n)
{
        size_t len = strlen(n);
        return n[0] != '.' && ((len > 5 && strcmp(n + len - 5, ".yaml") == 0) ||
                               (len > 4 && strcmp(n + len - 4, ".yml") == 0));
}

/* kubelet's ConfigMap volume: "..data" is a symlink to "..TIMESTAMP" in the
 * same directory, NAME is a symlink to "..data/NAME". The fd of what
 * "..data" names, or -ENOENT when there is none, or -ELOOP when "..data"
 * points anywhere else. */
static int open_data_dir(int dfd)
{
        char target[256];
        ssize_t n;
        int fd;

        n = readlinkat(dfd, "..data", target, sizeof(target) - 1);
        if (n < 0 && errno == EINVAL) /* a plain directory */
                fd = openat(dfd, "..data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        else if (n < 0)
                return -errno;
        else {
                target[n] = '\0';
                if (strncmp(target, "..", 2) != 0 || strchr(target, '/') || strcmp(target, "..") == 0 ||
                    strcmp(target, "..data") == 0)
                        return -ELOOP;
                fd = openat(dfd, target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        return fd < 0 ? -errno : fd;
}

typedef struct Walk {
        int dfd;         /* the source's directory */
        int data_fd;     /* its "..data", once asked for; -1 none */
        bool data_tried; /* whether data_fd was looked up */
        const char *dir; /* its path, for messages */
        const char *ns;  /* NULL: the admin's */
        PolicyErrors *errors;
        LoadCtx *ctx;
        bool source_error; /* an error of the source as a whole: a bound, a tie */
        bool over_share;   /* past its share of the load: read no more */
} Walk;

/* The source has used up its share of the load (bytes, or time at the
 * check before file name): it reads no more, and that is its own error. */
static int share_exceeded(Walk *w, const char *name, bool bytes)
{
        char bound[64];

        if (bytes)
                snprintf(bound, sizeof(bound), "%" PRIu64 " bytes", w->ctx->src_bytes_max);
        else
                snprintf(bound, sizeof(bound), "%" PRIu64 " ms", w->ctx->src_usec_max / 1000);
        policy_error(w->errors, w->dir, 0, 0,
                     "past %s share of a load (%s): '%s' and the files after it are not read",
                     w->ns ? "a namespace's" : "the admin's", bound, name);
        w->source_error = w->over_share = true;
        return bytes ? -E2BIG : -ETIME;
}

static int share_check(Walk *w, const char *name)
{
        const LoadCtx *c = w->ctx;

        if (c->src_usec_max && c->last_now - c->src_start_usec >= c->src_usec_max)
                return share_exceeded(w, name, false);
        return 0;
}

/* Open NAME in the source's directory: a regular file there, or kubelet's
 * link to "..data/NAME". Anything else is refused, with the reason in *why. */
static int open_policy_file(Walk *w, const char *name, const char **why)
{
        char target[512], want[512];
        struct stat st;
        ssize_t n;
        int fd, dfd = w->dfd;

        if (fstatat(w->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return *why = "cannot read", -errno;
        if (S_ISLNK(st.st_mode)) {
                n = readlinkat(w->dfd, name, target, sizeof(target) - 1);
                if (n < 0)
                        return *why = "cannot read the link", -errno;
                target[n] = '\0';
                snprintf(want, sizeof(want), "..data/%s", name);
                if (strcmp(target, want) != 0)
                        return *why = "a symlink that is not kubelet's '..data/NAME': not followed", -ELOOP;
                if (!w->data_tried) {
                        w->data_tried = true;
                        w->data_fd = open_data_dir(w->dfd);
                }
                if (w->data_fd < 0)
                        return *why = "'..data' is missing or not kubelet's '..TIMESTAMP' link", -ELOOP;
                dfd = w->data_fd;
        } else if (!S_ISREG(st.st_mode))
                return *why = "not a regular file", -EINVAL;
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return *why = errno == ELOOP ? "a symlink inside '..data': not followed" : "cannot open",
                       -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return *why = "not a regular file", -EINVAL;
        }
        return fd;
}

/* Read at most max bytes; -EFBIG if there is more. *n_read: what was read
 * (at most max + 1), also on error. */
static int read_bounded(int fd, size_t max, char **ret, size_t *ret_len, size_t *n_read)
{
        _cleanup_free_ char *buf = malloc(max + 2);
        size_t len = 0;

        *n_read = 0;
        if (!buf)
                return -ENOMEM;
        while (len <= max) {
                ssize_t n = read(fd, buf + len, max + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
                *n_read = len;
        }
        if (len > max)
                return -EFBIG;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int load_one(Walk *w, const char *name, PolicySet *set)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        const char *why = NULL;
        char path[4096];
        LoadCtx *c = w->ctx;
        size_t len = 0, n_read = 0, max = POLICY_DIR_FILE_MAX;
        bool budget_bound = false, share_bound = false;
        uint64_t used = c->n_bytes - c->src_start_bytes;
        int r;

        if (c->src_bytes_max && c->src_bytes_max - used < max) {
                max = (size_t)(c->src_bytes_max - used);
                share_bound = true;
        }
        /* At a tie with the source's share it is the load that stops. */
        if (c->b->bytes_max &&
            (c->b->bytes_max - c->n_bytes < max || (share_bound && c->b->bytes_max - c->n_bytes == max))) {
                max = (size_t)(c->b->bytes_max - c->n_bytes);
                budget_bound = true;
                share_bound = false;
        }
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", w->dir, name) >= sizeof(path))
                return policy_error(w->errors, w->dir, 0, 0, "a file name too long"), -ENAMETOOLONG;
        fd = open_policy_file(w, name, &why);
        if (fd < 0) {
                policy_error(w->errors, path, 0, 0, "%s (%s)", why, strerror(-fd));
                return fd;
        }
        r = read_bounded(fd, max, &text, &len, &n_read);
        c->n_bytes += n_read;
        if (r == -EFBIG && budget_bound)
                return abandon(c, -E2BIG, w->ns, name);
        if (r == -EFBIG && share_bound)
                return share_exceeded(w, name, true);
        if (r == -EFBIG)
                policy_error(w->errors, path, 0, 0, "larger than %d KiB", POLICY_DIR_FILE_MAX / 1024);
        else if (r < 0)
                policy_error(w->errors, path, 0, 0, "cannot read (%s)", strerror(-r));
        if (r < 0)
                return r;
        return policy_load_buffer(set, path, text, len, w->ns, w->errors);
}

/* Parse a source's files into *set: bounded count, each on its own (a file
 * with errors adds nothing), then precedence within the source. A bound of
 * the source as a whole, or a tie, marks w->source_error. */
static void load_files(Walk *w, char **names, size_t n, PolicySet *set)
{
        size_t n_files = 0, before;

        for (size_t i = 0; i < n && !w->over_share; i++) {
                if (!is_yaml_name(names[i]))
                        continue;
                if (budget_check(w->ctx, w->ns, names[i]) < 0)
                        return;
                if (share_check(w, names[i]) < 0)
                        break;
                if (++n_files > POLICY_DIR_FILES_MAX) {
                        policy_error(w->errors, w->dir, 0, 0,
                                     "more than %d policy files: '%s' and the rest are not read",
                                     POLICY_DIR_FILES_MAX, names[i]);
                        w->source_error = true;
                        break;
                }
                (void)load_one(w, names[i], set);
        }
        if (w->over_share) /* a part of the source: its count and ties say nothing */
                return;
        if (w->ns && set->n > POLICY_DIR_POLICIES_MAX) {
                policy_error(w->errors, w->dir, 0, 0, "%zu policies: a namespace may have at most %d",
                             set->n, POLICY_DIR_POLICIES_MAX);
                w->source_error = true;
        }
        before = n_errors(w->errors);
        (void)policy_set_check_ambiguity(set, w->errors);
        if (n_errors(w->errors) != before)
                w->source_error = true;
}

/* ---- sources ---- */

static void source_done(PolicySource *s)
{
        free(s->namespace);
        policy_set_done(&s->set);
        *s = (PolicySource){};
}

static PolicySource *old_source(PolicyDir *d, const char *ns)
{
        for (size_t i = 0; i < d->n_sources; i++)
                if ((!ns && !d->sources[i].namespace) ||
                    (ns && d->sources[i].namespace && strcmp(ns, d->sources[i].namespace) == 0))
                        return &d->sources[i];
        return NULL;
}

/* Decide what a source has in force after this load: its new set if it had
 * no error, else its last good one. With none (a first load, a new
 * namespace): its valid files when every error was a single file's, else
 * nothing, so that a set over a bound of the source or with a tie is never
 * in force nor kept as the last good one. The old state is only read, so
 * that a failure leaves it whole. */
static int source_settle(PolicyDir *d, PolicySource *s, PolicySet *cand, bool source_error,
                         PolicyErrors *errors, size_t before)
{
        const PolicySource *old = old_source(d, s->namespace);
        PolicySet kept = {};
        int r;

        if (n_errors(errors) == before) {
                s->set = *cand;
                *cand = (PolicySet){};
                note_errors(s, errors, before);
                return 0;
        }
        s->failed = true;
        if (old)
                r = set_append_copies(&kept, &old->set);
        else if (!source_error)
                r = set_append_copies(&kept, cand);
        else
                r = 0;
        policy_set_done(cand);
        if (r < 0) {
                policy_set_done(&kept);
                return r;
        }
        s->set = kept;
        note_errors(s, errors, before);
        return 0;
}

static void walk_done(Walk *w)
{
        w->dfd = safe_close(w->dfd);
        w->data_fd = safe_close(w->data_fd);
}

static void list_error(Walk *w, int r)
{
        if (r == -E2BIG)
                w->source_error = true;
        if (r == -E2BIG)
                policy_error(w->errors, w->dir, 0, 0, "more than %d entries: the rest are not read",
                             POLICY_DIR_ENTRIES_MAX);
        else if (r < 0)
                policy_error(w->errors, w->dir, 0, 0, "cannot read the directory (%s)", strerror(-r));
}

/* A namespace's directory in kubelet's projected volume (one volume for the
 * admin's ConfigMap and each namespace's, as the DaemonSet mounts them): NS
 * at the top is a link to "..data/NS", and "..data" is kubelet's link to
 * "..TIMESTAMP" beside it. The fd of that directory, or -ELOOP for any other
 * symlink; nothing inside it is followed. */
static int open_projected_namespace(int top_fd, const char *ns)
{
        char target[64 + 16], want[64 + 16];
        _cleanup_close_ int data_fd = -1;
        ssize_t n;
        int fd;

        n = readlinkat(top_fd, ns, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        snprintf(want, sizeof(want), "..data/%s", ns);
        if (strcmp(target, want) != 0)
                return -ELOOP;
        data_fd = open_data_dir(top_fd);
        if (data_fd < 0)
                return -ELOOP;
        fd = openat(data_fd, ns, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* One namespace's directory: a real directory at the top, or kubelet's
 * projected "NS -> ..data/NS"; any other symlink is refused. */
static int load_namespace(PolicyDir *d, LoadCtx *ctx, int top_fd, const char *ns, PolicySource *s,
                          PolicyErrors *errors)
{
        char dir[4096];
        Walk w = { .dfd = -1, .data_fd = -1, .dir = dir, .ns = ns, .errors = errors, .ctx = ctx };
        PolicySet cand = {};
        size_t before = n_errors(errors), n = 0;
        char **names = NULL;
        int r;

        s->namespace = strdup(ns);
        if (!s->namespace)
                return -ENOMEM;
        snprintf(dir, sizeof(dir), "%s/%s", d->path, s->namespace);
        share_begin(ctx, ns);
        w.dfd = openat(top_fd, ns, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (w.dfd < 0 && (errno == ELOOP || errno == ENOTDIR))
                w.dfd = open_projected_namespace(top_fd, ns);
        else if (w.dfd < 0)
                w.dfd = -errno;
        if (w.dfd == -ELOOP || w.dfd == -ENOTDIR || w.dfd == -EINVAL)
                policy_error(errors, dir, 0, 0,
                             "a symlink that is not kubelet's '..data/%s': not followed (a namespace's "
                             "policies are a directory in '%s')",
                             ns, d->path);
        else if (w.dfd < 0)
                policy_error(errors, dir, 0, 0, "cannot open (%s)", strerror(-w.dfd));
        else {
                r = list_names(w.dfd, &names, &n);
                if (r == -ENOMEM) {
                        walk_done(&w);
                        return r;
                }
                list_error(&w, r);
                load_files(&w, names, n, &cand);
                free_names(names, n);
        }
        walk_done(&w);
        r = ctx->abandoned ?: source_settle(d, s, &cand, w.source_error, errors, before);
        policy_set_done(&cand);
        return r;
}

static int load_admin(PolicyDir *d, LoadCtx *ctx, int top_fd, char **names, size_t n, int list_r,
                      PolicySource *s, PolicyErrors *errors)
{
        Walk w = { .dfd = -1, .data_fd = -1, .dir = d->path, .errors = errors, .ctx = ctx };
        PolicySet cand = {};
        size_t before = n_errors(errors);
        int r;

        w.dfd = fcntl(top_fd, F_DUPFD_CLOEXEC, 3);
        if (w.dfd < 0)
                return -errno;
        share_begin(ctx, NULL);
        list_error(&w, list_r);
        load_files(&w, names, n, &cand);
        walk_done(&w);
        r = ctx->abandoned ?: source_settle(d, s, &cand, w.source_error, errors, before);
        policy_set_done(&cand);
        return r;
}

/* Which top-level entries are namespaces: directories with a namespace's
 * name, and symlinks with one (refused when loaded). Files are the admin's. */
static bool is_namespace_entry(int top_fd, const char *name)
{
        struct stat st;

        if (is_yaml_name(name) || !policy_dir_valid_namespace(name))
                return false;
        if (fstatat(top_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return false;
        return S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode);
}

static void sources_free(PolicySource *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                source_done(&v[i]);
        free(v);
}

static int merge(const PolicySource *v, size_t n, PolicySet *ret)
{
        PolicySet set = {};

        for (size_t i = 0; i < n; i++)
                if (set_append_copies(&set, &v[i].set) < 0) {
                        policy_set_done(&set);
                        return -ENOMEM;
                }
        *ret = set;
        return 0;
}

static int load_sources(PolicyDir *d, LoadCtx *ctx, int top_fd, PolicySource *v, size_t *n_v,
                        PolicyErrors *errors, PolicyDirStats *st)
{
        char **names = NULL;
        size_t n = 0, n_ns = 0;
        int list_r, r;

        list_r = list_names(top_fd, &names, &n);
        if (list_r == -ENOMEM)
                return list_r;
        r = load_admin(d, ctx, top_fd, names, n, list_r, &v[0], errors);
        *n_v = 1;
        if (r >= 0)
                ctx->n_settled = 1;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (!is_namespace_entry(top_fd, names[i]))
                        continue;
                if (n_ns >= POLICY_DIR_NAMESPACES_MAX) {
                        if (st->n_ns_ignored++ == 0)
                                policy_error(errors, d->path, 0, 0,
                                             "more than %d namespaces: '%s' and later ones are not loaded",
                                             POLICY_DIR_NAMESPACES_MAX, names[i]);
                        continue;
                }
                ctx->err_n = errors->n;
                ctx->err_dropped = errors->dropped;
                r = budget_check(ctx, names[i], NULL);
                if (r < 0)
                        break;
                r = load_namespace(d, ctx, top_fd, names[i], &v[1 + n_ns], errors);
                *n_v = 1 + ++n_ns;
                if (r >= 0)
                        ctx->n_settled = *n_v;
        }
        free_names(names, n);
        return r;
}

/* An abandoned load: the sources it settled (the admin's first, then
 * namespaces in name order) take their new sets; the one it stopped in and
 * those after it keep theirs, so that a namespace's files cannot hold back
 * the sources before it (the admin's above all). The errors of the source it
 * stopped in are dropped for one that says why and where. */
static void report_abandoned(const PolicyDir *d, const LoadCtx *c, PolicyErrors *errors, uint64_t usec)
{
        char why[64], keep[160];

        if (c->abandoned == -ETIME)
                snprintf(why, sizeof(why), "the bound is %" PRIu64 " ms", c->b->usec_max / 1000);
        else if (c->abandoned == -E2BIG)
                snprintf(why, sizeof(why), "the bound is %" PRIu64 " bytes", c->b->bytes_max);
        else
                snprintf(why, sizeof(why), "cancelled");
        if (c->stopped_in_admin)
                snprintf(keep, sizeof(keep), "every source keeps the policies it had in force");
        else
                snprintf(keep, sizeof(keep),
                         "'%s' and the namespaces after it keep the policies they had in force", c->stop_ns);
        errors->n = c->err_n;
        errors->dropped = c->err_dropped;
        if (errors->n == POLICY_ERRORS_MAX) { /* this one must be kept: it says what is in force */
                errors->n--;
                errors->dropped++;
        }
        policy_error(errors, d->path, 0, 0,
                     "reload abandoned after %" PRIu64 ".%03" PRIu64 " s / %" PRIu64
                     " bytes (%s), at '%s': %s",
                     usec / 1000000, usec / 1000 % 1000, c->n_bytes, why, c->at, keep);
}

/* Drop the source the load stopped in; move the previous load's sources
 * it did not reach (by name order) after the ones it settled. */
static void keep_unreached(PolicyDir *d, const LoadCtx *c, PolicySource *v, size_t *n_v)
{
        for (size_t i = c->n_settled; i < *n_v; i++)
                source_done(&v[i]);
        *n_v = c->n_settled;
        for (size_t i = 0; i < d->n_sources && *n_v < 1 + POLICY_DIR_NAMESPACES_MAX; i++) {
                PolicySource *o = &d->sources[i];
                bool reached =
                        !c->stopped_in_admin && (!o->namespace || strcmp(o->namespace, c->stop_ns) < 0);
                if (!reached) {
                        v[(*n_v)++] = *o;
                        *o = (PolicySource){};
                }
        }
}

static void fill_stats(const PolicySource *v, size_t n_v, PolicyDirStats *st)
{
        st->n_sources = n_v;
        for (size_t i = 0; i < n_v; i++)
                st->n_failed += v[i].failed;
}

int policy_dir_load(PolicyDir *d, PolicySet *ret, PolicyErrors *errors, PolicyDirStats *ret_stats)
{
        PolicyDirStats st = {};
        PolicySource *v;
        size_t n_v = 0, before = n_errors(errors);
        PolicySet merged = {};
        LoadCtx ctx = { .b = &d->budget, .err_n = errors->n, .err_dropped = errors->dropped };
        int top_fd, r, m;

        ctx.start_usec = budget_now(&d->budget);
        top_fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (top_fd < 0 && errno == ENOENT) {
                if (ret_stats)
                        *ret_stats = (PolicyDirStats){ .missing = true };
                if (d->n_sources == 0) {
                        *ret = (PolicySet){};
                        return 0; /* never there: no policies */
                }
                /* Gone after it was loaded (deleted, being replaced): nothing that is in
                 * force is lost to it; an empty directory is how to have no policies. */
                r = merge(d->sources, d->n_sources, &merged);
                if (r < 0)
                        return r;
                policy_error(errors, d->path, 0, 0,
                             "the policy directory is gone: every source keeps the policies it had in "
                             "force (an empty directory has none)");
                *ret = merged;
                return -EINVAL;
        }
        if (top_fd < 0)
                return -errno;
        v = calloc(1 + POLICY_DIR_NAMESPACES_MAX, sizeof(PolicySource));
        if (!v) {
                close(top_fd);
                return -ENOMEM;
        }
        r = load_sources(d, &ctx, top_fd, v, &n_v, errors, &st);
        close(top_fd);
        st.n_bytes = ctx.n_bytes;
        st.usec = budget_now(&d->budget) - ctx.start_usec;
        if (ctx.abandoned) {
                keep_unreached(d, &ctx, v, &n_v);
                report_abandoned(d, &ctx, errors, st.usec);
                r = ctx.abandoned;
        }
        if (r < 0 && !ctx.abandoned) {
                sources_free(v, n_v);
                return r;
        }
        m = merge(v, n_v, &merged);
        if (m < 0 && !ctx.abandoned) {
                sources_free(v, n_v);
                return m;
        }
        /* After an abandoned load, v holds what the old state had not reached: v is the state. */
        sources_free(d->sources, d->n_sources);
        d->sources = v;
        d->n_sources = n_v;
        if (m < 0)
                return m;
        fill_stats(v, n_v, &st);
        st.n_errors = n_errors(errors) - before;
        if (ret_stats)
                *ret_stats = st;
        *ret = merged;
        return ctx.abandoned ?: st.n_errors ? -EINVAL : 0;
}

int policy_dir_new(const char *path, PolicyDir **ret)
{
        PolicyDir *d = calloc(1, sizeof(PolicyDir));

        if (!d)
                return -ENOMEM;
        d->budget = POLICY_DIR_BUDGET_DEFAULT;
        d->path = strdup(path);
        if (!d->path) {
                free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

void policy_dir_set_budget(PolicyDir *d, const PolicyDirBudget *b)
{
        d->budget = *b;
}

PolicyDir *policy_dir_free(PolicyDir *d)
{
        if (!d)
                return NULL;
        sources_free(d->sources, d->n_sources);
        free(d->path);
        free(d);
        return NULL;
}

void policy_dir_freep(PolicyDir **d)
{
        *d = policy_dir_free(*d);
}

size_t policy_dir_n_sources(const PolicyDir *d)
{
        return d->n_sources;
}

const PolicySource *policy_dir_source(const PolicyDir *d, size_t i)
{
        return i < d->n_sources ? &d->sources[i] : NULL;
}
