/* SPDX-License-Identifier: MIT */
#include "memevents.h"

#include <errno.h>
#include <string.h>

#include "parse.h"

static const char *const memevent_names[_MEMEV_MAX] = {
        [MEMEV_LOW] = "low", [MEMEV_HIGH] = "high",         [MEMEV_MAX] = "max",
        [MEMEV_OOM] = "oom", [MEMEV_OOM_KILL] = "oom_kill", [MEMEV_OOM_GROUP_KILL] = "oom_group_kill",
};

const char *memevent_to_string(MemEvent e)
{
        if (e < 0 || e >= _MEMEV_MAX)
                return NULL;
        return memevent_names[e];
}

MemEvent memevent_from_string_n(const char *s, size_t len)
{
        for (int i = 0; i < _MEMEV_MAX; i++)
                if (strlen(memevent_names[i]) == len && memcmp(memevent_names[i], s, len) == 0)
                        return (MemEvent)i;
        return _MEMEV_INVALID;
}

static bool valid_key(const char *k, size_t len)
{
        if (len == 0 || len >= MEMEV_EXTRA_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
                        return false;
        return true;
}

int memevents_parse(const char *buf, size_t len, MemEvents *ret)
{
        MemEvents ev = {};
        const char *p = buf, *k;
        size_t kl;
        uint64_t x;
        int r;

        while ((r = kv_next(&p, buf + len, 0, &k, &kl, &x)) > 0) {
                MemEvent e = memevent_from_string_n(k, kl);

                if (e >= 0) {
                        ev.value[e] = x;
                        ev.present |= 1U << e;
                        continue;
                }
                if (!valid_key(k, kl))
                        return -EINVAL;
                if (ev.n_extra < MEMEV_EXTRA_MAX) {
                        memcpy(ev.extra[ev.n_extra].name, k, kl);
                        ev.extra[ev.n_extra].name[kl] = '\0';
                        ev.extra[ev.n_extra].value = x;
                        ev.n_extra++;
                }
        }
        if (r < 0)
                return -EINVAL;
        if (ev.present == 0 && ev.n_extra == 0)
                return -EINVAL;
        *ret = ev;
        return 0;
}

static uint64_t counter_delta(uint64_t old, uint64_t new)
{
        return new >= old ? new - old : new;
}

void memevents_diff(const MemEvents *old, const MemEvents *new, MemEventsDelta *ret)
{
        MemEventsDelta d = {};

        for (int i = 0; i < _MEMEV_MAX; i++) {
                d.value[i] = counter_delta(old->value[i], new->value[i]);
                d.any = d.any || d.value[i] > 0;
        }
        for (unsigned i = 0; i < new->n_extra; i++) {
                uint64_t prev = 0;

                for (unsigned j = 0; j < old->n_extra; j++)
                        if (strcmp(old->extra[j].name, new->extra[i].name) == 0) {
                                prev = old->extra[j].value;
                                break;
                        }
                d.extra[i] = counter_delta(prev, new->extra[i].value);
                d.any = d.any || d.extra[i] > 0;
        }
        *ret = d;
}
