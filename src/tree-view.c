/* SPDX-License-Identifier: MIT */
/* memwardenctl tree (include/tree-view.h): answers in, a table or JSON out. */
#include "tree-view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "macro.h"

void tree_done(Tree *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->v[i].path);
        free(t->v);
        *t = (Tree){};
}

/* The raw value of a top-level key of one JSON object (strings with their
 * quotes), or NULL. Strings are skipped with their escapes, containers by
 * depth; a line cut short just ends the search. */
static const char *jfind(const char *s, size_t len, const char *key, size_t *ret_len)
{
        size_t kl = strlen(key);
        int depth = 0;

        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"') {
                        size_t start = ++i;
                        for (; i < len && s[i] != '"'; i++)
                                if (s[i] == '\\')
                                        i++;
                        if (i >= len)
                                return NULL;
                        if (depth != 1 || i + 1 >= len || s[i + 1] != ':' || i - start != kl ||
                            memcmp(s + start, key, kl) != 0)
                                continue;
                        size_t v = i + 2, e = v;
                        int d = 0;
                        for (; e < len; e++) {
                                if (s[e] == '"') {
                                        for (e++; e < len && s[e] != '"'; e++)
                                                if (s[e] == '\\')
                                                        e++;
                                } else if (s[e] == '{' || s[e] == '[')
                                        d++;
                                else if ((s[e] == '}' || s[e] == ']') && d-- == 0)
                                        break;
                                else if (s[e] == ',' && d == 0)
                                        break;
                        }
                        if (e > len)
                                return NULL;
                        *ret_len = e - v;
                        return s + v;
                }
                if (s[i] == '{' || s[i] == '[')
                        depth++;
                else if (s[i] == '}' || s[i] == ']')
                        depth--;
        }
        return NULL;
}

/* A string value without its quotes into buf (escapes kept). 0, or -EINVAL
 * (absent, not a string, a raw control byte, longer than size - 1). */
static int jstring(const char *s, size_t len, const char *key, char *buf, size_t size)
{
        size_t vl;
        const char *v = jfind(s, len, key, &vl);

        if (!v || vl < 2 || v[0] != '"' || v[vl - 1] != '"' || vl - 2 >= size)
                return -EINVAL;
        for (size_t i = 1; i + 1 < vl; i++) {
                if ((unsigned char)v[i] < 0x20)
                        return -EINVAL;
                if (v[i] == '\\' && (i + 2 >= vl || !strchr("\"\\/bfnrtu", v[++i])))
                        return -EINVAL;
        }
        memcpy(buf, v + 1, vl - 2);
        buf[vl - 2] = '\0';
        return 0;
}

/* A number, or "max" (UINT64_MAX); TREE_UNKNOWN for anything else. */
static uint64_t jlimit(const char *s, size_t len, const char *key)
{
        size_t vl;
        const char *v = jfind(s, len, key, &vl);
        uint64_t u = 0;

        if (!v || vl == 0)
                return TREE_UNKNOWN;
        if (vl == 5 && memcmp(v, "\"max\"", 5) == 0)
                return UINT64_MAX;
        if (vl > 20)
                return TREE_UNKNOWN;
        for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9' || u > (UINT64_MAX - 2 - (uint64_t)(v[i] - '0')) / 10)
                        return TREE_UNKNOWN;
                u = u * 10 + (uint64_t)(v[i] - '0');
        }
        return u;
}

/* psi.<type>.avg10, "12.34", in hundredths; -1 if absent or not that form. */
static int32_t jpsi(const char *s, size_t len, const char *type)
{
        size_t pl, tl, al;
        const char *p = jfind(s, len, "psi", &pl), *t = p ? jfind(p, pl, type, &tl) : NULL;
        const char *a = t ? jfind(t, tl, "avg10", &al) : NULL;
        int32_t whole = 0, frac = 0;
        size_t i = 0;

        if (!a || al == 0)
                return -1;
        for (; i < al && a[i] >= '0' && a[i] <= '9' && whole <= 100; i++)
                whole = whole * 10 + (a[i] - '0');
        if (whole > 100 || i == 0 || al != i + 3 || a[i] != '.' || a[i + 1] < '0' || a[i + 1] > '9' ||
            a[i + 2] < '0' || a[i + 2] > '9')
                return -1;
        frac = (a[i + 1] - '0') * 10 + (a[i + 2] - '0');
        return whole * 100 + frac;
}

static void set_none(TreeNode *n)
{
        n->current = n->low = n->min = n->high = n->max = TREE_UNKNOWN;
        n->ev_high = n->ev_max = n->ev_oom_kill = TREE_UNKNOWN;
        n->psi_some10 = n->psi_full10 = -1;
        n->parent = SIZE_MAX;
}

int tree_add_status(Tree *t, const char *line, size_t len)
{
        char path[TREE_PATH_MAX];
        size_t cl;
        const char *c;
        TreeNode *n;

        if (len > TREE_LINE_MAX || len < 2 || line[0] != '{')
                return -EINVAL;
        if (jfind(line, len, "memwarden", &cl))
                return jstring(line, len, "cgroup_root", t->root, sizeof(t->root));
        if (jstring(line, len, "cgroup", path, sizeof(path)) < 0 || path[0] != '/')
                return -EINVAL;
        if (t->n >= TREE_NODES_MAX)
                return -E2BIG;
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 64;
                TreeNode *v = reallocarray(t->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                t->v = v;
                t->cap = cap;
        }
        n = &t->v[t->n];
        *n = (TreeNode){};
        set_none(n);
        if (!(n->path = strdup(path)))
                return -ENOMEM;
        t->n++;
        (void)jstring(line, len, "kind", n->kind, sizeof(n->kind));
        c = jfind(line, len, "watched", &cl);
        n->watched = c && cl == 4 && memcmp(c, "true", 4) == 0;
        n->high = jlimit(line, len, "memory_high");
        n->max = jlimit(line, len, "memory_max");
        c = jfind(line, len, "counters", &cl);
        if (c) {
                n->ev_high = jlimit(c, cl, "high");
                n->ev_max = jlimit(c, cl, "max");
                n->ev_oom_kill = jlimit(c, cl, "oom_kill");
        }
        n->psi_some10 = jpsi(line, len, "some");
        n->psi_full10 = jpsi(line, len, "full");
        return 0;
}

int tree_add_explain(Tree *t, const char *line, size_t len)
{
        char path[TREE_PATH_MAX];
        size_t nl;
        const char *np;

        if (len > TREE_LINE_MAX || jstring(line, len, "cgroup", path, sizeof(path)) < 0)
                return -EINVAL;
        for (size_t i = 0; i < t->n; i++) {
                TreeNode *n = &t->v[i];
                if (strcmp(n->path, path) != 0)
                        continue;
                (void)jstring(line, len, "policy", n->policy, sizeof(n->policy));
                (void)jstring(line, len, "phase", n->phase, sizeof(n->phase));
                np = jfind(line, len, "node_policy", &nl);
                if (np)
                        (void)jstring(np, nl, "policy", n->node_policy, sizeof(n->node_policy));
                return 0;
        }
        return 0;
}

int tree_unescape(const char *s, char *buf, size_t size)
{
        size_t o = 0;

        for (; *s; s++) {
                unsigned ch = (unsigned char)*s;
                if (ch == '\\') {
                        s++;
                        switch (*s) {
                        case '"':
                        case '\\':
                        case '/':
                                ch = (unsigned char)*s;
                                break;
                        case 'b':
                                ch = '\b';
                                break;
                        case 'f':
                                ch = '\f';
                                break;
                        case 'n':
                                ch = '\n';
                                break;
                        case 'r':
                                ch = '\r';
                                break;
                        case 't':
                                ch = '\t';
                                break;
                        case 'u': {
                                ch = 0;
                                for (int k = 1; k <= 4; k++) {
                                        char h = s[k];
                                        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                                              (h >= 'A' && h <= 'F')))
                                                return -EINVAL;
                                        ch = ch * 16 +
                                             (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                                }
                                s += 4;
                                /* The daemon escapes only control bytes this way; NUL is no name's. */
                                if (ch == 0 || ch > 0x7f)
                                        return -EINVAL;
                                break;
                        }
                        default:
                                return -EINVAL;
                        }
                }
                if (o + 1 >= size)
                        return -ENAMETOOLONG;
                buf[o++] = (char)ch;
        }
        if (size == 0)
                return -ENAMETOOLONG;
        buf[o] = '\0';
        return 0;
}

void tree_read_files(Tree *t, int root_fd)
{
        for (size_t i = 0; i < t->n; i++) {
                TreeNode *n = &t->v[i];
                char path[TREE_PATH_MAX];
                const char *rel;
                _cleanup_close_ int fd = -1;
                uint64_t u;

                /* The directory's own name (systemd's "\x2d" is a backslash in
                 * it); a control byte is no name we open, ".." would leave the root. */
                if (tree_unescape(n->path, path, sizeof(path)) < 0 || strstr(path, "/..") ||
                    strstr(path, "//"))
                        continue;
                for (const char *c = path; *c; c++)
                        if ((unsigned char)*c < 0x20 || *c == 0x7f)
                                goto next;
                rel = path[1] ? path + 1 : ".";
                fd = openat(root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (cg_read_u64(fd, "memory.current", &u) >= 0 ||
                    cg_read_u64(fd, "memory.usage_in_bytes", &u) >= 0)
                        n->current = u;
                if (cg_read_limit(fd, "memory.low", &u) >= 0)
                        n->low = u;
                if (cg_read_limit(fd, "memory.min", &u) >= 0)
                        n->min = u;
        next:;
        }
}

/* Path order with '/' before every other byte: a parent, then its subtree. */
static int path_cmp(const void *a, const void *b)
{
        const unsigned char *x = (const unsigned char *)((const TreeNode *)a)->path;
        const unsigned char *y = (const unsigned char *)((const TreeNode *)b)->path;

        for (;; x++, y++) {
                unsigned cx = *x == '/' ? 1 : *x, cy = *y == '/' ? 1 : *y;
                if (cx != cy || !cx)
                        return (int)cx - (int)cy;
        }
}

static bool is_below(const char *p, const char *ancestor)
{
        size_t l = strlen(ancestor);

        if (strcmp(ancestor, "/") == 0)
                return strcmp(p, "/") != 0;
        return strncmp(p, ancestor, l) == 0 && p[l] == '/';
}

void tree_finish(Tree *t, const char *subtree)
{
        size_t k = 0, *stack, top = 0, *last_child;

        for (size_t i = 0; i < t->n; i++) {
                if (subtree && subtree[0] && strcmp(t->v[i].path, subtree) != 0 &&
                    !is_below(t->v[i].path, subtree)) {
                        free(t->v[i].path);
                        continue;
                }
                t->v[k++] = t->v[i];
        }
        t->n = k;
        if (t->n == 0)
                return;
        qsort(t->v, t->n, sizeof(*t->v), path_cmp);
        stack = calloc(t->n, sizeof(*stack));
        last_child = calloc(t->n, sizeof(*last_child));
        if (!stack || !last_child) {
                free(stack);
                free(last_child);
                return; /* flat: every node at depth 0 */
        }
        for (size_t i = 0; i < t->n; i++) {
                TreeNode *n = &t->v[i];
                while (top > 0 && !is_below(n->path, t->v[stack[top - 1]].path))
                        top--;
                n->parent = top > 0 ? stack[top - 1] : SIZE_MAX;
                n->depth = (unsigned)top;
                n->last = true;
                if (n->parent != SIZE_MAX) {
                        if (last_child[n->parent])
                                t->v[last_child[n->parent] - 1].last = false;
                        last_child[n->parent] = i + 1;
                }
                stack[top++] = i;
        }
        free(stack);
        free(last_child);
}

void tree_format_size(uint64_t v, char *buf, size_t size)
{
        static const char units[] = "KMGTPE";
        unsigned u = 0;
        uint64_t tenths;

        if (v == TREE_UNKNOWN) {
                snprintf(buf, size, "-");
                return;
        }
        if (v == UINT64_MAX) {
                snprintf(buf, size, "max");
                return;
        }
        if (v < 1024) {
                snprintf(buf, size, "%uB", (unsigned)v);
                return;
        }
        while (u + 1 < sizeof(units) - 1 && v >= (UINT64_C(1024) << (10 * (u + 1))))
                u++;
        tenths = (uint64_t)(((__uint128_t)v * 10 + (UINT64_C(512) << (10 * u))) >> (10 * (u + 1)));
        if (tenths >= 100 || tenths % 10 == 0)
                snprintf(buf, size, "%llu%c", (unsigned long long)((tenths + 5) / 10), units[u]);
        else
                snprintf(buf, size, "%llu.%llu%c", (unsigned long long)(tenths / 10),
                         (unsigned long long)(tenths % 10), units[u]);
}

void tree_sanitize(const char *s, char *buf, size_t size)
{
        size_t o = 0;

        if (size == 0)
                return;
        for (; *s && o + 1 < size; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch >= 0x20 && ch < 0x7f)
                        buf[o++] = (char)ch;
                else if (o + 4 < size)
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
                else
                        break;
        }
        buf[o] = '\0';
}

static void fmt_psi(int32_t v, char *buf, size_t size)
{
        if (v < 0)
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, "%d.%02d", v / 100, v % 100);
}

static void fmt_count(uint64_t v, char *buf, size_t size)
{
        if (v == TREE_UNKNOWN || v == UINT64_MAX)
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* The tree column: a guide for each ancestor below the first shown, then
 * this cgroup's last path component (the whole path at depth 0). */
static void fmt_name(const Tree *t, size_t i, char *buf, size_t size)
{
        const TreeNode *n = &t->v[i];
        char guide[2 * 64 + 8] = "", name[600], raw[TREE_PATH_MAX];
        const char *base = n->path;
        unsigned d = n->depth < 64 ? n->depth : 64;
        size_t a = n->parent;

        /* Ancestors from the nearest up: fill the guide from its right end. */
        if (d > 0) {
                memcpy(guide + 2 * (d - 1), n->last ? "`-" : "|-", 2);
                for (unsigned k = d - 1; k > 0 && a != SIZE_MAX; k--, a = t->v[a].parent)
                        memcpy(guide + 2 * (k - 1), t->v[a].last ? "  " : "| ", 2);
                guide[2 * d] = '\0';
                if (n->parent != SIZE_MAX)
                        base = n->path + strlen(t->v[n->parent].path) +
                               (strcmp(t->v[n->parent].path, "/") != 0);
        }
        /* As the directory is named, where it unescapes; then printable ASCII only. */
        if (tree_unescape(base, raw, sizeof(raw)) == 0)
                base = raw;
        tree_sanitize(base, name, sizeof(name));
        snprintf(buf, size, "%s%s", guide, name);
}

void tree_print_table(const Tree *t, FILE *f)
{
        char name[800], s[5][16], p[2][12], c[3][24], pol[8 * TREE_NAME_MAX + 96], phase[72];
        int width = 6;

        for (size_t i = 0; i < t->n; i++) {
                fmt_name(t, i, name, sizeof(name));
                int l = (int)strlen(name);
                width = l > width ? (l < 60 ? l : 60) : width;
        }
        fprintf(f, "%-*s %7s %7s %7s %7s %7s %6s %6s %7s %7s %7s  %s\n", width, "CGROUP", "CURRENT", "HIGH",
                "MAX", "LOW", "MIN", "SOME10", "FULL10", "#HIGH", "#MAX", "#OOMKIL", "POLICY (PHASE)");
        for (size_t i = 0; i < t->n; i++) {
                const TreeNode *n = &t->v[i];
                fmt_name(t, i, name, sizeof(name));
                tree_format_size(n->current, s[0], sizeof(s[0]));
                tree_format_size(n->high, s[1], sizeof(s[1]));
                tree_format_size(n->max, s[2], sizeof(s[2]));
                tree_format_size(n->low, s[3], sizeof(s[3]));
                tree_format_size(n->min, s[4], sizeof(s[4]));
                fmt_psi(n->psi_some10, p[0], sizeof(p[0]));
                fmt_psi(n->psi_full10, p[1], sizeof(p[1]));
                fmt_count(n->ev_high, c[0], sizeof(c[0]));
                fmt_count(n->ev_max, c[1], sizeof(c[1]));
                fmt_count(n->ev_oom_kill, c[2], sizeof(c[2]));
                tree_sanitize(n->phase, phase, sizeof(phase));
                if (n->policy[0] || n->node_policy[0]) {
                        char a[TREE_NAME_MAX * 4], b[TREE_NAME_MAX * 4];
                        tree_sanitize(n->policy, a, sizeof(a));
                        tree_sanitize(n->node_policy, b, sizeof(b));
                        snprintf(pol, sizeof(pol), "%s%s%s%s%s%s", a, phase[0] ? " (" : "", phase,
                                 phase[0] ? ")" : "", b[0] ? " +node " : "", b);
                } else
                        snprintf(pol, sizeof(pol), "%s", n->watched ? "-" : "- (not watched)");
                fprintf(f, "%-*.*s %7s %7s %7s %7s %7s %6s %6s %7s %7s %7s  %s\n", width, width, name, s[0],
                        s[1], s[2], s[3], s[4], p[0], p[1], c[0], c[1], c[2], pol);
        }
}

/* A JSON value for a size: a number, "max" or null. */
static void json_size(FILE *f, const char *key, uint64_t v)
{
        if (v == TREE_UNKNOWN)
                fprintf(f, ",\"%s\":null", key);
        else if (v == UINT64_MAX)
                fprintf(f, ",\"%s\":\"max\"", key);
        else
                fprintf(f, ",\"%s\":%llu", key, (unsigned long long)v);
}

static void json_str(FILE *f, const char *key, const char *v)
{
        /* Strings are as the daemon escaped them, without raw control bytes
         * (jstring) and quotes only escaped: valid JSON strings again. */
        if (v[0])
                fprintf(f, ",\"%s\":\"%s\"", key, v);
        else
                fprintf(f, ",\"%s\":null", key);
}

static void json_psi(FILE *f, const char *key, int32_t v)
{
        if (v < 0)
                fprintf(f, ",\"%s\":null", key);
        else
                fprintf(f, ",\"%s\":%d.%02d", key, v / 100, v % 100);
}

void tree_print_json(const Tree *t, FILE *f)
{
        for (size_t i = 0; i < t->n; i++) {
                const TreeNode *n = &t->v[i];
                fprintf(f, "{\"cgroup\":\"%s\",\"depth\":%u", n->path, n->depth);
                if (n->parent != SIZE_MAX)
                        fprintf(f, ",\"parent\":\"%s\"", t->v[n->parent].path);
                else
                        fprintf(f, ",\"parent\":null");
                json_str(f, "kind", n->kind);
                fprintf(f, ",\"watched\":%s", n->watched ? "true" : "false");
                json_size(f, "memory_current", n->current);
                json_size(f, "memory_high", n->high);
                json_size(f, "memory_max", n->max);
                json_size(f, "memory_low", n->low);
                json_size(f, "memory_min", n->min);
                json_psi(f, "psi_some_avg10", n->psi_some10);
                json_psi(f, "psi_full_avg10", n->psi_full10);
                json_size(f, "events_high", n->ev_high == UINT64_MAX ? TREE_UNKNOWN : n->ev_high);
                json_size(f, "events_max", n->ev_max == UINT64_MAX ? TREE_UNKNOWN : n->ev_max);
                json_size(f, "events_oom_kill",
                          n->ev_oom_kill == UINT64_MAX ? TREE_UNKNOWN : n->ev_oom_kill);
                json_str(f, "policy", n->policy);
                json_str(f, "phase", n->phase);
                json_str(f, "node_policy", n->node_policy);
                fprintf(f, "}\n");
        }
}
