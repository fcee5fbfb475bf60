/* SPDX-License-Identifier: MIT */
/* bus.c against a fake systemd on a private bus (a dbus-daemon of our own,
 * given to sd_bus_open_system through DBUS_SYSTEM_BUS_ADDRESS): is a cgroup
 * that unit (the walk-up answer of GetUnitByControlGroup, a lying
 * ControlGroup, no unit), a failing unit call with systemd's message, and
 * memwarden's object with PolicyEvent declared and hostile names made
 * valid UTF-8. Skips (77) without dbus-daemon. Never the host's bus. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "bus.h"
#include "fake-systemd.h"
#include "macro.h"

static FakeSystemd fs;
static sd_event *event;
static sd_bus *fake; /* the fake systemd's connection */
static Bus *bus;

#define SCOPE "/kubepods.slice/kubepods-pod1.slice/cri-containerd-X.scope"
static const FakeUnit units[] = {
        { .object = "/org/freedesktop/systemd1/unit/web_2d1_2eservice",
          .id = "web-1.service",
          .cgroup = "/system.slice/web-1.service" },
        { .object = "/org/freedesktop/systemd1/unit/scope",
          .id = "cri-containerd-X.scope",
          .cgroup = SCOPE },
        { .object = "/org/freedesktop/systemd1/unit/liar",
          .id = "liar.service",
          .cgroup = "/system.slice/other.service",
          .claims = "/system.slice/liar.service" },
};

static void setup(void)
{
        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_eq(fake_systemd_start(event, units, ELEMENTSOF(units), &fs), 0);
        fake = fs.bus;
        ck_assert_int_ge(bus_new(event, true, NULL, NULL, &bus), 0);
        ck_assert(bus_connected(bus));
}

static void teardown(void)
{
        bus = bus_free(bus);
        fake_systemd_stop(&fs);
        event = sd_event_unref(event);
}

typedef struct Answer {
        bool done;
        UnitState state;
        int error;
        char message[256], job[128];
} Answer;

static void on_resolved(void *ctx, UnitState state, const char *detail)
{
        Answer *a = *(Answer **)ctx;
        a->done = true;
        a->state = state;
}

static void on_done(void *ctx, int error, const char *message, const char *job)
{
        Answer *a = *(Answer **)ctx;
        a->done = true;
        a->error = error;
        snprintf(a->message, sizeof(a->message), "%s", message ? message : "");
        snprintf(a->job, sizeof(a->job), "%s", job ? job : "");
}

static void run_until(Answer *a)
{
        for (int i = 0; i < 500 && !a->done; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert(a->done);
}

static UnitState resolve(const char *path)
{
        Answer a = { 0 }, *ap = &a;
        const char *name = strrchr(path, '/') + 1;

        ck_assert_int_eq(bus_resolve_unit(bus, path, name, on_resolved, &ap, sizeof(ap)), 0);
        run_until(&a);
        return a.state;
}

START_TEST(test_resolve)
{
        ck_assert_int_eq(resolve("/system.slice/web-1.service"), UNIT_STATE_CONFIRMED);
        /* A container's child named like the host's kubelet: systemd names the scope. */
        ck_assert_int_eq(resolve(SCOPE "/kubelet.service"), UNIT_STATE_NOT_A_UNIT);
        /* A user's delegated web-1.service below a confirmed unit: not that unit. */
        ck_assert_int_eq(resolve("/system.slice/web-1.service/web-1.service"), UNIT_STATE_NOT_A_UNIT);
        /* The Id matches, the ControlGroup does not. */
        ck_assert_int_eq(resolve("/system.slice/liar.service"), UNIT_STATE_NOT_A_UNIT);
        ck_assert_int_eq(resolve("/nowhere/x.service"), UNIT_STATE_NOT_A_UNIT);
}
END_TEST

START_TEST(test_unit_calls)
{
        Answer a = { 0 }, *ap = &a;

        ck_assert_int_eq(bus_unit_call(bus, BUS_KILL, "hog.service", 0, on_done, &ap, sizeof(ap)), 0);
        run_until(&a);
        ck_assert_int_lt(a.error, 0);
        ck_assert_str_eq(a.message, "Unit hog.service not loaded.");
        a = (Answer){ 0 };
        ck_assert_int_eq(bus_unit_call(bus, BUS_KILL, "web-1.service", 0, on_done, &ap, sizeof(ap)), 0);
        run_until(&a);
        ck_assert_int_eq(a.error, 0);
        a = (Answer){ 0 };
        ck_assert_int_eq(bus_unit_call(bus, BUS_RESTART, "web-1.service", 0, on_done, &ap, sizeof(ap)), 0);
        run_until(&a);
        ck_assert_str_eq(a.job, "/org/freedesktop/systemd1/job/42");
}
END_TEST

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        Answer *a = userdata;
        const char *policy, *cgroup, *phase, *json, *ns;

        /* A reader of the first four arguments (before the namespace was added) still works. */
        if (sd_bus_message_read(m, "ssss", &policy, &cgroup, &phase, &json) < 0)
                return 0;
        snprintf(a->message, sizeof(a->message), "%s", cgroup);
        if (sd_bus_message_read(m, "s", &ns) >= 0)
                snprintf(a->job, sizeof(a->job), "%s", ns);
        else
                a->error = -EBADMSG;
        a->done = true;
        return 0;
}

static int on_introspect(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        Answer *a = userdata;
        const char *xml;

        a->done = true;
        if (sd_bus_message_read(m, "s", &xml) >= 0)
                a->error = strstr(xml, "<signal name=\"PolicyEvent\">") &&
                                           strstr(xml, "<arg type=\"s\" name=\"namespace\"/>")
                                   ? 1
                                   : -1;
        return 0;
}

static void on_gone(void *userdata, const char *job)
{
        Answer *a = userdata;
        a->done = true;
        snprintf(a->job, sizeof(a->job), "%s", job);
}

/* After a reconnection the executor asks about each job it still waits for: a
 * job systemd no longer has ended while its JobRemoved could not reach us. */
START_TEST(test_job_check)
{
        Answer a = { 0 };

        ck_assert_int_eq(bus_job_check(bus, "/org/freedesktop/systemd1/job/4711", on_gone, &a), 0);
        run_until(&a);
        ck_assert_str_eq(a.job, "/org/freedesktop/systemd1/job/4711");
}
END_TEST

START_TEST(test_signal)
{
        Answer a = { 0 }, b = { 0 };
        const char *unique = NULL;

        ck_assert_int_ge(sd_bus_match_signal(fake, NULL, NULL, "/org/memwarden1", "org.memwarden1.Manager",
                                             "PolicyEvent", on_signal, &a),
                         0);
        /* Let the match reach the bus before the signal. */
        for (int i = 0; i < 20; i++)
                (void)sd_event_run(event, 5 * USEC_PER_MSEC);
        ck_assert_int_eq(bus_emit_policy_event(bus, "p", "/bad\xff\xc3.scope", "firing", "{}", "team\xff"),
                         0);
        run_until(&a);
        ck_assert_int_eq(a.error, 0);
        ck_assert_str_eq(a.message, "/bad\\xff\\xc3.scope");
        ck_assert_str_eq(a.job, "team\\xff");
        /* The admin's: an empty namespace. */
        a = (Answer){ 0 };
        ck_assert_int_eq(bus_emit_policy_event(bus, "p", "/a.scope", "firing", "{}", NULL), 0);
        run_until(&a);
        ck_assert_int_eq(a.error, 0);
        ck_assert_str_eq(a.job, "");

        ck_assert_int_ge(sd_bus_get_unique_name(bus_get(bus), &unique), 0);
        ck_assert_int_ge(sd_bus_call_method_async(fake, NULL, unique, "/org/memwarden1",
                                                  "org.freedesktop.DBus.Introspectable", "Introspect",
                                                  on_introspect, &b, NULL),
                         0);
        run_until(&b);
        ck_assert_int_eq(b.error, 1);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("bus");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_resolve);
        tcase_add_test(tc, test_unit_calls);
        tcase_add_test(tc, test_job_check);
        tcase_add_test(tc, test_signal);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        if (access("/usr/bin/dbus-daemon", X_OK) < 0) {
                fprintf(stderr, "test-bus: no dbus-daemon, skipped\n");
                return 77;
        }
        sr = srunner_create(make_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
