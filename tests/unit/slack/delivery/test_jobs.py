"""The job types and their registry: every stored kind can be rebuilt, and only those.

``JOB_PARTS`` is what ``job_json`` may instantiate from an inbox payload; a job type missing
from it would be acked, written, and then never run after a crash, so this test fails first.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing

import pytest

from bot.slack.delivery import jobs
from bot.slack.delivery.job_json import decode_job, encode_job
from bot.slack.delivery.jobs import (
    JOB_KINDS,
    JOB_PARTS,
    ActionJob,
    CommandJob,
    FallbackTarget,
    HomeJob,
    InboxJob,
    QueuedJob,
    ResponseUrlTarget,
    ThreadTarget,
    Turn,
    TurnJob,
)
from bot.slack.files import FileRef

SECRET = "s3cr3t-Inbox-Passw0rd"
TURN = Turn(
    team="T0001",
    channel="C0TRIAGE",
    thread_ts="1800000005.000100",
    user="U0HUMAN1",
    surface="mention",
    text=f'proxy_set_header Authorization "Bearer {SECRET}";',
    files=(FileRef("F1", "error.log"),),
    event_id="EvJob1",
    kind="app_mention",
)
EXAMPLES: list[QueuedJob] = [
    TurnJob(TURN, FallbackTarget(ThreadTarget("C0TRIAGE", "1800000005.000100"), ResponseUrlTarget(None))),
    ActionJob(TURN, "1800000005.000300", "Step 1", ({"type": "actions", "elements": []},), "guide"),
    CommandJob({"text": f"diagnose Bearer {SECRET}", "token": "legacy-verification"}, "https://hooks/1", "UBOT"),
    HomeJob("U0HUMAN1", "EvHome"),
]


def test_every_dataclass_of_the_module_but_the_inbox_wrapper_is_registered_under_its_name() -> None:
    defined = {
        name: cls
        for name, cls in inspect.getmembers(jobs, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == jobs.__name__
    }
    defined["FileRef"] = FileRef  # part of a Turn, kept beside the code that downloads it
    assert set(defined) - set(JOB_PARTS) == {"InboxJob"}  # never stored: the inbox stores its job
    assert all(JOB_PARTS[name] is cls for name, cls in defined.items() if name != "InboxJob")
    assert set(JOB_KINDS.values()) == set(typing.get_args(QueuedJob))
    assert all(JOB_PARTS[name] is cls for name, cls in JOB_KINDS.items())


@pytest.mark.parametrize("job", EXAMPLES, ids=lambda j: type(j).__name__)
def test_each_kind_survives_the_inbox_with_what_users_typed_redacted(job: QueuedJob) -> None:
    payload = encode_job(job)
    assert SECRET not in payload and "legacy-verification" not in payload
    back = decode_job(payload)
    assert type(back) is type(job) and back.key == job.key and back.event_id == job.event_id
    assert back.busy_target == job.busy_target and back.describe() == job.describe()


def test_a_payload_written_before_the_reshape_still_decodes() -> None:
    """The stored format is the class names of the parts, unchanged since the inbox was added."""
    stored = json.dumps(
        {
            "v": 1,
            "job": {
                "__type__": "TurnJob",
                "fields": {
                    "turn": {
                        "__type__": "Turn",
                        "fields": {
                            "team": "T0001",
                            "channel": "C0TRIAGE",
                            "thread_ts": "1800000005.000100",
                            "user": "U0HUMAN1",
                            "surface": "message",
                            "text": "more <redacted>",
                            "files": {"__tuple__": [{"__type__": "FileRef", "fields": {"id": "F1", "name": "x"}}]},
                            "action": None,
                            "action_value": None,
                            "event_id": "EvOld",
                            "retry_num": "1",
                            "kind": "message",
                        },
                    },
                    "target": {"__type__": "ThreadTarget", "fields": {"channel": "C0TRIAGE", "thread_ts": "1.1"}},
                    "only_known_threads": True,
                },
            },
        },
        separators=(",", ":"),
    )
    job = decode_job(stored)
    assert isinstance(job, TurnJob) and job.only_known_threads and job.target == ThreadTarget("C0TRIAGE", "1.1")
    assert job.turn.files == (FileRef("F1", "x"),) and job.turn.event_id == "EvOld"
    assert encode_job(job) == stored


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ('{"v": 2, "job": {}}', "known version"),
        ('{"v": 1, "job": {"__type__": "NoSuchJob", "fields": {}}}', "unknown job part 'NoSuchJob'"),
        ('{"v": 1, "job": {"__type__": "ThreadTarget", "fields": {"channel": "C", "thread_ts": "1"}}}', "not a job"),
    ],
)
def test_unknown_or_partial_payloads_are_refused(payload: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        decode_job(payload)


def test_a_part_outside_the_registry_is_never_written() -> None:
    @dataclasses.dataclass(frozen=True)
    class Stranger:
        x: int

    with pytest.raises(TypeError, match="not in JOB_PARTS"):
        encode_job(TurnJob(TURN, Stranger(1)))


def test_inbox_job_takes_its_key_and_busy_target_from_its_job() -> None:
    inner = EXAMPLES[0]
    wrapped = InboxJob("EvJob1", "host:1:abc", inner)
    assert wrapped.key == inner.key and wrapped.busy_target == inner.busy_target
    assert wrapped.describe() == {**inner.describe(), "event_id": "EvJob1"}
