/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "coalesce.h"
#include "eventlog.h"
#include "outq.h"
#include "record.h"

/* Where records go: the output (stdout, a file or the journal) and the event
 * log, behind one interface. Each record is formatted once, into a fixed
 * buffer, and handed to every sink that takes its kind.
 *
 * Nothing here blocks the loop on a reader: a pipe, tty or socket output is
 * written non-blocking, what it does not take now waits in a fixed queue
 * (drained when the fd is writable), and what does not fit the queue is
 * dropped, counted, and announced by a `warning` record with `dropped` ahead
 * of the next line that gets through. Decisions (policy, action) may use the
 * whole queue, observations only the first three quarters. The journal is
 * written over its native protocol with MSG_DONTWAIT: a datagram journald
 * has no room for is a drop, counted the same way. */

typedef enum OutputMode {
        OUTPUT_STDOUT,
        OUTPUT_FILE,
        OUTPUT_JOURNAL,
        OUTPUT_NONE,
} OutputMode;

/* A record's kind, for the sinks' choice. */
typedef enum SinkKind {
        SINK_KIND_OBSERVATION = 1U << 0, /* watcher and node records */
        SINK_KIND_DECISION = 1U << 1,    /* policy decisions and action outcomes */
} SinkKind;

#define SINKS_RECORD_MAX 16384
/* About a thousand records: a reader that stops for a while loses observations
 * (counted, decisions kept); coalescing keeps floods far below it. Set aside
 * and locked at start, so it is what the agent's RSS grows by. */
#define SINKS_QUEUE_SIZE_DEFAULT (256U << 10)
#define SINKS_QUEUE_SIZE_MIN     (64U << 10) /* room for a record and a drop notice, several times */

typedef struct Sinks Sinks;
typedef struct Sink Sink;

struct Sink {
        const char *name;
        unsigned accepts; /* SinkKind bits */
        bool skip_quiet;  /* quiet records are for the engine only */
        bool needs_json;  /* write() wants the formatted line */
        void (*write)(Sinks *s, Sink *k, const Record *r, SinkKind kind, const char *json, size_t len);
        void (*close)(Sinks *s, Sink *k);
        int fd;
        uint64_t n_errors;
        uint64_t n_written;    /* records written or queued */
        uint64_t n_dropped;    /* records lost: queue full, journald full, write errors */
        uint64_t n_unreported; /* of those, not yet told in a `dropped` warning */
        bool queued;           /* non-blocking fd with the queue behind it (not a regular file) */
        bool restore_blocking; /* O_NONBLOCK set on a shared fd (stdout): cleared at close */
        OutQueue q;
        sd_event_source *io; /* EPOLLOUT, enabled only while q holds something */
};

typedef struct SinksConfig {
        OutputMode output;
        const char *output_path;
        const char *journal_socket; /* NULL: /run/systemd/journal/socket */
        size_t queue_size;          /* 0: SINKS_QUEUE_SIZE_DEFAULT; at least SINKS_QUEUE_SIZE_MIN */
        uint64_t coalesce_usec;     /* memory_events: one summary per cgroup per interval; 0: off */
        unsigned coalesce_max;      /* cgroups coalesced at once; 0: COALESCE_MAX_DEFAULT */
        const char *event_log;      /* NULL: none */
        uint64_t event_log_max;
        unsigned event_log_keep;
} SinksConfig;

#define SINKS_MAX 2

/* The cgroup of a coalesced summary, when its timer fires (NULL: gone). */
typedef const Cgroup *(*SinksLookup)(void *userdata, uint32_t slot, uint32_t serial);

struct Sinks {
        SinksConfig cfg;
        Sink sinks[SINKS_MAX];
        unsigned n_sinks;
        EventLog log;
        uint64_t n_too_large; /* records that did not fit the buffer: a warning went instead */
        uint64_t n_lost;      /* of those, not even the warning fitted */
        Coalescer co;
        uint64_t n_coalesce_lost; /* summaries whose cgroup could not be found */
        sd_event *event;
        sd_event_source *coalesce_timer; /* armed only while a summary is pending */
        SinksLookup lookup;
        void *lookup_userdata;
        struct sockaddr_un journal_addr;
        socklen_t journal_addr_len;
        char buf[SINKS_RECORD_MAX];
        char marker[512];                   /* the `dropped` warning */
        char text[SINKS_RECORD_MAX + 4200]; /* the journal's MESSAGE= */
        char path[4096];                    /* a summary's cgroup */
        char cut_path[1100];                /* a too-long record's path, cut */
};

typedef struct SinksStats {
        const char *output; /* the output sink's name; NULL: none */
        uint64_t written, dropped, errors;
        size_t queued_bytes, queue_high_water, queue_size;
        uint64_t coalesced, summaries, coalesce_untracked, coalesce_lost;
        uint64_t too_long;
        uint64_t event_log_errors, event_log_dropped;
} SinksStats;

/* Open what cfg asks for, allocating every buffer. A file output that cannot
 * be opened is fatal (-errno, logged); an event log that cannot be opened is
 * warned about and left out. */
int sinks_open(Sinks *s, const SinksConfig *cfg);
/* Drain the queue and flush coalesced summaries from e; lookup finds a
 * summary's cgroup. */
int sinks_attach_event(Sinks *s, sd_event *e, SinksLookup lookup, void *userdata);
/* The queue gets up to a second to drain. Call sinks_flush_summaries(s,
 * UINT64_MAX) first, while lookup still works. */
void sinks_close(Sinks *s);
void sinks_write(Sinks *s, const Record *r, SinkKind kind);
/* Write the summaries due at now (the timer's work). */
void sinks_flush_summaries(Sinks *s, uint64_t now_usec);
/* Write what the output's fd takes now of its queue (the IO source's work):
 * bytes still queued. */
size_t sinks_drain(Sinks *s);

void sinks_get_stats(const Sinks *s, SinksStats *ret);
uint64_t sinks_output_errors(const Sinks *s);
uint64_t sinks_event_log_errors(const Sinks *s);
