"""The seven incidents of issue 9 as Debian-style nginx config trees plus what the user pasted.

Each tree starts from the packaged ``/etc/nginx`` of Debian 12's nginx 1.22.1 (nginx.conf,
mime.types, fastcgi.conf, snippets/fastcgi-php.conf, copied at test time from this machine)
with the incident's site in ``sites-enabled/`` and its changes to nginx.conf. ``dump`` runs
the real ``nginx -T -c`` on the tree, so includes are printed exactly as nginx prints them.
The log lines are the incidents' lines (the php-fpm one was logged by a real nginx, see
tests/data/evidence/README.md); the other evidence is real captures from tests/data/evidence.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM = Path("/etc/nginx")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
EVIDENCE = Path(__file__).resolve().parents[1] / "data" / "evidence"
COPIED = ("nginx.conf", "mime.types", "fastcgi.conf", "fastcgi_params", "proxy_params", "snippets/fastcgi-php.conf")


@dataclass(frozen=True)
class Incident:
    """A config tree (site files and nginx.conf edits) and the pastes of one incident."""

    name: str
    sites: dict[str, str]
    pastes: list[str]
    conf_edits: list[tuple[str, str]] = field(default_factory=list)


def evidence(rel: str) -> str:
    """A captured command output, as pasted."""
    return (EVIDENCE / rel).read_text(encoding="utf-8")


UPLOAD_SITE = """server {
\tlisten 80;
\tlisten [::]:80;
\tserver_name files.example.org;
\troot /var/www/files;

\tlocation / {
\t\ttry_files $uri $uri/ =404;
\t}

\tlocation /upload/ {
\t\tclient_max_body_size 2000M;
\t\tproxy_pass http://127.0.0.1:5000;
\t\tproxy_request_buffering off;
\t}
}
"""

PHP_SITE = """server {
\tlisten 80;
\tserver_name shop.example.com;
\troot /var/www/shop/public;
\tindex index.php;

\tlocation / {
\t\ttry_files $uri $uri/ /index.php?$query_string;
\t}

\tlocation ~ \\.php$ {
\t\tinclude snippets/fastcgi-php.conf;
\t\tfastcgi_pass unix:/run/php/php8.2-fpm.sock;
\t}

\tlocation ~ /\\.ht {
\t\tdeny all;
\t}
}
"""

APP_SITE = """server {
\tlisten 80 default_server;
\tlisten [::]:80 default_server;
\tserver_name app.example.com;

\tlocation / {
\t\tproxy_pass http://localhost:8080;
\t\tproxy_set_header Host $host;
\t\tproxy_set_header X-Real-IP $remote_addr;
\t}
}
"""

BUSY_SITE = """server {
\tlisten 80;
\tlisten 443 ssl http2;
\tserver_name www.example.net;
\tssl_certificate ROOT/etc/ssl/certs/ssl-cert-snakeoil.pem;
\tssl_certificate_key ROOT/etc/ssl/private/ssl-cert-snakeoil.key;

\tlocation / {
\t\tproxy_pass http://127.0.0.1:3000;
\t}
}
"""

UPLOAD_LOG = (
    "2024/05/14 09:12:41 [error] 1321#1321: *5107 client intended to send too large body: 2785017856 bytes, "
    'client: 203.0.113.7, server: files.example.org, request: "POST /upload/ubuntu-24.04-desktop-amd64.iso HTTP/1.1", '
    'host: "files.example.org"'
)
TIMEOUT_LOG = (
    "2024/05/14 10:02:11 [error] 2210#2210: *88213 upstream timed out (110: Connection timed out) while reading "
    "response header from upstream, client: 198.51.100.23, server: shop.example.com, "
    'request: "GET /admin/reports/export HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock", '
    'host: "shop.example.com"'
)
BIG_HEADER_LOG = (
    "2024/05/14 11:40:02 [error] 2210#2210: *90112 upstream sent too big header while reading response header from "
    'upstream, client: 198.51.100.40, server: shop.example.com, request: "POST /checkout HTTP/2.0", upstream: '
    '"fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "shop.example.com"'
)
REFUSED_LOG = (
    "2024/05/14 12:00:01 [error] 977#977: *3 connect() failed (111: Connection refused) while connecting to upstream, "
    'client: 192.0.2.10, server: app.example.com, request: "GET / HTTP/1.1", upstream: "http://[::1]:8080/", '
    'host: "app.example.com"'
)
FPM_LOG = (EVIDENCE.parent / "incidents" / "php-fpm-eagain.log").as_posix()
EMFILE_LOG = "2024/05/14 13:30:00 [crit] 1402#1402: accept4() failed (24: Too many open files)"
ALERT_LOG = "2024/05/14 14:05:09 [alert] 3311#3311: 8192 worker_connections are not enough"


def incidents() -> dict[str, Incident]:
    """The seven incidents, by name."""
    fpm_log = Path(FPM_LOG).read_text(encoding="utf-8")
    return {
        "client-body-413": Incident("client-body-413", {"files": UPLOAD_SITE}, [UPLOAD_LOG]),
        "fastcgi-read-timeout": Incident("fastcgi-read-timeout", {"shop": PHP_SITE}, [TIMEOUT_LOG]),
        "fastcgi-too-big-header": Incident("fastcgi-too-big-header", {"shop": PHP_SITE}, [BIG_HEADER_LOG]),
        "localhost-dual-stack": Incident(
            "localhost-dual-stack",
            {"app": APP_SITE},
            [REFUSED_LOG, evidence("getent/ahosts-localhost-dual.txt"), LOCALHOST_SS],
        ),
        "php-fpm-backlog": Incident(
            "php-fpm-backlog",
            {"shop": PHP_SITE},
            [
                fpm_log,
                evidence("ss-listen/lx-grep.txt"),
                evidence("php-fpm-pool/grep-Hn-debian.txt"),
                evidence("ps-fpm/ps-o-rss-prompt.txt"),
                evidence("free/free-m.txt"),
            ],
        ),
        "emfile-at-connections": Incident(
            "emfile-at-connections",
            {"app": APP_SITE.replace("localhost", "127.0.0.1")},
            [EMFILE_LOG, WORKER_LIMITS_1024, "$ nproc\n4\n"],
            [("worker_connections 768;", "worker_connections 1024;")],
        ),
        "uneven-worker-load": Incident(
            "uneven-worker-load",
            {"busy": BUSY_SITE},
            [ALERT_LOG, UNEVEN_PS],
            [
                ("worker_processes auto;", "worker_processes 4;"),
                ("worker_connections 768;", "worker_connections 8192;"),
            ],
        ),
    }


LOCALHOST_SS = """$ ss -ltnp
State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess
LISTEN 0      511          0.0.0.0:80         0.0.0.0:*    users:(("nginx",pid=978,fd=6),("nginx",pid=977,fd=6))
LISTEN 0      2048       127.0.0.1:8080       0.0.0.0:*    users:(("gunicorn",pid=655,fd=5))
LISTEN 0      511             [::]:80            [::]:*    users:(("nginx",pid=978,fd=7),("nginx",pid=977,fd=7))
"""
"""The real ``ss -ltnp`` columns (tests/data/evidence/ss-listen/ltnp.txt) with the incident's sockets."""

WORKER_LIMITS_1024 = """$ cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max data size             unlimited            unlimited            bytes     
Max stack size            8388608              unlimited            bytes     
Max core file size        0                    unlimited            bytes     
Max resident set          unlimited            unlimited            bytes     
Max processes             95289                95289                processes 
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
Max pending signals       95289                95289                signals   
Max msgqueue size         819200               819200               bytes     
Max nice priority         0                    0                    
Max realtime priority     0                    0                    
Max realtime timeout      unlimited            unlimited            us        
"""
"""A worker's table in the format of tests/data/evidence/proc-limits (systemd's 1024/524288)."""

UNEVEN_PS = """$ ps -o pid,ppid,user,etime,time,%cpu,cmd -C nginx
  PID  PPID USER         ELAPSED     TIME %CPU CMD
 3310     1 root        2-04:11:09 00:00:02  0.0 nginx: master process /usr/sbin/nginx -g daemon on; master_process on;
 3311  3310 www-data    2-04:11:09 05:12:33 97.8 nginx: worker process
 3312  3310 www-data    2-04:11:09 00:00:41  0.3 nginx: worker process
 3313  3310 www-data    2-04:11:09 00:00:39  0.2 nginx: worker process
 3314  3310 www-data    2-04:11:09 00:00:40  0.3 nginx: worker process
"""
"""The real ``ps`` columns (tests/data/evidence/ps/ps-o-time-cpu.txt) with the incident's figures."""


def write_tree(root: Path, incident: Incident) -> Path:
    """Write the incident's ``/etc/nginx`` under ``root`` (``root`` ``/``-free paths inside); the main file."""
    etc = root / "etc" / "nginx"
    for rel in COPIED:
        (etc / rel).parent.mkdir(parents=True, exist_ok=True)
        text = (SYSTEM / rel).read_text(encoding="utf-8")
        (etc / rel).write_text(text.replace("/etc/nginx/", f"{etc}/"), encoding="utf-8")
    (etc / "conf.d").mkdir(exist_ok=True)
    (etc / "sites-enabled").mkdir(exist_ok=True)
    (etc / "modules-enabled").mkdir(exist_ok=True)
    main = etc / "nginx.conf"
    text = main.read_text(encoding="utf-8")
    for old, new in incident.conf_edits:
        assert old in text, old
        text = text.replace(old, new)
    main.write_text(text, encoding="utf-8")
    for name, site in incident.sites.items():
        if "ROOT/etc/ssl" in site:
            _snakeoil(root)
        (etc / "sites-enabled" / name).write_text(site.replace("ROOT/", f"{root}/"), encoding="utf-8")
    return main


def _snakeoil(root: Path) -> None:
    """A self-signed pair where Debian's ssl-cert package puts its snakeoil certificate."""
    cert = root / "etc" / "ssl" / "certs" / "ssl-cert-snakeoil.pem"
    key = root / "etc" / "ssl" / "private" / "ssl-cert-snakeoil.key"
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=www.example.net",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )


def dump(main: Path) -> str:
    """The real ``nginx -T`` of the tree (stderr verdict first, as a terminal shows it)."""
    proc = subprocess.run([NGINX, "-T", "-c", str(main)], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr + proc.stdout


def nginx_t(main: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t -c`` on the (patched) tree."""
    return subprocess.run([NGINX, "-t", "-c", str(main)], capture_output=True, text=True, timeout=30, check=False)
