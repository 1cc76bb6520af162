"""The front door's checks on a POST body: signature first, then shape and bounds."""

from __future__ import annotations

import json
import time

import pytest

from bot.slack.request_checks import check_parsed, check_payload, verify_signature
from bot.slack.settings import SlackSettings
from tests.fakes.fake_slack import SIGNING_SECRET, sign


def _verify(body: bytes, headers: dict[str, str]) -> int | None:
    found = verify_signature(
        SIGNING_SECRET, headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature"), body, time.time()
    )
    return None if found is None else found.status


def test_a_good_signature_passes_and_every_bad_one_is_401() -> None:
    body = b'{"type": "event_callback"}'
    assert _verify(body, sign(body)) is None
    assert _verify(body, sign(body, secret="other")) == 401
    assert _verify(body, sign(body, timestamp=int(time.time()) - 400)) == 401
    assert _verify(body, {**sign(body), "X-Slack-Request-Timestamp": "12.5"}) == 401
    assert _verify(body, {**sign(body), "X-Slack-Request-Timestamp": "１２３"}) == 401
    assert _verify(body, {"X-Slack-Request-Timestamp": str(int(time.time()))}) == 401
    assert _verify(body + b" ", sign(body)) == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{nope", "application/json"),
        (b"[1]", "application/json"),
        (b"payload=%7Bnope", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/json"),
        (b'{"event_id": 1180591620717411303424}', "application/json"),
        (b'{"event_id": {"a": 1}}', "application/json"),
        (b'{"event_id": "<script>"}', "application/json"),
        (b'{"x": NaN}', "application/json"),
        (b'{"x": 1e400}', "application/json"),
        (b'{"event": null}', "application/json"),
        (b'{"event": 5}', "application/json"),
        (b'{"authorizations": true}', "application/json"),
        (b'{"actions": [{"value": "v"}]}', "application/json"),
        (b"[" * 100 + b"]" * 100, "application/json"),
        (b'{"x": ' + b"9" * 5000 + b"}", "application/json"),
    ],
)
def test_malformed_or_unbounded_bodies_are_400(body: bytes, content_type: str) -> None:
    found = check_payload(body, content_type)
    assert found is not None and found.status == 400


def test_slack_shaped_bodies_pass() -> None:
    event = {
        "type": "event_callback",
        "event_id": "Ev0ABC",
        "event_time": 1800000000,
        "event": {"type": "app_mention", "channel": "C1", "ts": "1800000000.000100", "user": "U1"},
        "authorizations": [{"team_id": "T1"}],
    }
    assert check_payload(json.dumps(event).encode(), "application/json") is None
    action = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a", "block_id": "b:1"}]}
    form = "payload=" + json.dumps(action)
    assert check_payload(form.encode(), "application/x-www-form-urlencoded") is None
    command = b"command=%2Fnginx-triage&text=help&response_url=https%3A%2F%2Fhooks.slack.com%2Fx"
    assert check_payload(command, "application/x-www-form-urlencoded") is None


def test_response_urls_are_followed_only_to_slack_or_the_configured_api_host() -> None:
    prod = SlackSettings()
    assert prod.response_url_allowed("https://hooks.slack.com/commands/T1/1/abc")
    for url in (
        "http://hooks.slack.com/commands/x",
        "https://hooks.slack.com:8443/x",
        "https://evil.example/x",
        "https://slack.com.evil.example/x",
        "https://hooks.slack.com@evil.example/x",
        "http://127.0.0.1:9999/response/x",
        "https://hooks.slack.com:99999/x",
    ):
        assert not prod.response_url_allowed(url), url
    test = SlackSettings(api_url="http://127.0.0.1:5555/api/", api_url_set=True)
    assert test.response_url_allowed("http://127.0.0.1:5555/response/r-1")
    assert not test.response_url_allowed("http://127.0.0.1:5556/response/r-1")


def test_a_parsed_socket_mode_payload_gets_the_same_bounds() -> None:
    assert check_parsed({"event_id": "Ev1", "event": {"ts": "1.2"}}) is None
    found = check_parsed({"event_id": 2**70, "event": {"ts": "1.2"}})
    assert found is not None and found.status == 400
