/* SPDX-License-Identifier: MIT */
/* Which policy applies to a cgroup: matching, precedence, ambiguity. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

enum {
        SPEC_QOS = 1 << 0,
        SPEC_NAMESPACE = 1 << 1,
        SPEC_POD = 1 << 2,
        SPEC_CONTAINER = 1 << 3,
        SPEC_UNIT = 1 << 4,
        SPEC_CGROUP = 1 << 5,
};

unsigned policy_specificity(const Policy *p)
{
        const PolicyMatch *m = &p->match;

        return (m->qos >= 0 ? SPEC_QOS : 0) | (m->namespace ? SPEC_NAMESPACE : 0) | (m->pod ? SPEC_POD : 0) |
               (m->container ? SPEC_CONTAINER : 0) | (m->unit ? SPEC_UNIT : 0) |
               (m->cgroup ? SPEC_CGROUP : 0);
}

static bool field_fails(const char *pattern, const char *value, bool glob, const char *what, char *why,
                        size_t why_size)
{
        bool ok;

        if (!pattern)
                return false;
        ok = value && (glob ? fnmatch(pattern, value, 0) == 0 : strcmp(pattern, value) == 0);
        if (!ok && why)
                snprintf(why, why_size, value ? "%s '%s' does not match '%s'" : "%s: none here (wants '%s')",
                         what, value ? value : pattern, pattern);
        return !ok;
}

bool policy_match(const Policy *p, const CgroupIdentity *id, char *why, size_t why_size)
{
        const PolicyMatch *m = &p->match;

        /* Confinement, whatever the match says (the compiler implies and checks
         * `namespace`; this holds even for a Policy not made by it): a namespace's
         * policy matches the pods of that namespace only. */
        if (p->scope_namespace &&
            field_fails(p->scope_namespace, id->namespace, false, "namespace", why, why_size))
                return false;
        if (field_fails(m->cgroup, id->path, true, "cgroup", why, why_size) ||
            field_fails(m->unit, id->unit, true, "unit", why, why_size) ||
            field_fails(m->namespace, id->namespace, false, "namespace", why, why_size) ||
            field_fails(m->pod, id->pod, true, "pod", why, why_size) ||
            field_fails(m->container, id->container, false, "container", why, why_size))
                return false;
        if (m->qos >= 0 && m->qos != id->qos) {
                if (why)
                        snprintf(why, why_size, "qos %s is not %s",
                                 id->qos >= 0 ? qos_class_to_string(id->qos) : "(not a pod)",
                                 qos_class_to_string(m->qos));
                return false;
        }
        return true;
}

bool policy_is_node(const Policy *p)
{
        if (p->n_triggers == 0)
                return false;
        for (size_t i = 0; i < p->n_triggers; i++)
                if (p->triggers[i].type != TRIGGER_NODE_PRESSURE &&
                    p->triggers[i].type != TRIGGER_NODE_AVAILABLE)
                        return false;
        return true;
}

/* The node admin's word is final: any admin policy of a kind ranks above
 * every namespace policy of that kind, so a namespace cannot shadow (with a
 * more specific match) the admin's policy for its pods; specificity decides
 * within each tier. */
static unsigned rank(const Policy *p)
{
        return (p->scope_namespace ? 0U : 1U << 8) | policy_specificity(p);
}

int policy_set_lookup_kind(const PolicySet *set, const CgroupIdentity *id, bool node)
{
        int best = -ENOENT;

        for (size_t i = 0; i < set->n; i++)
                if (policy_is_node(&set->policies[i]) == node && !set->policies[i].target_children &&
                    policy_match(&set->policies[i], id, NULL, 0) &&
                    (best < 0 || rank(&set->policies[i]) > rank(&set->policies[best])))
                        best = (int)i;
        return best;
}

int policy_set_lookup_children(const PolicySet *set, const CgroupIdentity *parent, const CgroupIdentity *id)
{
        int best = -ENOENT;

        for (size_t i = 0; i < set->n; i++) {
                const Policy *p = &set->policies[i];
                if (!p->target_children || !policy_match(p, parent, NULL, 0))
                        continue;
                /* A namespace's policy acts on its own pods only, whatever the
                 * tree says about the child (it never holds otherwise: what is
                 * made below a pod's cgroup stays in the pod; this is the check). */
                if (p->scope_namespace && (!id->namespace || strcmp(id->namespace, p->scope_namespace) != 0))
                        continue;
                if (best < 0 || rank(p) > rank(&set->policies[best]))
                        best = (int)i;
        }
        return best;
}

bool policy_set_matches_any(const PolicySet *set, const CgroupIdentity *id)
{
        for (size_t i = 0; set && i < set->n; i++)
                if (policy_match(&set->policies[i], id, NULL, 0))
                        return true;
        return false;
}

int policy_set_lookup(const PolicySet *set, const CgroupIdentity *id)
{
        return policy_set_lookup_kind(set, id, false);
}

/* Whether two patterns can match a common string: exact values must be
 * equal; with globs, the literal parts before the first and after the last
 * wildcard must agree (conservative: "may overlap" when unsure). */
static bool may_overlap(const char *a, const char *b, bool glob)
{
        size_t pa, pb, sa, sb, la = strlen(a), lb = strlen(b);

        if (!glob || (!strpbrk(a, "*?[") && !strpbrk(b, "*?[")))
                return strcmp(a, b) == 0;
        /* One is a plain value: exact. */
        if (!strpbrk(a, "*?["))
                return fnmatch(b, a, 0) == 0;
        if (!strpbrk(b, "*?["))
                return fnmatch(a, b, 0) == 0;
        pa = strcspn(a, "*?[");
        pb = strcspn(b, "*?[");
        if (strncmp(a, b, pa < pb ? pa : pb) != 0)
                return false;
        for (sa = 0; sa < la && !strchr("*?]", a[la - 1 - sa]); sa++)
                ;
        for (sb = 0; sb < lb && !strchr("*?]", b[lb - 1 - sb]); sb++)
                ;
        size_t s = sa < sb ? sa : sb;
        return strncmp(a + la - s, b + lb - s, s) == 0;
}

static bool both_may_overlap(const char *a, const char *b, bool glob)
{
        return !a || !b || may_overlap(a, b, glob);
}

int policy_set_check_ambiguity(const PolicySet *set, PolicyErrors *errors)
{
        int r = 0;

        for (size_t j = 1; j < set->n; j++)
                for (size_t i = 0; i < j; i++) {
                        const Policy *a = &set->policies[i], *b = &set->policies[j];
                        const PolicyMatch *ma = &a->match, *mb = &b->match;

                        /* An admin and a namespace policy never tie: the admin's ranks first. */
                        if (rank(a) != rank(b) || policy_is_node(a) != policy_is_node(b) ||
                            a->target_children != b->target_children)
                                continue;
                        if (!both_may_overlap(ma->cgroup, mb->cgroup, true) ||
                            !both_may_overlap(ma->unit, mb->unit, true) ||
                            !both_may_overlap(ma->namespace, mb->namespace, false) ||
                            !both_may_overlap(ma->pod, mb->pod, true) ||
                            !both_may_overlap(ma->container, mb->container, false) ||
                            (ma->qos >= 0 && mb->qos >= 0 && ma->qos != mb->qos))
                                continue;
                        policy_error(
                                errors, b->file, b->line, b->column,
                                "policy '%s' is as specific as '%s' (%s:%u) and both could match the same "
                                "cgroup: make one of them more specific",
                                b->name, a->name, a->file, a->line);
                        r = -EINVAL;
                }
        return r;
}
