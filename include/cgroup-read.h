/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

/* Readers of cgroup attribute files. Every one takes the cgroup's directory fd,
 * returns 0 or -errno and writes its result only on success. -ENOENT and
 * -ENODEV are normal: the cgroup went away between the event and the read. */

/* Read the whole of an already open attribute file from offset 0 (pread, so one
 * fd can be re-read for every notification). -ENOBUFS if it does not fit. */
int cg_pread_all(int fd, char *buf, size_t size, size_t *ret_len);

/* openat(dirfd, file) and read all of it into buf (NUL-terminated). */
int cg_read_file(int dirfd, const char *file, char *buf, size_t size, size_t *ret_len);

/* Single-number files: memory.current, memory.swap.current, memory.peak. */
int cg_read_u64(int dirfd, const char *file, uint64_t *ret);

/* Limit files: memory.high, memory.max, memory.min, memory.low; "max" is UINT64_MAX. */
int cg_read_limit(int dirfd, const char *file, uint64_t *ret);

typedef struct CgroupEvents {
        bool populated;
        bool frozen;
} CgroupEvents;

/* cgroup.events: -EINVAL on a malformed line, a value other than 0 or 1, or
 * no "populated" key. */
int cgroup_events_parse(const char *buf, size_t len, CgroupEvents *ret);

/* The parts of memory.stat a "why" question needs, in bytes. Keys the kernel
 * does not have stay 0; unknown keys are ignored. */
typedef enum MemStatField {
        MEMSTAT_ANON,
        MEMSTAT_FILE,
        MEMSTAT_KERNEL,
        MEMSTAT_KERNEL_STACK,
        MEMSTAT_PAGETABLES,
        MEMSTAT_SOCK,
        MEMSTAT_SHMEM,
        MEMSTAT_FILE_MAPPED,
        MEMSTAT_FILE_DIRTY,
        MEMSTAT_FILE_WRITEBACK,
        MEMSTAT_SLAB,
        MEMSTAT_SLAB_RECLAIMABLE,
        MEMSTAT_SLAB_UNRECLAIMABLE,
        MEMSTAT_PGMAJFAULT,
        MEMSTAT_WORKINGSET_REFAULT_ANON,
        MEMSTAT_WORKINGSET_REFAULT_FILE,
        _MEMSTAT_MAX,
        _MEMSTAT_INVALID = -22,
} MemStatField;

typedef struct MemoryStat {
        uint64_t value[_MEMSTAT_MAX];
        uint32_t present; /* bit i set when field i was in the file */
} MemoryStat;

/* -EINVAL on a malformed line or when no known key is there. */
int memory_stat_parse(const char *buf, size_t len, MemoryStat *ret);

/* Whether path is on a cgroup2 file system (statfs magic CGROUP2_SUPER_MAGIC):
 * 1 if it is, 0 if it is something else (a v1 hierarchy, a test's tmpfs),
 * -errno if statfs() fails (-ENOENT: no such path). */
int cg_is_cgroup2(const char *path);

/* Whether path is on a cgroup v1 file system (CGROUP_SUPER_MAGIC): 1, 0, or
 * -errno if statfs() fails. */
int cg_is_cgroup1(const char *path);

/* One line of a mountinfo-format file: pointers into the caller's line
 * buffer, the mount point unescaped (\040 is a space). */
typedef struct MountEntry {
        const char *mountpoint, *fstype, *superopts;
} MountEntry;

/* The next well-formed line of f into ret (malformed lines are skipped);
 * 1, or 0 at the end or on a read error. */
int cg_mountinfo_next(FILE *f, char *line, size_t size, MountEntry *ret);
/* Whether a comma-separated option list holds opt exactly. */
bool mount_has_option(const char *opts, const char *opt);

/* Find a cgroup2 mount in a mountinfo-format file (normally /proc/self/mountinfo),
 * preferring /sys/fs/cgroup. Returns 0 with the mount point in ret_path and
 * whether the memory_localevents option is set; -ENOENT if there is none,
 * -ENAMETOOLONG if it does not fit size, -errno if the file cannot be read. */
int cg_find_cgroup2_mount(const char *mountinfo_path, char *ret_path, size_t size, bool *ret_localevents);

/* Whether controller (e.g. "memory") is in cgroup.controllers of the cgroup
 * at dirfd: 1 if it is, 0 if not, -errno if the file cannot be read. */
int cg_has_controller(int dirfd, const char *controller);

/* Call f for each entry of the directory at fd (from its start: the offset is
 * reset) until f returns non-zero; getdents64 into the stack, no allocation.
 * type is the DT_* of the entry. Returns f's value, -ENOENT when no call
 * returned non-zero, or -errno. */
typedef int (*DirEntryFunc)(const char *name, unsigned char type, void *userdata);
int dir_for_each(int fd, DirEntryFunc f, void *userdata);
