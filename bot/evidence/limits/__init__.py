"""Parse the outputs people paste about descriptor and process limits into plain data.

Sizing needs numbers nginx never logs: the soft/hard open-files limit a worker really got
(``/proc/PID/limits``), what systemd gives the master (``LimitNOFILE=``), the kernel
ceilings (``fs.nr_open``, ``fs.file-max``), how many CPUs ``worker_processes auto`` sees,
how many sockets are in use, and which process is the master. Each parser takes the text
of one section (``sniff`` cuts a paste into them), shell prompt lines included: the prompt
is evidence too (``cat /proc/1234/limits`` names the pid, ``ulimit -Hn`` says the number is
the hard limit).

``unlimited`` / ``infinity`` are ``None``. Where a value can also be missing from a valid
paste, a ``*_known`` flag tells the two apart. Text that is not what the parser reads
raises ``EvidenceError`` with what was wrong and the command to paste instead.
"""
