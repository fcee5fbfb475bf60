/* SPDX-License-Identifier: MIT */
/* The daemon's sinks on temp files: the event log takes decisions only,
 * rotates by size keeping N, and a short write (RLIMIT_FSIZE makes one)
 * never leaves a partial line for the next to be glued to. The output on a
 * FIFO nobody reads never blocks: it queues, drops observations first,
 * counts and tells; the journal over a datagram socket standing in for
 * journald, binary-safe; coalesced memory_events sum to what came in; a
 * record too long is replaced by a warning, never lost. */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz/json-check.h"
#include "hostile-names.h"
#include "macro.h"
#include "sinks.h"
#include "test-main.h"

static char tmp[64], path[128];
static char message[1000];

static void setup(void)
{
        strcpy(tmp, "/tmp/mw-sinks-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmp));
        snprintf(path, sizeof(path), "%s/sub/events.jsonl", tmp);
        memset(message, 'x', sizeof(message) - 1);
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        ck_assert_int_eq(system(cmd), 0);
}

static Record record(bool quiet)
{
        Record r = record_init(RECORD_WARNING);
        r.path = "/x.slice";
        r.message = message;
        r.quiet = quiet;
        return r;
}

static off_t size_of(const char *p)
{
        struct stat st;

        return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Every byte of the file belongs to a complete JSON line. */
static unsigned whole_lines(const char *p)
{
        char buf[65536];
        FILE *f = fopen(p, "re");
        size_t n;
        unsigned lines = 0;

        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        for (char *l = buf; *l;) {
                char *nl = strchr(l, '\n');
                ck_assert_msg(nl, "unterminated line in %s", p);
                ck_assert_msg(l[0] == '{' && nl[-1] == '}', "not a whole record in %s", p);
                lines++;
                l = nl + 1;
        }
        return lines;
}

START_TEST(test_event_log_rotation)
{
        Sinks s;
        Record r = record(false);
        char name[160];

        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_NONE,
                                                        .event_log = path,
                                                        .event_log_max = 4096,
                                                        .event_log_keep = 2 }),
                         0);
        ck_assert_int_eq(size_of(path), 0); /* its directory made */
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        ck_assert_int_eq(size_of(path), 0); /* observations are not for the event log */
        for (int i = 0; i < 20; i++)
                sinks_write(&s, &r, SINK_KIND_DECISION);
        for (unsigned i = 0; i <= 2; i++) {
                snprintf(name, sizeof(name), i ? "%s.%u" : "%s", path, i);
                ck_assert_int_le(size_of(name), 4096);
                ck_assert_uint_ge(whole_lines(name), 1);
        }
        snprintf(name, sizeof(name), "%s.3", path);
        ck_assert_int_eq(size_of(name), -1);
        ck_assert_uint_ge(s.log.n_rotations, 4);
        ck_assert_uint_eq(sinks_event_log_errors(&s), 0);
        sinks_close(&s);
}
END_TEST

START_TEST(test_event_log_short_write)
{
        Sinks s;
        Record r = record(false);
        struct rlimit rl;
        off_t one;

        signal(SIGXFSZ, SIG_IGN);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_NONE,
                                                        .event_log = path,
                                                        .event_log_max = 1 << 20,
                                                        .event_log_keep = 1 }),
                         0);
        sinks_write(&s, &r, SINK_KIND_DECISION);
        one = size_of(path);
        ck_assert_int_gt(one, 500);
        /* The next line stops 100 bytes in: the file is cut back to one line. */
        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &(struct rlimit){ (rlim_t)one + 100, rl.rlim_max }), 0);
        sinks_write(&s, &r, SINK_KIND_DECISION);
        ck_assert_int_eq(size_of(path), one);
        ck_assert_uint_eq(sinks_event_log_errors(&s), 1);
        ck_assert_uint_eq(s.log.n_dropped, 1);
        /* At the limit: nothing written, nothing partial. */
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &(struct rlimit){ (rlim_t)one, rl.rlim_max }), 0);
        sinks_write(&s, &r, SINK_KIND_DECISION);
        ck_assert_uint_eq(sinks_event_log_errors(&s), 2);
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
        sinks_write(&s, &r, SINK_KIND_DECISION);
        ck_assert_uint_eq(whole_lines(path), 2);
        ck_assert_int_eq(size_of(path), 2 * one);
        ck_assert_uint_eq(s.log.size, (uint64_t)(2 * one));
        sinks_close(&s);
}
END_TEST

START_TEST(test_output_file)
{
        char out[160];
        Sinks s;
        Record r = record(false), q = record(true);

        snprintf(out, sizeof(out), "%s/out.jsonl", tmp);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE, .output_path = out }), 0);
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        sinks_write(&s, &q, SINK_KIND_OBSERVATION); /* quiet: for the engine only */
        sinks_write(&s, &r, SINK_KIND_DECISION);
        ck_assert(!s.sinks[0].queued); /* a regular file */
        /* A failed write (EFBIG here) is a drop, told with the next line. */
        struct rlimit rl;
        signal(SIGXFSZ, SIG_IGN);
        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &(struct rlimit){ (rlim_t)size_of(out), rl.rlim_max }), 0);
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        ck_assert_uint_eq(s.sinks[0].n_dropped, 1);
        ck_assert_uint_eq(sinks_output_errors(&s), 1);
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        sinks_close(&s);
        ck_assert_uint_eq(whole_lines(out), 4);
        {
                static char all[65536];
                FILE *f = fopen(out, "re");
                size_t n = fread(all, 1, sizeof(all) - 1, f);
                fclose(f);
                all[n] = '\0';
                ck_assert_ptr_nonnull(strstr(all, "\"dropped\":1,\"sink\":\"file\""));
        }
        ck_assert_int_eq(size_of(path), -1); /* no event log asked for */

        snprintf(out, sizeof(out), "%s/no/such/dir/out", tmp);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE, .output_path = out }),
                         -ENOENT);
        sinks_close(&s);
}
END_TEST

/* ---- the output on a FIFO nobody reads ---- */

static int fifo_reader(char *fifo, size_t size)
{
        int fd;

        snprintf(fifo, size, "%s/out.fifo", tmp);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        return fd;
}

/* Read what the FIFO has into buf (NUL-ended), draining the sinks' queue as
 * it goes; returns the bytes read. */
static size_t read_all(Sinks *s, int fd, char *buf, size_t size)
{
        size_t have = 0;
        ssize_t n;

        for (;;) {
                size_t left = sinks_drain(s);
                n = read(fd, buf + have, size - 1 - have);
                if (n > 0)
                        have += (size_t)n;
                else if (left == 0)
                        break;
                ck_assert_uint_lt(have, size - 1);
        }
        buf[have] = '\0';
        return have;
}

static unsigned count(const char *buf, const char *needle)
{
        unsigned n = 0;

        for (const char *p = buf; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

START_TEST(test_output_fifo_never_blocks)
{
        static char buf[4 << 20];
        char fifo[160], want[64];
        Record r = record(false);
        SinksStats st;
        Sinks s;
        int rd = fifo_reader(fifo, sizeof(fifo));
        unsigned n_obs = 0, n_dec = 0;

        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE,
                                                        .output_path = fifo,
                                                        .queue_size = 64 << 10 }),
                         0);
        ck_assert(s.sinks[0].queued);
        /* Nobody reads: the pipe (64 KiB) fills, then the queue's first 48 KiB. */
        for (unsigned i = 0; i < 400; i++, n_obs++)
                sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        sinks_get_stats(&s, &st);
        ck_assert_str_eq(st.output, "file");
        ck_assert_uint_gt(st.dropped, 0);
        ck_assert_uint_eq(st.written + st.dropped, n_obs);
        ck_assert_uint_le(st.queued_bytes, 48 << 10);
        /* Decisions still get the last quarter; the first says what was lost. */
        uint64_t dropped = st.dropped;
        for (unsigned i = 0; i < 10; i++, n_dec++)
                sinks_write(&s, &r, SINK_KIND_DECISION);
        sinks_get_stats(&s, &st);
        ck_assert_uint_eq(st.dropped, dropped);
        ck_assert_uint_eq(st.written + st.dropped, n_obs + n_dec);
        ck_assert_uint_gt(st.queued_bytes, 48 << 10);
        /* The reader comes back: everything queued arrives, whole lines. */
        read_all(&s, rd, buf, sizeof(buf));
        ck_assert_uint_eq(count(buf, "\n"), st.written + 1);
        ck_assert_uint_eq(count(buf, "\"dropped\""), 1);
        snprintf(want, sizeof(want), "\"dropped\":%" PRIu64 ",\"sink\":\"file\"", dropped);
        ck_assert_msg(strstr(buf, want), "no drop notice in the output");
        ck_assert(strncmp(buf, "{\"ts\"", 5) == 0);
        /* Told once. */
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        read_all(&s, rd, buf, sizeof(buf));
        ck_assert_uint_eq(count(buf, "\n"), 1);
        ck_assert_uint_eq(count(buf, "\"dropped\""), 0);
        sinks_get_stats(&s, &st);
        ck_assert_uint_eq(st.dropped, dropped);
        ck_assert_uint_eq(st.queued_bytes, 0);
        sinks_close(&s);
        close(rd);
}
END_TEST

/* With a loop: the IO source drains the queue, and is off while it is empty. */
START_TEST(test_output_fifo_event_loop)
{
        static char buf[4 << 20];
        char fifo[160];
        Record r = record(false);
        sd_event *e = NULL;
        int rd = fifo_reader(fifo, sizeof(fifo)), enabled = -1;
        size_t have = 0;
        Sinks s;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE,
                                                        .output_path = fifo,
                                                        .queue_size = 1U << 20 }),
                         0);
        ck_assert_int_eq(sinks_attach_event(&s, e, NULL, NULL), 0);
        ck_assert_int_ge(sd_event_source_get_enabled(s.sinks[0].io, &enabled), 0);
        ck_assert_int_eq(enabled, SD_EVENT_OFF);
        for (unsigned i = 0; i < 300; i++) /* 300 KiB: past the pipe, within 1 MiB */
                sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        ck_assert_uint_eq(s.sinks[0].n_dropped, 0);
        ck_assert_int_ge(sd_event_source_get_enabled(s.sinks[0].io, &enabled), 0);
        ck_assert_int_eq(enabled, SD_EVENT_ON);
        while (!outq_empty(&s.sinks[0].q)) {
                ssize_t n = read(rd, buf + have, sizeof(buf) - 1 - have);
                if (n > 0)
                        have += (size_t)n;
                ck_assert_int_ge(sd_event_run(e, 100 * 1000), 0);
        }
        ssize_t n;
        while ((n = read(rd, buf + have, sizeof(buf) - 1 - have)) > 0)
                have += (size_t)n;
        buf[have] = '\0';
        ck_assert_uint_eq(count(buf, "\n"), 300);
        ck_assert_int_ge(sd_event_source_get_enabled(s.sinks[0].io, &enabled), 0);
        ck_assert_int_eq(enabled, SD_EVENT_OFF);
        sinks_close(&s);

        /* A character device epoll refuses: written directly. */
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE, .output_path = "/dev/null" }),
                         0);
        ck_assert_int_eq(sinks_attach_event(&s, e, NULL, NULL), 0);
        ck_assert(!s.sinks[0].queued);
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        ck_assert_uint_eq(s.sinks[0].n_written, 1);
        sinks_close(&s);
        sd_event_unref(e);
        close(rd);
}
END_TEST

/* ---- too long ---- */

START_TEST(test_too_long)
{
        static char big[20000], raw[4000], line[65536];
        char out[160];
        Record r = record(false);
        SinksStats st;
        Sinks s;
        FILE *f;

        snprintf(out, sizeof(out), "%s/out.jsonl", tmp);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE, .output_path = out }), 0);
        memset(big, 'x', sizeof(big) - 1);
        r.message = big;
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        /* A path that is all invalid UTF-8: 6 bytes each escaped, 24 KiB. */
        memset(raw, 0xff, sizeof(raw) - 1);
        r.path = raw;
        sinks_write(&s, &r, SINK_KIND_DECISION);
        sinks_get_stats(&s, &st);
        ck_assert_uint_eq(st.too_long, 2);
        ck_assert_uint_eq(s.n_lost, 0);
        sinks_close(&s);
        ck_assert_uint_eq(whole_lines(out), 2);
        f = fopen(out, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
        ck_assert_ptr_nonnull(strstr(line, "\"too_long\":\"warning\""));
        ck_assert_ptr_nonnull(strstr(line, "\"cgroup\":\"/x.slice\""));
        ck_assert_ptr_nonnull(strstr(line, "\"error\":\"EMSGSIZE\""));
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
        ck_assert_ptr_nonnull(strstr(line, "...(cut)\""));
        fclose(f);
}
END_TEST

/* ---- the journal, a datagram socket standing in for journald ---- */

/* The value of KEY in a native-protocol datagram (either form), or NULL. */
static const char *field(const char *d, size_t n, const char *key, size_t *ret_len)
{
        size_t klen = strlen(key);

        for (size_t i = 0; i < n;) {
                const char *nl = memchr(d + i, '\n', n - i), *eq;
                ck_assert_ptr_nonnull(nl);
                eq = memchr(d + i, '=', (size_t)(nl - (d + i)));
                if (eq) {
                        bool hit = (size_t)(eq - (d + i)) == klen && memcmp(d + i, key, klen) == 0;
                        if (hit) {
                                *ret_len = (size_t)(nl - eq - 1);
                                return eq + 1;
                        }
                        i = (size_t)(nl - d) + 1;
                        continue;
                }
                /* KEY\n<le64><bytes>\n */
                uint64_t len;
                const char *v = nl + 1 + 8;
                bool hit = (size_t)(nl - (d + i)) == klen && memcmp(d + i, key, klen) == 0;
                memcpy(&len, nl + 1, 8);
                len = le64toh(len);
                ck_assert_uint_le((size_t)(v - d) + len + 1, n);
                ck_assert_int_eq(v[len], '\n');
                if (hit) {
                        *ret_len = len;
                        return v;
                }
                i = (size_t)(v - d) + len + 1;
        }
        return NULL;
}

static int journal_server(char *sock, size_t size)
{
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        ck_assert_int_ge(fd, 0);
        snprintf(sock, size, "%s/journal.socket", tmp);
        strcpy(a.sun_path, sock);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        return fd;
}

START_TEST(test_journal_native)
{
        static char d[65536];
        char sock[160], want[40];
        Record r = record(false);
        const char *v;
        size_t len;
        Sinks s;
        int srv = journal_server(sock, sizeof(sock));
        ssize_t n;

        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_JOURNAL, .journal_socket = sock }),
                         0);
        r.path = "/a\nb.slice"; /* cgroup names may hold newlines */
        r.message = "two\nlines";
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        n = recv(srv, d, sizeof(d), 0);
        ck_assert_int_gt(n, 0);
        v = field(d, (size_t)n, "MESSAGE", &len);
        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(len, strlen("warning /a\nb.slice: two\nlines"));
        ck_assert(memcmp(v, "warning /a\nb.slice: two\nlines", len) == 0);
        v = field(d, (size_t)n, "MEMWARDEN_CGROUP", &len);
        ck_assert(v && len == 10 && memcmp(v, "/a\nb.slice", 10) == 0);
        v = field(d, (size_t)n, "PRIORITY", &len);
        ck_assert(v && len == 1 && v[0] == '4');
        snprintf(want, sizeof(want), "6d656d7761726465e0000000000000%02x", (unsigned)RECORD_WARNING);
        v = field(d, (size_t)n, "MESSAGE_ID", &len);
        ck_assert(v && len == 32 && memcmp(v, want, 32) == 0);
        v = field(d, (size_t)n, "MEMWARDEN_EVENT", &len);
        ck_assert(v && len == 7 && memcmp(v, "warning", 7) == 0);
        v = field(d, (size_t)n, "MEMWARDEN_JSON", &len);
        ck_assert(v && v[0] == '{' && v[len - 1] == '}' && !memchr(v, '\n', len));
        ck_assert_uint_eq(s.sinks[0].n_written, 1);

        /* journald not reading: the socket's queue fills, then drops, counted. */
        r.path = "/x.slice";
        for (unsigned i = 0; i < 2000; i++)
                sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        uint64_t dropped = s.sinks[0].n_dropped;
        ck_assert_uint_gt(dropped, 0);
        ck_assert_uint_eq(s.sinks[0].n_written + dropped, 2001);
        ck_assert_uint_eq(s.sinks[0].n_errors, 0);
        while (recv(srv, d, sizeof(d), 0) > 0)
                ;
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        n = recv(srv, d, sizeof(d), 0); /* first the notice */
        ck_assert_int_gt(n, 0);
        v = field(d, (size_t)n, "MEMWARDEN_JSON", &len);
        snprintf(want, sizeof(want), "\"dropped\":%" PRIu64, dropped);
        ck_assert(v && memmem(v, len, want, strlen(want)));
        ck_assert_int_gt(recv(srv, d, sizeof(d), 0), 0); /* then the record */
        ck_assert_int_lt(recv(srv, d, sizeof(d), 0), 0);
        sinks_close(&s);

        /* No journald at all: errors, counted, nothing else. */
        close(srv);
        unlink(sock);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_JOURNAL, .journal_socket = sock }),
                         0);
        sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        ck_assert_uint_eq(sinks_output_errors(&s), 1);
        sinks_close(&s);
}
END_TEST

/* A native-protocol datagram decoded as journald does, strictly: every field
 * a valid user field name (A-Z, 0-9, '_', not first, at most 64) in either
 * form, nothing left over. Returns the number of fields. */
typedef struct JField {
        char key[65];
        const char *v;
        size_t len;
} JField;

static unsigned journal_decode(const char *d, size_t n, JField *f, unsigned max)
{
        unsigned nf = 0;

        for (size_t i = 0; i < n;) {
                const char *nl = memchr(d + i, '\n', n - i), *eq;
                ck_assert_ptr_nonnull(nl);
                ck_assert_uint_lt(nf, max);
                eq = memchr(d + i, '=', (size_t)(nl - (d + i)));
                size_t klen = (size_t)((eq ? eq : nl) - (d + i));
                ck_assert(klen > 0 && klen <= 64 && d[i] != '_');
                for (size_t k = 0; k < klen; k++) {
                        char ch = d[i + k];
                        ck_assert((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_');
                }
                memcpy(f[nf].key, d + i, klen);
                f[nf].key[klen] = '\0';
                if (eq) {
                        f[nf].v = eq + 1;
                        f[nf].len = (size_t)(nl - eq - 1);
                        i = (size_t)(nl - d) + 1;
                } else {
                        uint64_t len;
                        ck_assert_uint_le((size_t)(nl - d) + 1 + 8, n);
                        memcpy(&len, nl + 1, 8);
                        len = le64toh(len);
                        f[nf].v = nl + 1 + 8;
                        ck_assert_uint_le((size_t)(f[nf].v - d) + len + 1, n);
                        ck_assert_int_eq(f[nf].v[len], '\n');
                        f[nf].len = len;
                        i = (size_t)(f[nf].v - d) + len + 1;
                }
                nf++;
        }
        return nf;
}

static bool jfield_is(const JField *f, const char *v, size_t len)
{
        return f->len == len && memcmp(f->v, v, len) == 0;
}

/* Every hostile row as a cgroup path and as a message: the datagram decodes
 * to exactly the six fields, in order, each once, with the bytes that went
 * in (a C string stops at its NUL), or the too-long stand-in. */
START_TEST(test_journal_hostile)
{
        static const char *const keys[] = { "MESSAGE",         "PRIORITY",         "MESSAGE_ID",
                                            "MEMWARDEN_EVENT", "MEMWARDEN_CGROUP", "MEMWARDEN_JSON" };
        static char d[65536], cgpath[HOSTILE_MAX + 2], z[HOSTILE_MAX + 1], want[3 * HOSTILE_MAX],
                back[2 * HOSTILE_MAX], cut[1100];
        char sock[160];
        JField f[16];
        Sinks s;
        int srv = journal_server(sock, sizeof(sock));

        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_JOURNAL, .journal_socket = sock }),
                         0);
        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *nm = &hostile_names[i];
                Record r = record_init(RECORD_WARNING);
                size_t blen;

                cgpath[0] = '/';
                memcpy(cgpath + 1, nm->bytes, nm->len);
                cgpath[nm->len + 1] = '\0';
                memcpy(z, nm->bytes, nm->len);
                z[nm->len] = '\0';
                r.path = cgpath;
                r.message = z;
                sinks_write(&s, &r, SINK_KIND_OBSERVATION);
                ssize_t n = recv(srv, d, sizeof(d), 0);
                ck_assert_msg(n > 0, "%s: nothing sent", nm->what);
                unsigned nf = journal_decode(d, (size_t)n, f, 16);
                ck_assert_msg(nf == ELEMENTSOF(keys), "%s: %u fields", nm->what, nf);
                for (unsigned k = 0; k < nf; k++)
                        ck_assert_str_eq(f[k].key, keys[k]);

                /* The JSON: one line, valid, and names what the other fields name. */
                ck_assert(f[5].len > 0 && !memchr(f[5].v, '\n', f[5].len));
                ck_assert_msg(json_check(f[5].v, f[5].len, "message", back, sizeof(back), &blen) == 0,
                              "%s: %.200s", nm->what, f[5].v);
                bool stand_in = blen != strlen(z) || memcmp(back, z, blen) != 0;
                snprintf(cut, sizeof(cut), "%.1024s...(cut)", cgpath);
                ck_assert_msg(jfield_is(&f[4], cgpath, strlen(cgpath)) ||
                                      (stand_in && jfield_is(&f[4], cut, strlen(cut))),
                              "%s: MEMWARDEN_CGROUP", nm->what);
                ck_assert_msg(!stand_in || nm->len >= 1024, "%s: stood in for", nm->what);
                int wl = snprintf(want, sizeof(want), "warning %.*s: %.*s", (int)f[4].len, f[4].v, (int)blen,
                                  back);
                ck_assert_msg(jfield_is(&f[0], want, (size_t)wl), "%s: MESSAGE", nm->what);
                ck_assert(jfield_is(&f[1], "4", 1));
                ck_assert(jfield_is(&f[3], "warning", 7));
                ck_assert_int_eq(json_check(f[5].v, f[5].len, "cgroup", back, sizeof(back), &blen), 0);
                ck_assert(jfield_is(&f[4], back, blen));
        }
        ck_assert_uint_eq(s.sinks[0].n_dropped, 0);
        sinks_close(&s);
        close(srv);
}
END_TEST

/* ---- coalescing, through the sinks ---- */

static Cgroup *test_cg;

static const Cgroup *lookup(void *userdata, uint32_t slot, uint32_t serial)
{
        (void)userdata;
        return test_cg && test_cg->slot == slot && test_cg->serial == serial ? test_cg : NULL;
}

static unsigned read_lines(const char *p, char lines[][4096], unsigned max)
{
        FILE *f = fopen(p, "re");
        unsigned n = 0;

        ck_assert_ptr_nonnull(f);
        while (n < max && fgets(lines[n], 4096, f))
                n++;
        fclose(f);
        return n;
}

START_TEST(test_coalesce_output)
{
        static char lines[8][4096];
        Cgroup *root = calloc(1, sizeof(Cgroup) + 8), *c = calloc(1, sizeof(Cgroup) + 16);
        MemEventsDelta d = { .any = true };
        char out[160];
        Record r = record_init(RECORD_MEMORY_EVENTS);
        Sinks s;

        ck_assert(root && c);
        root->kind = CGROUP_KIND_ROOT;
        c->parent = root;
        c->kind = CGROUP_KIND_SLICE;
        c->slot = 4;
        c->serial = 9;
        c->high = c->max = UINT64_MAX;
        strcpy(c->name, "a.slice");
        c->name_len = 7;
        c->events.present = 1U << MEMEV_MAX;
        test_cg = c;
        snprintf(out, sizeof(out), "%s/out.jsonl", tmp);
        ck_assert_int_eq(sinks_open(&s, &(SinksConfig){ .output = OUTPUT_FILE,
                                                        .output_path = out,
                                                        .coalesce_usec = USEC_PER_SEC }),
                         0);
        ck_assert_int_eq(sinks_attach_event(&s, NULL, lookup, NULL), 0);
        r.cgroup = c;
        r.path = "/a.slice";
        r.delta = &d;
        d.value[MEMEV_MAX] = 1;
        for (unsigned i = 0; i < 1000; i++) {
                r.mono_usec = now_usec(CLOCK_MONOTONIC);
                c->events.value[MEMEV_MAX]++;
                sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        }
        ck_assert_uint_eq(read_lines(out, lines, 8), 1); /* the first, at once */
        ck_assert_ptr_nonnull(strstr(lines[0], "\"delta\":{\"max\":1}"));
        sinks_flush_summaries(&s, UINT64_MAX);
        ck_assert_uint_eq(read_lines(out, lines, 8), 2);
        ck_assert_ptr_nonnull(strstr(lines[1], "\"delta\":{\"max\":999}"));
        ck_assert_ptr_nonnull(strstr(lines[1], "\"counters\":{\"max\":1000}"));
        ck_assert_ptr_nonnull(strstr(lines[1], "\"coalesced\":999"));
        /* Removed with a summary pending: the summary goes first. */
        d.value[MEMEV_MAX] = 3;
        for (unsigned i = 0; i < 3; i++) {
                r.mono_usec = now_usec(CLOCK_MONOTONIC);
                sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        }
        Record gone = record_init(RECORD_CGROUP_REMOVED);
        gone.cgroup = c;
        gone.path = "/a.slice";
        sinks_write(&s, &gone, SINK_KIND_OBSERVATION);
        ck_assert_uint_eq(read_lines(out, lines, 8), 5);
        ck_assert_ptr_nonnull(strstr(lines[2], "\"delta\":{\"max\":3}"));
        ck_assert_ptr_nonnull(strstr(lines[3], "\"delta\":{\"max\":6}"));
        ck_assert_ptr_nonnull(strstr(lines[3], "\"coalesced\":2"));
        ck_assert_ptr_nonnull(strstr(lines[4], "\"event\":\"cgroup_removed\""));
        /* Gone without a word (a rescan): the loss is told, not silent. */
        for (unsigned i = 0; i < 2; i++) {
                r.mono_usec = now_usec(CLOCK_MONOTONIC);
                sinks_write(&s, &r, SINK_KIND_OBSERVATION);
        }
        test_cg = NULL;
        sinks_flush_summaries(&s, UINT64_MAX);
        ck_assert_uint_eq(read_lines(out, lines, 8), 7);
        ck_assert_ptr_nonnull(strstr(lines[6], "\"event\":\"warning\""));
        ck_assert_ptr_nonnull(strstr(lines[6], "\"coalesced\":1"));
        SinksStats st;
        sinks_get_stats(&s, &st);
        ck_assert_uint_eq(st.coalesced, 1002);
        ck_assert_uint_eq(st.summaries, 3);
        ck_assert_uint_eq(st.coalesce_lost, 1);
        sinks_close(&s);
        free(c);
        free(root);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("sinks");
        TCase *tc = tcase_create("files");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_event_log_rotation);
        tcase_add_test(tc, test_event_log_short_write);
        tcase_add_test(tc, test_output_file);
        tcase_add_test(tc, test_too_long);
        tcase_add_test(tc, test_coalesce_output);
        suite_add_tcase(s, tc);
        tc = tcase_create("nonblocking");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_output_fifo_never_blocks);
        tcase_add_test(tc, test_output_fifo_event_loop);
        tcase_add_test(tc, test_journal_native);
        tcase_add_test(tc, test_journal_hostile);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
