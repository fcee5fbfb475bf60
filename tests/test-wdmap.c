/* SPDX-License-Identifier: MIT */
/* WdMap against a plain array as the model. Few operations, chosen to reach
 * every path: growth at each doubling, overwrites, removals inside probe runs
 * that wrap around the end of the table (backward shift), runs of colliding
 * keys, churn at a constant size (no tombstones to pile up), and after each
 * step a check of the whole table's invariants. No ck_assert in the inner
 * loops: each one costs a write to Check's pipe. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-main.h"
#include "wdmap.h"

#define UNIVERSE 4096

typedef struct Model {
        bool present[UNIVERSE];
        uint32_t slot[UNIVERSE];
        WdKind kind[UNIVERSE];
        size_t n;
} Model;

static Model model;
static char why[256];

/* The map's hash (src/wdmap.c); if it changes, the home checks below fail loudly. */
static size_t home(int wd, size_t capacity)
{
        return (size_t)((uint32_t)wd * 2654435761u) & (capacity - 1);
}

/* A key below UNIVERSE whose home is h in a table of capacity cap, the k-th such. */
static int key_homed_at(size_t h, size_t cap, unsigned k)
{
        for (int wd = 0; wd < UNIVERSE; wd++)
                if (home(wd, cap) == h && k-- == 0)
                        return wd;
        ck_abort_msg("no key homed at %zu", h);
        return -1;
}

static void put(WdMap *m, int wd, uint32_t slot, WdKind kind)
{
        ck_assert_int_eq(wdmap_put(m, wd, slot, kind), 0);
        model.n += !model.present[wd];
        model.present[wd] = true;
        model.slot[wd] = slot;
        model.kind[wd] = kind;
}

static void del(WdMap *m, int wd)
{
        wdmap_remove(m, wd);
        model.n -= model.present[wd];
        model.present[wd] = false;
}

/* The table agrees with the model: each entry is one the model has, with
 * its value, reachable from its home without crossing an empty slot; the
 * counts agree; the load is at most 1/2. With all, every key is looked up. */
static bool consistent(WdMap *m, bool all)
{
        static unsigned seen[UNIVERSE], stamp; /* seen in this call: seen[wd] == stamp */
        size_t used = 0, mask = m->capacity - 1;

        stamp++;
        for (size_t i = 0; i < m->capacity; i++) {
                const WdEntry *e = &m->entries[i];
                if (e->wd < 0)
                        continue;
                used++;
                if (e->wd >= UNIVERSE || !model.present[e->wd] || seen[e->wd] == stamp ||
                    e->slot != model.slot[e->wd] || e->kind != model.kind[e->wd]) {
                        snprintf(why, sizeof(why), "slot %zu: wd %d not as the model has it", i, e->wd);
                        return false;
                }
                seen[e->wd] = stamp;
                for (size_t j = home(e->wd, m->capacity); j != i; j = (j + 1) & mask)
                        if (m->entries[j].wd < 0) {
                                snprintf(why, sizeof(why), "wd %d at %zu: a hole at %zu", e->wd, i, j);
                                return false;
                        }
        }
        if (used != m->n || m->n != model.n || m->n * 2 > m->capacity) {
                snprintf(why, sizeof(why), "used %zu, n %zu, model %zu, capacity %zu", used, m->n, model.n,
                         m->capacity);
                return false;
        }
        for (int wd = 0; all && wd < UNIVERSE; wd++) {
                WdEntry *e = wdmap_get(m, wd);
                if ((e != NULL) != model.present[wd] || (e && (e->wd != wd || e->slot != model.slot[wd]))) {
                        snprintf(why, sizeof(why), "get(%d) disagrees", wd);
                        return false;
                }
        }
        return true;
}

#define CHECK(m, all) ck_assert_msg(consistent(m, all), "%s", why)

static void reset(WdMap *m, size_t capacity)
{
        memset(&model, 0, sizeof(model));
        ck_assert_int_eq(wdmap_init(m, capacity), 0);
}

/* inotify hands out wds in sequence: grow through several doublings, each
 * exactly when the next put would pass half full, keys and values intact. */
START_TEST(test_growth)
{
        WdMap m;
        bool ok = true;

        reset(&m, 4);
        ck_assert_uint_eq(m.capacity, 16); /* the minimum */
        for (int wd = 1; wd <= 1100 && ok; wd++) {
                size_t cap = m.capacity;
                put(&m, wd, (uint32_t)wd * 7, (WdKind)(wd % 3));
                if (m.capacity != ((size_t)wd * 2 > cap ? cap * 2 : cap)) {
                        snprintf(why, sizeof(why), "put %d: capacity %zu -> %zu", wd, cap, m.capacity);
                        ok = false;
                } else if (m.capacity != cap || wd % 97 == 0)
                        ok = consistent(&m, true);
        }
        ck_assert_msg(ok, "%s", why);
        ck_assert_uint_eq(m.capacity, 4096);
        /* Overwrites do not count, nor grow. */
        for (int wd = 1; wd <= 1100; wd++)
                put(&m, wd, (1U << 30) - 1, WD_CGEVENTS);
        ck_assert_uint_eq(m.n, 1100);
        ck_assert_uint_eq(m.capacity, 4096);
        CHECK(&m, true);
        wdmap_done(&m);
        ck_assert_ptr_null(m.entries);
        ck_assert_ptr_null(wdmap_get(&m, 1)); /* after done: empty, not a crash */
}
END_TEST

/* A run of keys that share one home near the end of the table, wrapping
 * past slot 0, interleaved with keys homed inside the run; removed in every
 * order of a 5-key subset, checked after each removal. */
START_TEST(test_collisions_wraparound)
{
        enum { CAP = 64 };
        int keys[8];
        unsigned perms = 0;

        for (unsigned k = 0; k < 5; k++)
                keys[k] = key_homed_at(CAP - 2, CAP, k); /* occupy 62, 63, 0, 1, 2 */
        keys[5] = key_homed_at(0, CAP, 0);               /* displaced to 3 */
        keys[6] = key_homed_at(CAP - 1, CAP, 0);         /* to 4 */
        keys[7] = key_homed_at(2, CAP, 0);               /* to 5 */

        /* Every order of removing keys 0..4 (120), the others staying. */
        int order[5] = { 0, 1, 2, 3, 4 };
        for (;;) {
                WdMap m;
                reset(&m, CAP);
                for (int i = 0; i < 8; i++)
                        put(&m, keys[i], (uint32_t)i, (WdKind)(i % 3));
                ck_assert_uint_eq(m.capacity, CAP);
                ck_assert_int_eq(m.entries[0].wd, keys[2]); /* the run did wrap */
                CHECK(&m, true);
                bool ok = true;
                for (int i = 0; i < 5 && ok; i++) {
                        del(&m, keys[order[i]]);
                        ok = consistent(&m, true);
                }
                ck_assert_msg(ok, "order %d%d%d%d%d: %s", order[0], order[1], order[2], order[3], order[4],
                              why);
                wdmap_done(&m);
                perms++;
                /* next permutation */
                int i = 3;
                while (i >= 0 && order[i] > order[i + 1])
                        i--;
                if (i < 0)
                        break;
                int j = 4;
                while (order[j] < order[i])
                        j--;
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
                for (int a = i + 1, b = 4; a < b; a++, b--)
                        t = order[a], order[a] = order[b], order[b] = t;
        }
        ck_assert_uint_eq(perms, 120);
}
END_TEST

/* Random puts, overwrites and removes over keys that collide a lot (a small
 * set of homes), the table growing and then churning at a constant size. */
START_TEST(test_random_model)
{
        WdMap m;
        unsigned seed = 12345;
        bool ok = true;

        reset(&m, 16);
        for (int round = 0; round < 15000 && ok; round++) {
                /* Keys homed in 1/8 of a 256-slot table: long runs, many collisions. */
                int wd = (int)(rand_r(&seed) % UNIVERSE);
                if (home(wd, 256) % 8)
                        wd = (int)((uint32_t)wd & ~7u);
                unsigned op = (unsigned)rand_r(&seed) % 8;
                if (round > 10000 && model.n > 60) /* churn: hold the size, no growth */
                        op = op < 4 ? 7 : op;
                if (op < 5)
                        put(&m, wd, (uint32_t)rand_r(&seed) & ((1U << 30) - 1), (WdKind)(op % 3));
                else
                        del(&m, wd); /* often absent: a no-op */
                ok = consistent(&m, round % 512 == 0);
        }
        ck_assert_msg(ok, "%s", why);
        size_t cap = m.capacity;
        /* Pure churn: remove one, add one, 10000 times. */
        for (int round = 0; round < 10000 && ok; round++) {
                int wd;
                do
                        wd = (int)(rand_r(&seed) % UNIVERSE);
                while (!model.present[wd]);
                del(&m, wd);
                do
                        wd = (int)(rand_r(&seed) % UNIVERSE);
                while (model.present[wd]);
                put(&m, wd, (uint32_t)round, WD_EVENTS);
                ok = consistent(&m, round % 1024 == 0);
        }
        ck_assert_msg(ok, "%s", why);
        ck_assert_uint_eq(m.capacity, cap);
        CHECK(&m, true);
        wdmap_done(&m);
}
END_TEST

START_TEST(test_edges)
{
        WdMap m;

        reset(&m, 16);
        ck_assert_ptr_null(wdmap_get(&m, -1));
        ck_assert_int_eq(wdmap_put(&m, -1, 0, WD_DIR), -EINVAL);
        ck_assert_int_eq(wdmap_put(&m, 1, 1U << 30, WD_DIR), -EINVAL);
        wdmap_remove(&m, -1);
        wdmap_remove(&m, 5); /* absent */
        put(&m, 0, 0, WD_DIR);
        put(&m, INT32_MAX % UNIVERSE, (1U << 30) - 1, WD_CGEVENTS);
        ck_assert_int_eq(wdmap_put(&m, INT32_MAX, (1U << 30) - 1, WD_CGEVENTS), 0);
        WdEntry *e = wdmap_get(&m, INT32_MAX);
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(e->slot, (1U << 30) - 1);
        ck_assert_uint_eq(e->kind, WD_CGEVENTS);
        wdmap_remove(&m, INT32_MAX);
        ck_assert_ptr_null(wdmap_get(&m, INT32_MAX));
        CHECK(&m, true);
        wdmap_done(&m);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("wdmap");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_growth);
        tcase_add_test(tc, test_collisions_wraparound);
        tcase_add_test(tc, test_random_model);
        tcase_add_test(tc, test_edges);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
