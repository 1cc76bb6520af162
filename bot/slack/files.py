"""Uploaded files and snippets: files.info, then a size-capped, text-only download with the bot
token, which is only ever sent to Slack's file hosts (or to SLACK_API_URL's host when set)."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urlparse

from slack_sdk import WebClient

from bot.conversation.model import IncomingFile
from bot.evidence.redaction import redact_intake
from bot.slack.settings import SlackSettings
from bot.slack.webclient import call_slack

log = logging.getLogger("nginx_triage.slack.files")

_TEXTUAL_MIME_PREFIXES = ("text/",)
_TEXTUAL_MIMES = frozenset(
    {
        "application/json",
        "application/x-yaml",
        "application/yaml",
        "application/xml",
        "application/x-sh",
        "application/octet-stream",
        "application/x-log",
        "",
    }
)
_READ_CHUNK = 64 * 1024


class FileRefused(Exception):
    """A file the bot will not read, with the reason in words for the user."""


@dataclass(frozen=True)
class FileRef:
    """What a message event says about a shared file (part of a queued ``Turn``; read later, in a worker)."""

    id: str
    name: str = ""


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


class _NoForeignRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a host the token may go to; anything else is refused."""

    def __init__(self, allowed: FileHosts) -> None:
        self._allowed = allowed

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        if not self._allowed.allows(newurl):
            raise FileRefused("the file download was redirected away from Slack, so I did not follow it")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class FileHosts:
    """Where the bot token may be sent for downloads."""

    def __init__(self, settings: SlackSettings) -> None:
        self._api_netloc = urlparse(settings.api_url).netloc.lower() if settings.api_url_set else None

    def allows(self, url: str) -> bool:
        """True for https://files.slack.com and https://*.slack.com, or SLACK_API_URL's host:port."""
        parsed = urlparse(url)
        host = (parsed.hostname or "").lower()
        if self._api_netloc is not None and parsed.netloc.lower() == self._api_netloc:
            return parsed.scheme in ("http", "https")
        if parsed.scheme != "https" or parsed.port not in (None, 443):
            return False
        return host == "files.slack.com" or host.endswith(".slack.com")


class FileFetcher:
    """Reads shared files as text for the engine."""

    def __init__(self, settings: SlackSettings, client: WebClient) -> None:
        self._settings = settings
        self._client = client
        self._hosts = FileHosts(settings)
        self._opener = urllib.request.build_opener(_NoForeignRedirects(self._hosts))

    def fetch(self, ref: FileRef) -> IncomingFile:
        """files.info, checks, download, intake redaction; raises FileRefused with a reason a user can act on."""
        resp = call_slack("files.info", self._client.files_info, file=ref.id)
        if resp is None:
            raise FileRefused(
                f"I could not look up the file {ref.name or ref.id} (Slack refused files.info; "
                "the app needs the files:read scope)"
            )
        info: dict[str, Any] = resp.get("file") or {}
        name = str(info.get("name") or info.get("title") or ref.name or ref.id)
        cap = self._settings.max_file_bytes
        size = int(info.get("size") or 0)
        if size > cap:
            raise FileRefused(
                f"`{name}` is {_mb(size)}, over my {_mb(cap)} limit. Paste the relevant part "
                "instead, e.g. `tail -n 500 error.log` or `grep -E 'emerg|alert|crit' error.log`"
            )
        mimetype = str(info.get("mimetype") or "")
        if info.get("mode") == "external" or info.get("is_external"):
            raise FileRefused(f"`{name}` is stored outside Slack; upload the file itself or paste its text")
        if not _looks_textual(mimetype):
            raise FileRefused(
                f"`{name}` is `{mimetype}`, not text. Upload logs or configs as plain text files "
                "or paste them as a snippet"
            )
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        if not url:
            raise FileRefused(f"Slack gave me no download link for `{name}`")
        if not self._hosts.allows(url):
            log.warning(
                "refused to download a file from a non-Slack host",
                extra={"file_id": ref.id, "host": urlparse(url).hostname},
            )
            raise FileRefused(
                f"`{name}` is not hosted on Slack's file servers, so I did not download it "
                "(my token only goes to Slack)"
            )
        data = self._download(url, name, cap)
        # Redacted here, as it arrives: the raw upload is never handed on, stored or logged.
        redacted = redact_intake(_decode_text(data, name))
        return IncomingFile(name=name, text=redacted.text, masked=redacted.keys)

    def _download(self, url: str, name: str, cap: int) -> bytes:
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._settings.bot_token}"})
        try:
            with self._opener.open(req, timeout=self._settings.http_timeout) as resp:
                ctype = (resp.headers.get_content_type() or "").lower()
                if ctype == "text/html":
                    raise FileRefused(
                        f"Slack answered the download of `{name}` with a web page (a sign-in page), "
                        "not the file: the bot token is missing or lacks files:read"
                    )
                length = resp.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > cap:
                    raise FileRefused(
                        f"`{name}` is {_mb(int(length))}, over my {_mb(cap)} limit. Paste the relevant part instead"
                    )
                chunks: list[bytes] = []
                total = 0
                while total <= cap:
                    chunk = resp.read(min(_READ_CHUNK, cap + 1 - total))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    total += len(chunk)
                if total > cap:
                    raise FileRefused(f"`{name}` is over my {_mb(cap)} limit. Paste the relevant part instead")
                return b"".join(chunks)
        except urllib.error.HTTPError as exc:
            raise FileRefused(f"Slack refused the download of `{name}` (HTTP {exc.code})") from exc
        except (urllib.error.URLError, OSError) as exc:
            log.error("file download failed", extra={"error": type(exc).__name__, "detail": str(exc)[:200]})
            raise FileRefused(f"I could not download `{name}` from Slack; try again or paste it") from exc


def _looks_textual(mimetype: str) -> bool:
    mimetype = mimetype.lower().split(";")[0].strip()
    return (mimetype.startswith(_TEXTUAL_MIME_PREFIXES) and mimetype != "text/html") or mimetype in _TEXTUAL_MIMES


def _decode_text(data: bytes, name: str) -> str:
    """UTF-8 text (Latin-1 as a fallback); binary content and HTML pages are refused."""
    head = data[:4096]
    if b"\x00" in head:
        raise FileRefused(f"`{name}` looks binary (compressed or an image?). Upload it as plain text")
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        raise FileRefused(
            f"the download of `{name}` returned a web page (a Slack sign-in page?), not your file: "
            "the bot token is missing or lacks files:read"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\r\n\t")
        if controls > len(text[:4096]) // 20:
            raise FileRefused(f"`{name}` does not look like text. Upload it as plain text") from None
        return text
