"""Evidence about what sits beside nginx: listening sockets, php-fpm pools and processes,
memory, name resolution, the nginx build, per-process CPU time.

The fixes of timeouts, refused connections and full accept queues depend on the backend
and the host as much as on nginx. Each parser reads one command's output as people paste
it (prompt included) into frozen data; text that is not that output raises
``EvidenceError`` naming the command to paste instead. Numbers are ASCII digits with a
bounded length.
"""
