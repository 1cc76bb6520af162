"""What the host says about the files and the service around nginx: ``df``, ``namei -l``,
``openssl x509`` with ``ls -l``, the access log, and how nginx is run (systemd, a container)."""
