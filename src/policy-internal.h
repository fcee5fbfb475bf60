/* SPDX-License-Identifier: MIT */
#pragma once

/* Between the two halves of the policy loader: policy-parse.c (YAML text to
 * libyaml's nodes, which keep their line and column, within bounds; the
 * node helpers; files and directories) and policy-compile.c (nodes to
 * Policy, validated). Not a public interface. */

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>

#include "macro.h"
#include "policy.h"

/* Bounds on one file, checked on libyaml's event stream before any document
 * is built (policy_parse_documents): libyaml's scanner costs time quadratic
 * in the nesting depth (every token looks at every open flow level), so a
 * deep file is refused at the level that is one too deep. A policy needs a
 * nesting depth of 6, a dozen keys per mapping and about a hundred nodes. */
#define POLICY_DEPTH_MAX     32   /* nested mappings and lists */
#define POLICY_MAP_KEYS_MAX  64   /* keys in one mapping */
#define POLICY_SEQ_ITEMS_MAX 128  /* items in one list */
#define POLICY_NODES_MAX     4096 /* nodes in one document */
#define POLICY_DOCUMENTS_MAX 256  /* documents (policies) in one file */

typedef struct Ctx {
        yaml_document_t *doc;
        const char *file;
        const char *scope_ns;
        PolicyErrors *errors;
        unsigned n_errors; /* in this file */
} Ctx;

_printf_(4, 5) void policy_ctx_error(Ctx *c, unsigned line, unsigned column, const char *fmt, ...);

#define error_node(c, node, ...)                                                                            \
        policy_ctx_error(c, (unsigned)(node)->start_mark.line + 1, (unsigned)(node)->start_mark.column + 1, \
                         __VA_ARGS__)

/* The index of s in names[0..n), or -EINVAL. */
int policy_names_lookup(const char *const *names, int n, const char *s);

/* lowercase letters, digits and '-', 1 to 63, not starting or ending with '-' */
bool policy_name_valid(const char *s);

yaml_node_t *policy_node_get(Ctx *c, int id);
/* A scalar's text, or NULL (with an error naming `what`) for anything else. */
const char *policy_node_scalar(Ctx *c, yaml_node_t *n, const char *what);
bool policy_node_is_map(Ctx *c, yaml_node_t *n, const char *what);
bool policy_node_is_seq(Ctx *c, yaml_node_t *n, const char *what);

/* Walk a mapping in order: calls f for each key; rejects non-scalar and
 * repeated keys (in O(n log n)). */
typedef void (*KeyFunc)(Ctx *c, const char *key, yaml_node_t *keynode, yaml_node_t *value, void *userdata);
void policy_node_each_key(Ctx *c, yaml_node_t *map, const char *what, KeyFunc f, void *userdata);
void policy_node_unknown_key(Ctx *c, yaml_node_t *k, const char *key, const char *what,
                             const char *expected);

/* Typed values; false (with an error) if v is not one. */
bool policy_node_duration(Ctx *c, yaml_node_t *v, const char *what, uint64_t min_usec, uint64_t max_usec,
                          uint64_t *ret);
bool policy_node_size(Ctx *c, yaml_node_t *v, const char *what, uint64_t *ret);
bool policy_node_percent(Ctx *c, yaml_node_t *v, const char *what, uint32_t *ret);
bool policy_node_bool(Ctx *c, yaml_node_t *v, const char *what, bool *ret);
char *policy_node_string(Ctx *c, yaml_node_t *v, const char *what); /* strdup'ed, 1 to 1024 */

/* Each document of text, within the bounds above, to f (c->doc set for the
 * call). A YAML error is reported (and ends the walk) after the documents
 * before it. Returns 0, a negative errno of f, -EINVAL (bounds, YAML) or
 * -ENOMEM. */
typedef int (*DocumentFunc)(Ctx *c, yaml_node_t *root, void *userdata);
int policy_parse_documents(Ctx *c, const char *text, size_t len, DocumentFunc f, void *userdata);
