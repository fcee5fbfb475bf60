/* SPDX-License-Identifier: MIT */
/* Policies, the parse half: YAML text to libyaml's nodes (line and column
 * kept) within the bounds of policy-internal.h, the helpers that read nodes
 * as keys and typed values, and the files and directories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse.h"
#include "policy-internal.h"

#define POLICY_FILE_MAX (256 * 1024) /* the daemon's bound too (POLICY_DIR_FILE_MAX) */

int policy_names_lookup(const char *const *names, int n, const char *s)
{
        for (int i = 0; i < n; i++)
                if (names[i] && strcmp(names[i], s) == 0)
                        return i;
        return -EINVAL;
}

_printf_(5, 0) static void error_v(PolicyErrors *e, const char *file, unsigned line, unsigned column,
                                   const char *fmt, va_list ap)
{
        int n;

        if (e->n >= POLICY_ERRORS_MAX) {
                e->dropped++;
                return;
        }
        n = snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s:%u:%u: ", file, line, column);
        vsnprintf(e->msg[e->n] + n, sizeof(e->msg[0]) - (size_t)n, fmt, ap);
        e->n++;
}

void policy_error(PolicyErrors *e, const char *file, unsigned line, unsigned column, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        error_v(e, file, line, column, fmt, ap);
        va_end(ap);
}

void policy_ctx_error(Ctx *c, unsigned line, unsigned column, const char *fmt, ...)
{
        va_list ap;

        c->n_errors++;
        va_start(ap, fmt);
        error_v(c->errors, c->file, line, column, fmt, ap);
        va_end(ap);
}

yaml_node_t *policy_node_get(Ctx *c, int id)
{
        return yaml_document_get_node(c->doc, id);
}

const char *policy_node_scalar(Ctx *c, yaml_node_t *n, const char *what)
{
        if (n->type != YAML_SCALAR_NODE) {
                error_node(c, n, "%s must be a single value", what);
                return NULL;
        }
        if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
                error_node(c, n, "%s contains a NUL byte", what);
                return NULL;
        }
        return (const char *)n->data.scalar.value;
}

bool policy_node_is_map(Ctx *c, yaml_node_t *n, const char *what)
{
        if (n->type == YAML_MAPPING_NODE)
                return true;
        error_node(c, n, "%s must be a mapping (key: value)", what);
        return false;
}

bool policy_node_is_seq(Ctx *c, yaml_node_t *n, const char *what)
{
        if (n->type == YAML_SEQUENCE_NODE)
                return true;
        error_node(c, n, "%s must be a list", what);
        return false;
}

typedef struct KeyRef {
        const char *key;
        size_t index;
} KeyRef;

static int keyref_cmp(const void *a, const void *b)
{
        const KeyRef *x = a, *y = b;
        int r = strcmp(x->key, y->key);

        return r != 0 ? r : x->index < y->index ? -1 : x->index > y->index;
}

/* Repeated keys are found by sorting (key, position): a key is repeated if
 * it equals the one before it in that order. n is bounded (the bounds check
 * refuses bigger mappings before any document is built). */
void policy_node_each_key(Ctx *c, yaml_node_t *map, const char *what, KeyFunc f, void *userdata)
{
        yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
        size_t n = (size_t)(map->data.mapping.pairs.top - pairs), n_refs = 0;
        KeyRef refs[POLICY_MAP_KEYS_MAX];
        bool repeated[POLICY_MAP_KEYS_MAX] = { false };

        if (n > POLICY_MAP_KEYS_MAX) {
                error_node(c, map, "more than %d keys in %s", POLICY_MAP_KEYS_MAX, what);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                yaml_node_t *k = policy_node_get(c, pairs[i].key);
                if (k && k->type == YAML_SCALAR_NODE)
                        refs[n_refs++] = (KeyRef){ .key = (const char *)k->data.scalar.value, .index = i };
        }
        if (n_refs > 1)
                qsort(refs, n_refs, sizeof(KeyRef), keyref_cmp);
        for (size_t i = 1; i < n_refs; i++)
                if (strcmp(refs[i].key, refs[i - 1].key) == 0)
                        repeated[refs[i].index] = true;
        for (size_t i = 0; i < n; i++) {
                yaml_node_t *k = policy_node_get(c, pairs[i].key), *v = policy_node_get(c, pairs[i].value);
                const char *key;

                if (!k || !v || !(key = policy_node_scalar(c, k, "a key")))
                        continue;
                if (repeated[i])
                        error_node(c, k, "'%s' is given twice in %s", key, what);
                else
                        f(c, key, k, v, userdata);
        }
}

void policy_node_unknown_key(Ctx *c, yaml_node_t *k, const char *key, const char *what, const char *expected)
{
        error_node(c, k, "unknown key '%s' in %s (expected one of: %s)", key, what, expected);
}

bool policy_node_duration(Ctx *c, yaml_node_t *v, const char *what, uint64_t min_usec, uint64_t max_usec,
                          uint64_t *ret)
{
        const char *s = policy_node_scalar(c, v, what);
        uint64_t u;

        if (!s)
                return false;
        if (parse_duration(s, &u) < 0) {
                error_node(c, v, "%s: '%s' is not a duration (e.g. 500ms, 10s, 5m, 1h)", what, s);
                return false;
        }
        if (u < min_usec || u > max_usec) {
                error_node(c, v, "%s: %s is out of range (%llu ms to %llu s)", what, s,
                           (unsigned long long)(min_usec / 1000), (unsigned long long)(max_usec / 1000000));
                return false;
        }
        *ret = u;
        return true;
}

bool policy_node_size(Ctx *c, yaml_node_t *v, const char *what, uint64_t *ret)
{
        const char *s = policy_node_scalar(c, v, what);

        if (!s)
                return false;
        if (parse_size(s, ret) < 0 || *ret == 0) {
                error_node(c, v, "%s: '%s' is not a size (e.g. 128Mi, 2Gi, 500M)", what, s);
                return false;
        }
        return true;
}

/* "12%", "12.5%", "12.34%" -> basis points, 0 < x <= 100%. */
bool policy_node_percent(Ctx *c, yaml_node_t *v, const char *what, uint32_t *ret)
{
        const char *s = policy_node_scalar(c, v, what), *dot;
        size_t len;
        uint64_t ip = 0, fp = 0;
        bool ok;

        if (!s)
                return false;
        len = strlen(s);
        ok = len >= 2 && s[len - 1] == '%';
        if (ok) {
                len--;
                dot = memchr(s, '.', len);
                size_t il = dot ? (size_t)(dot - s) : len, fl = dot ? len - il - 1 : 0;
                ok = parse_u64_n(s, il, &ip) == 0 &&
                     (!dot || (fl >= 1 && fl <= 2 && parse_u64_n(dot + 1, fl, &fp) == 0));
                if (ok && fl == 1)
                        fp *= 10;
        }
        if (!ok || ip > 100 || (ip == 100 && fp > 0) || (ip == 0 && fp == 0)) {
                error_node(c, v, "%s: '%s' is not a percentage above 0%% and at most 100%% (e.g. 20%%)",
                           what, s);
                return false;
        }
        *ret = (uint32_t)(ip * 100 + fp);
        return true;
}

bool policy_node_bool(Ctx *c, yaml_node_t *v, const char *what, bool *ret)
{
        const char *s = policy_node_scalar(c, v, what);

        if (!s)
                return false;
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
                *ret = s[0] == 't';
                return true;
        }
        error_node(c, v, "%s: expected true or false, got '%s'", what, s);
        return false;
}

char *policy_node_string(Ctx *c, yaml_node_t *v, const char *what)
{
        const char *s = policy_node_scalar(c, v, what);

        if (!s)
                return NULL;
        if (s[0] == '\0' || strlen(s) > 1024) {
                error_node(c, v, "%s must be 1 to 1024 characters", what);
                return NULL;
        }
        return strdup(s);
}

bool policy_name_valid(const char *s)
{
        size_t len = strlen(s);

        if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

/* ---- bounds, on the event stream ---- */

typedef struct Bounds {
        struct {
                bool map;
                unsigned n;            /* nodes in it so far (a mapping's keys and values) */
        } level[POLICY_DEPTH_MAX + 1]; /* [0]: the document */
        unsigned depth, n_documents, n_nodes;
} Bounds;

/* One more node at ev's place: counted in its document and its parent. */
static int bounds_node(Ctx *c, Bounds *b, const yaml_event_t *ev)
{
        unsigned line = (unsigned)ev->start_mark.line + 1, column = (unsigned)ev->start_mark.column + 1;
        bool start = ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT;
        typeof(b->level[0]) *parent = &b->level[b->depth];

        if (++b->n_nodes > POLICY_NODES_MAX) {
                policy_ctx_error(c, line, column, "more than %d YAML nodes in one document",
                                 POLICY_NODES_MAX);
                return -EINVAL;
        }
        parent->n++;
        if (b->depth > 0 && parent->map && parent->n > 2 * POLICY_MAP_KEYS_MAX) {
                policy_ctx_error(c, line, column, "more than %d keys in one mapping", POLICY_MAP_KEYS_MAX);
                return -EINVAL;
        }
        if (b->depth > 0 && !parent->map && parent->n > POLICY_SEQ_ITEMS_MAX) {
                policy_ctx_error(c, line, column, "more than %d items in one list", POLICY_SEQ_ITEMS_MAX);
                return -EINVAL;
        }
        if (!start)
                return 0;
        if (b->depth >= POLICY_DEPTH_MAX) {
                policy_ctx_error(c, line, column, "nested more than %d deep", POLICY_DEPTH_MAX);
                return -EINVAL;
        }
        b->depth++;
        b->level[b->depth].map = ev->type == YAML_MAPPING_START_EVENT;
        b->level[b->depth].n = 0;
        return 0;
}

static int bounds_event(Ctx *c, Bounds *b, const yaml_event_t *ev)
{
        switch (ev->type) {
        case YAML_DOCUMENT_START_EVENT:
                if (++b->n_documents > POLICY_DOCUMENTS_MAX) {
                        policy_ctx_error(
                                c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                                "more than %d documents (policies) in one file", POLICY_DOCUMENTS_MAX);
                        return -EINVAL;
                }
                b->depth = b->n_nodes = 0;
                b->level[0].n = 0;
                return 0;
        case YAML_SCALAR_EVENT:
        case YAML_ALIAS_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
                return bounds_node(c, b, ev);
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
                if (b->depth > 0)
                        b->depth--;
                return 0;
        default:
                return 0;
        }
}

/* libyaml's document API builds a whole document before it returns, with no
 * way to bound it, so the bounds are checked on a first pass over the events,
 * which stops at the first node out of bounds: only a bounded prefix of the
 * input is ever scanned. A YAML error ends the pass without a word: the
 * loader reports it, after the documents before it. */
static int check_bounds(Ctx *c, const char *text, size_t len)
{
        yaml_parser_t parser;
        Bounds b = {};
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
        for (bool end = false; !end && r == 0;) {
                yaml_event_t ev;

                if (!yaml_parser_parse(&parser, &ev))
                        break;
                r = bounds_event(c, &b, &ev);
                end = ev.type == YAML_STREAM_END_EVENT;
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&parser);
        return r;
}

int policy_parse_documents(Ctx *c, const char *text, size_t len, DocumentFunc f, void *userdata)
{
        yaml_parser_t parser;
        int r;

        r = check_bounds(c, text, len);
        if (r < 0)
                return r;
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
        for (;;) {
                yaml_document_t doc;
                yaml_node_t *root;

                if (!yaml_parser_load(&parser, &doc)) {
                        policy_ctx_error(c, (unsigned)parser.problem_mark.line + 1,
                                         (unsigned)parser.problem_mark.column + 1, "YAML: %s%s%s",
                                         parser.problem ? parser.problem : "syntax error",
                                         parser.context ? " " : "", parser.context ? parser.context : "");
                        r = -EINVAL;
                        break;
                }
                root = yaml_document_get_root_node(&doc);
                if (root) {
                        c->doc = &doc;
                        r = f(c, root, userdata);
                        c->doc = NULL;
                }
                yaml_document_delete(&doc);
                if (!root || r < 0)
                        break;
        }
        yaml_parser_delete(&parser);
        return r;
}

/* ---- files ---- */

int policy_load_file(PolicySet *set, const char *path, const char *scope_ns, PolicyErrors *errors)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0) {
                int r = -errno;
                Ctx c = { .file = path, .errors = errors };
                policy_ctx_error(&c, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode) || st.st_size > POLICY_FILE_MAX) {
                Ctx c = { .file = path, .errors = errors };
                policy_ctx_error(&c, 0, 0, "not a regular file of at most 256 KiB");
                return -EINVAL;
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        return policy_load_buffer(set, path, buf, len, scope_ns, errors);
}

static bool is_yaml_name(const char *n)
{
        size_t len = strlen(n);
        return n[0] != '.' && ((len > 5 && strcmp(n + len - 5, ".yaml") == 0) ||
                               (len > 4 && strcmp(n + len - 4, ".yml") == 0));
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir, sorted (a deterministic load order), skipping dot-entries. */
static int list_dir(const char *dir, char ***ret, size_t *ret_n)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char **v = NULL;
        size_t n = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char **nv;
                if (de->d_name[0] == '.')
                        continue;
                nv = realloc(v, (n + 1) * sizeof(char *));
                if (!nv || !(nv[n] = strdup(de->d_name))) {
                        free(nv ? nv : v);
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
        return 0;
}

static void free_list(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

int policy_load_dir(PolicySet *set, const char *dir, PolicyErrors *errors)
{
        char **top = NULL, path[4096];
        size_t n_top = 0;
        int r, ret = 0;

        r = list_dir(dir, &top, &n_top);
        if (r < 0) {
                Ctx c = { .file = dir, .errors = errors };
                policy_ctx_error(&c, 0, 0, "cannot read the policy directory: %s", strerror(-r));
                return r;
        }
        for (size_t i = 0; i < n_top; i++) {
                struct stat st;
                snprintf(path, sizeof(path), "%s/%s", dir, top[i]);
                if (stat(path, &st) < 0)
                        continue;
                if (S_ISREG(st.st_mode) && is_yaml_name(top[i])) {
                        r = policy_load_file(set, path, NULL, errors);
                } else if (S_ISDIR(st.st_mode) && policy_name_valid(top[i])) {
                        char **sub = NULL, sub_path[8192];
                        size_t n_sub = 0;
                        r = list_dir(path, &sub, &n_sub);
                        for (size_t j = 0; r >= 0 && j < n_sub; j++) {
                                if ((size_t)snprintf(sub_path, sizeof(sub_path), "%s/%s", path, sub[j]) >=
                                    sizeof(sub_path))
                                        continue;
                                if (is_yaml_name(sub[j]) && stat(sub_path, &st) == 0 &&
                                    S_ISREG(st.st_mode)) {
                                        int k = policy_load_file(set, sub_path, top[i], errors);
                                        if (k < 0 && ret == 0)
                                                ret = k;
                                }
                        }
                        free_list(sub, n_sub);
                } else
                        continue;
                if (r < 0 && ret == 0)
                        ret = r;
        }
        free_list(top, n_top);
        return ret;
}
