/* SPDX-License-Identifier: MIT */
/* The decision logic on a synthetic clock: `for`, hysteresis, the ladder's
 * `after` and `cooldown`, undo on clearing, and counter windows. */
#include <check.h>
#include <string.h>

#include "policy-eval.h"
#include "test-main.h"

#define S(x) ((uint64_t)(x)*1000000ULL)

static Policy make_policy(void)
{
        Policy p = { .for_usec = S(10), .clear_usec = S(60), .n_actions = 3 };

        p.actions[0] = (Action){ .type = ACTION_NOTIFY, .after_usec = 0, .cooldown_usec = S(300) };
        p.actions[1] = (Action){ .type = ACTION_THROTTLE, .after_usec = S(30), .cooldown_usec = S(0) };
        p.actions[2] = (Action){ .type = ACTION_RESTART, .after_usec = S(300), .cooldown_usec = S(1800) };
        return p;
}

START_TEST(test_for_and_ladder)
{
        Policy p = make_policy();
        PolicyState s = {};
        PolicyDecision d;

        policy_state_update(&p, &s, true, S(100), &d);
        ck_assert_int_eq(s.phase, POLICY_PENDING);
        ck_assert(!d.fired);
        ck_assert_uint_eq(d.next_usec, S(110));
        /* A blip shorter than `for` never fires. */
        policy_state_update(&p, &s, false, S(105), &d);
        ck_assert_int_eq(s.phase, POLICY_IDLE);
        ck_assert_uint_eq(d.run_steps, 0);

        policy_state_update(&p, &s, true, S(200), &d);
        policy_state_update(&p, &s, true, S(209), &d);
        ck_assert_int_eq(s.phase, POLICY_PENDING);
        policy_state_update(&p, &s, true, S(210), &d);
        ck_assert_int_eq(s.phase, POLICY_FIRING);
        ck_assert(d.fired);
        ck_assert_uint_eq(d.run_steps, 1U << 0); /* notify at once */
        ck_assert_uint_eq(d.next_usec, S(240));  /* throttle after 30 s */
        policy_state_update(&p, &s, true, S(239), &d);
        ck_assert_uint_eq(d.run_steps, 0);
        policy_state_update(&p, &s, true, S(240), &d);
        ck_assert_uint_eq(d.run_steps, 1U << 1);
        ck_assert_uint_eq(d.next_usec, S(510));
        policy_state_update(&p, &s, true, S(600), &d);
        ck_assert_uint_eq(d.run_steps, 1U << 2);
        ck_assert_uint_eq(d.next_usec, 0);
        /* Each step once per episode. */
        policy_state_update(&p, &s, true, S(700), &d);
        ck_assert_uint_eq(d.run_steps, 0);
}
END_TEST

START_TEST(test_hysteresis_and_undo)
{
        Policy p = make_policy();
        PolicyState s = {};
        PolicyDecision d;

        policy_state_update(&p, &s, true, S(0), &d);
        policy_state_update(&p, &s, true, S(10), &d); /* fires, notify */
        policy_state_update(&p, &s, true, S(40), &d); /* throttle */
        ck_assert_uint_eq(d.run_steps, 1U << 1);

        /* Flapping inside clearAfter: no clear, no re-run, the episode goes on. */
        policy_state_update(&p, &s, false, S(50), &d);
        ck_assert_int_eq(s.phase, POLICY_CLEARING);
        ck_assert_uint_eq(d.next_usec, S(110));
        policy_state_update(&p, &s, true, S(80), &d);
        ck_assert_int_eq(s.phase, POLICY_FIRING);
        ck_assert(!d.fired);
        ck_assert_uint_eq(d.run_steps, 0);
        policy_state_update(&p, &s, false, S(90), &d);
        policy_state_update(&p, &s, false, S(149), &d);
        ck_assert_int_eq(s.phase, POLICY_CLEARING);
        ck_assert(!d.cleared);
        policy_state_update(&p, &s, false, S(150), &d);
        ck_assert(d.cleared);
        ck_assert_int_eq(s.phase, POLICY_IDLE);
        ck_assert_uint_eq(d.undo_steps,
                          1U << 1); /* the throttle is given back; notify has nothing to undo */
}
END_TEST

START_TEST(test_cooldown_across_episodes)
{
        Policy p = make_policy();
        PolicyState s = {};
        PolicyDecision d;

        p.for_usec = 0;
        policy_state_update(&p, &s, true, S(1000), &d); /* for 0: fires at once */
        ck_assert(d.fired);
        ck_assert_uint_eq(d.run_steps, 1U << 0);
        policy_state_update(&p, &s, false, S(1001), &d);
        policy_state_update(&p, &s, false, S(1061), &d);
        ck_assert(d.cleared);
        /* Fires again 100 s later: notify's 5 min cooldown defers it. */
        policy_state_update(&p, &s, true, S(1100), &d);
        ck_assert(d.fired);
        ck_assert_uint_eq(d.run_steps & 1U, 0);
        ck_assert_uint_eq(d.next_usec, S(1130)); /* the throttle comes first */
        policy_state_update(&p, &s, true, S(1300), &d);
        ck_assert_uint_eq(d.run_steps, 1U << 0 | 1U << 1);
}
END_TEST

START_TEST(test_counter_window)
{
        CounterWindow w;

        counter_window_init(&w, S(30));
        ck_assert_uint_eq(counter_window_increase(&w, S(0)), 0);
        /* One event every 10 ms for 60 s: the counter grows by 100 per second. */
        uint64_t v = 1000;
        for (uint64_t t = 0; t <= 60000; t += 10) {
                counter_window_add(&w, t * 1000, v);
                v++;
        }
        uint64_t inc = counter_window_increase(&w, S(60));
        /* 30 s of growth, within one bucket (window/8 = 3.75 s) of slack. */
        ck_assert_uint_ge(inc, 3000);
        ck_assert_uint_le(inc, 3000 + 375 + 1);
        ck_assert_uint_le(w.n, COUNTER_WINDOW_SAMPLES);
        /* Quiet afterwards: the window empties of growth. */
        counter_window_add(&w, S(100), v - 1);
        ck_assert_uint_eq(counter_window_increase(&w, S(100)), 0);
        /* A counter that went back (cgroup re-created) counts from zero. */
        counter_window_add(&w, S(110), 5);
        ck_assert_uint_eq(counter_window_increase(&w, S(110)), 5);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("policy-eval");
        TCase *tc = tcase_create("decisions");
        tcase_add_test(tc, test_for_and_ladder);
        tcase_add_test(tc, test_hysteresis_and_undo);
        tcase_add_test(tc, test_cooldown_across_episodes);
        tcase_add_test(tc, test_counter_window);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
