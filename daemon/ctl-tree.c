/* SPDX-License-Identifier: MIT */
/* memwardenctl tree: ask the daemon for status and explain, read each
 * cgroup's memory.current/low/min under the root the daemon names, and print
 * the tree (src/tree-view.c). */
#include "ctl-tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tree-view.h"
#include "macro.h"

/* One request, then each answer line to add(); 0, or 1 after saying why. */
static int ask(const char *socket_path, const char *req, Tree *t, int (*add)(Tree *, const char *, size_t))
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        FILE *f;
        int r = 0;

        if (strlen(socket_path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "memwardenctl: socket path too long\n");
                return 1;
        }
        strcpy(sa.sun_path, socket_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
                fprintf(stderr, "memwardenctl: cannot reach memwardend at '%s': %s\n", socket_path,
                        strerror(errno));
                return 1;
        }
        (void)shutdown(fd, SHUT_WR);
        f = fdopen(fd, "r");
        if (!f)
                return 1;
        fd = -1;
        while ((n = getline(&line, &cap, f)) > 0) {
                if (line[n - 1] == '\n')
                        line[--n] = '\0';
                if (strstr(line, "\"error\"") && line[0] == '{' && !strstr(line, "\"cgroup\"")) {
                        fprintf(stderr, "memwardenctl: the daemon says: %.200s\n", line);
                        r = 1;
                        break;
                }
                if (add(t, line, (size_t)n) == -ENOMEM) {
                        fprintf(stderr, "memwardenctl: out of memory\n");
                        r = 1;
                        break;
                }
        }
        free(line);
        fclose(f);
        return r;
}

int ctl_tree(const char *socket_path, const char *subtree, bool json)
{
        Tree t = {};
        int r;

        r = ask(socket_path, "status\n", &t, tree_add_status);
        if (r == 0)
                r = ask(socket_path, "explain\n", &t, tree_add_explain);
        if (r == 0 && t.root[0] && !strchr(t.root, '\\')) {
                _cleanup_close_ int root_fd = open(t.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root_fd >= 0)
                        tree_read_files(&t, root_fd);
        }
        if (r == 0) {
                tree_finish(&t, subtree);
                if (t.n == 0 && subtree && subtree[0]) {
                        fprintf(stderr, "memwardenctl: no cgroup '%s' known to memwardend\n", subtree);
                        r = 1;
                } else if (json)
                        tree_print_json(&t, stdout);
                else
                        tree_print_table(&t, stdout);
        }
        tree_done(&t);
        return r;
}
