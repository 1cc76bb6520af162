"""Request verification never logs what it rejects (Bolt's own logs the whole body at INFO), and
Bolt's other messages that quote a payload are cut before it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import pytest
from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_unhandled_by_global_middleware

from bot.slack.logs import JsonFormatter, WithholdPayloads
from bot.slack.verification import QuietRequestVerification
from tests.fakes.fake_slack import SIGNING_SECRET, TEAM, event_body, sign

SECRET = "Zq9-verification-secret-value"
BODY = event_body({"type": "app_mention", "text": f'proxy_set_header Cookie "s={SECRET}";', "ts": "1.1"}, "EvV")


def _request(body: str, headers: dict[str, str]) -> BoltRequest:
    return BoltRequest(body=body, headers={k.lower(): v for k, v in headers.items()})


def _process(req: BoltRequest) -> BoltResponse:
    called: list[bool] = []

    def next_() -> BoltResponse:
        called.append(True)
        return BoltResponse(status=200, body="")

    resp = QuietRequestVerification(SIGNING_SECRET).process(req=req, resp=BoltResponse(status=200), next=next_)
    return resp if not called else BoltResponse(status=200, body="next")


@pytest.mark.parametrize(
    ("headers", "reason", "skew"),
    [
        (lambda: sign(BODY, timestamp=int(time.time()) - 600), "timestamp outside the 5-minute window", 600),
        (lambda: sign(BODY, "rotated-signing-secret"), "signature does not match the signing secret", 0),
        (dict, "missing signature headers", None),
    ],
    ids=["stale", "wrong-secret", "unsigned"],
)
def test_a_rejected_request_is_logged_without_its_body(
    headers: Callable[[], dict[str, str]], reason: str, skew: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    resp = _process(_request(BODY, headers()))
    assert resp.status == 401
    (record,) = [r for r in caplog.records if r.name == "nginx_triage.slack.verification"]
    assert record.getMessage() == f"rejected a request: {reason}"
    assert record.bytes == len(BODY.encode())  # type: ignore[attr-defined]
    assert record.team == TEAM  # type: ignore[attr-defined]
    if skew is None:
        assert record.skew_s is None  # type: ignore[attr-defined]
    else:
        assert abs(record.skew_s - skew) <= 2  # type: ignore[attr-defined]
    assert all(SECRET not in r.getMessage() and SECRET not in json.dumps(vars(r), default=str) for r in caplog.records)


def test_a_valid_request_goes_on() -> None:
    assert _process(_request(BODY, sign(BODY))).body == "next"


def test_a_team_id_that_is_not_shaped_like_one_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps({"team_id": f"T{SECRET}", "type": "event_callback"})
    caplog.set_level(logging.INFO)
    _process(_request(body, {}))
    assert all(SECRET not in json.dumps(vars(r), default=str) for r in caplog.records)


def test_bolt_messages_quoting_a_payload_are_cut_before_it() -> None:
    record = logging.LogRecord(
        "slack_bolt.App",
        logging.WARNING,
        "x",
        1,
        "%s",
        (warning_unhandled_by_global_middleware("m", _request(BODY, {})),),
        None,
    )
    WithholdPayloads().filter(record)
    message = record.getMessage()
    assert SECRET not in message and "payload withheld" in message


def test_every_log_string_is_redacted_on_its_way_out() -> None:
    record = logging.LogRecord("x", logging.ERROR, "x", 1, "failed on %s", (f"password={SECRET}",), None)
    record.detail = f"Authorization: Bearer {SECRET}"
    line = JsonFormatter().format(record)
    assert SECRET not in line and "<redacted>" in line
