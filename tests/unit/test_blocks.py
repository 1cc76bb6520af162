"""Slack rendering: real diagnoses and every reply kind become messages within Block Kit's
limits, long content moves into files (and the message says so), user and log text is
escaped for mrkdwn, the App Home view fits, and the app manifest asks for exactly what the
bot uses."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from bot.conversation.model import Attachment, Button, GuideStep, Reply, ReplyKind
from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Diagnosis
from bot.faq.answer import Alternative, Answer, FaqIndex
from bot.knowledge.loader import KnowledgeBase
from bot.matching.matcher import Matcher
from bot.render import SlackMessage, home_view, render_reply, validate_message, validate_view
from bot.render.blocks import DIFF_FILENAME
from bot.render.fitting import DETAILS_FILENAME
from bot.render.layout import split_text
from bot.render.mrkdwn import code_block, escape, from_markdown, inline_code
from bot.render.slack_limits import MAX_BLOCKS, MAX_TOTAL_TEXT, text_length

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "worker-connections"
MANIFEST = ROOT / "deploy" / "slack-app-manifest.yaml"

FEEDBACK = (
    Button("feedback_helpful", "Helpful"),
    Button("feedback_not_helpful", "Not helpful"),
    Button("feedback_human", "Get a human"),
)
GUIDE = (
    Button("guide_done", "Done", "step:1", "primary"),
    Button("guide_paste", "Paste output", "step:1"),
    Button("guide_explain", "Explain", "step:1"),
)
HOSTILE = "<!channel> <@U123> <!here|here> & <https://evil.example|click> <#C1>"


# -- helpers ---------------------------------------------------------------------------------


def all_text(msg: SlackMessage) -> str:
    """Every mrkdwn / plain_text string in the message blocks, joined."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(msg.blocks)
    return "\n".join(out)


def assert_valid(msg: SlackMessage) -> None:
    problems = validate_message(msg)
    assert problems == [], problems
    json.dumps(msg.blocks)  # what chat.postMessage sends must serialise


def diagnose_text(texts: dict[str, str], kb: KnowledgeBase, matcher: Matcher) -> Diagnosis:
    ev = Collected()
    for name, text in texts.items():
        ev.add_text(text, matcher, name)
    return diagnose_evidence(ev, kb)


@pytest.fixture(scope="module")
def example_diagnosis(kb: KnowledgeBase, matcher: Matcher) -> Diagnosis:
    files = {p.name: p.read_text() for p in sorted(EXAMPLE.iterdir()) if p.name != "README.md"}
    return diagnose_text(files, kb, matcher)


def feedback_values(msg: SlackMessage) -> list[str]:
    """The values of Slack's feedback element(s) in the message: positive, then negative."""
    return [
        el[half]["value"]
        for b in msg.blocks
        if b["type"] == "context_actions"
        for el in b["elements"]
        for half in ("positive_button", "negative_button")
    ]


# -- diagnoses -------------------------------------------------------------------------------


def test_example_diagnosis_renders_the_short_answer_then_details(example_diagnosis: Diagnosis) -> None:
    """Issue 10: the answer first (the engine's short text), the command as rich_text, a
    collapsed Details section with each kind of error, then files and buttons; no capacity
    table or command list in the message (they are in the report)."""
    d = example_diagnosis
    assert d.matches and d.recommendations and d.diff and d.commands and d.needs and d.capacity
    msg = render_reply(
        Reply(
            "diagnosis",
            "**What happened:** worker_connections are not enough.\n\n**The change:** raise it.",
            diagnosis=d,
            buttons=(Button("guide_start", "Walk me through the fix", "", "primary"), *FEEDBACK),
            command="sudo nginx -T 2>&1 && echo <done>",
        )
    )
    assert_valid(msg)
    types = [b["type"] for b in msg.blocks]
    assert types[0] == "header" and escape(d.matches[0].title)[:40] in msg.blocks[0]["text"]["text"]
    assert "rich_text" in types and not any(b.get("fields") for b in msg.blocks)
    code = next(b for b in msg.blocks if b["type"] == "rich_text")["elements"][0]
    assert (
        code["type"] == "rich_text_preformatted" and code["elements"][0]["text"] == "sudo nginx -T 2>&1 && echo <done>"
    )
    details = [b for b in msg.blocks if b["type"] == "section" and b.get("expand") is False]
    assert details and "*Details*" in details[0]["text"]["text"]
    text = all_text(msg)
    assert "*What happened:*" in text and "*The change:*" in text
    for m in d.matches[:4]:
        assert escape(m.title) in text and f"{m.count}×" in text
    assert "None" not in text
    assert [f.filename for f in msg.files] == [DIFF_FILENAME]
    ids = [e["action_id"] for b in msg.blocks if b["type"] == "actions" for e in b["elements"]]
    assert ids[0] == "guide_start"


def test_every_dev_logline_renders_valid(kb: KnowledgeBase, matcher: Matcher) -> None:
    data = yaml.safe_load((ROOT / "tests" / "data" / "loglines-dev.yaml").read_text())
    rendered = 0
    for entry in data:
        d = diagnose_text({"paste": entry["line"] + "\n"}, kb, matcher)
        msg = render_reply(Reply("diagnosis", entry["line"], diagnosis=d, buttons=FEEDBACK))
        problems = validate_message(msg)
        assert problems == [], (entry["line"], problems)
        if d.matches:
            # the sample line is shown escaped in a code block, never raw
            assert escape(d.matches[0].samples[0]) in all_text(msg)
        rendered += 1
    assert rendered == len(data)


def test_all_dev_loglines_in_one_paste(kb: KnowledgeBase, matcher: Matcher) -> None:
    data = yaml.safe_load((ROOT / "tests" / "data" / "loglines-dev.yaml").read_text())
    d = diagnose_text({"paste": "\n".join(e["line"] for e in data) + "\n"}, kb, matcher)
    assert len(d.matches) >= 20
    msg = render_reply(Reply("diagnosis", "many", diagnosis=d, buttons=FEEDBACK))
    assert_valid(msg)


def forty_kinds_paste(kb: KnowledgeBase) -> list[str]:
    """2,000 lines cycling through one real example line of 40 different KB entries."""
    examples = [e.examples[0].line for e in sorted(kb.errors.values(), key=lambda e: e.id)]
    assert len(examples) >= 40
    chosen = examples[:40]
    return [chosen[i % 40] for i in range(2000)]


def test_2000_line_paste_with_40_kinds_fits_and_moves_the_rest_to_a_file(kb: KnowledgeBase, matcher: Matcher) -> None:
    lines = forty_kinds_paste(kb)
    ev = Collected()
    ev.add_log_lines(lines, matcher)
    d = diagnose_evidence(ev, kb)
    assert d.lines == 2000 and len(d.matches) >= 38  # a few examples may share an entry
    started = time.process_time()  # CPU time: a busy machine does not fail it
    msg = render_reply(Reply("diagnosis", "\n".join(lines), diagnosis=d, buttons=GUIDE + FEEDBACK))
    assert time.process_time() - started < 2.0
    assert_valid(msg)
    assert len(msg.blocks) <= MAX_BLOCKS and text_length(msg.blocks) <= MAX_TOTAL_TEXT
    assert len(msg.text) <= 3000 and "continued" in msg.text
    text = all_text(msg)
    assert "full details attached as a file" in text and DETAILS_FILENAME in text
    details = next(f for f in msg.files if f.filename == DETAILS_FILENAME)
    assert details.filetype == "markdown"
    for m in d.matches:  # everything is in the file ...
        assert m.title in details.content
    # ... and the message keeps its top: the header names the first kind
    assert escape(d.matches[0].title)[:40] in msg.blocks[0]["text"]["text"]
    # the buttons survive trimming, with the notice of the file above them
    ids = [e["action_id"] for b in msg.blocks if b["type"] == "actions" for e in b["elements"]]
    assert ids == [b.action_id for b in GUIDE] + ["feedback_human"]
    assert feedback_values(msg) == ["feedback_helpful", "feedback_not_helpful"]
    types = [b["type"] for b in msg.blocks]
    notice = next(i for i, b in enumerate(msg.blocks) if "full details attached" in json.dumps(b))
    assert notice < types.index("actions") < types.index("context_actions") == len(types) - 1


def test_hostile_log_text_is_escaped(kb: KnowledgeBase, matcher: Matcher) -> None:
    line = (
        "2024/03/02 10:11:10 [error] 2719#2719: *50 upstream timed out (110: Connection timed out) "
        "while reading response header from upstream, client: 10.0.0.2, server: <!channel>, "
        'request: "GET /<@U123>?a=1&b=2 HTTP/1.1", upstream: "http://<!here>:8080/", host: "x&y"'
    )
    d = diagnose_text({"paste": line + "\n"}, kb, matcher)
    assert d.matches
    msg = render_reply(Reply("diagnosis", line, diagnosis=d))
    assert_valid(msg)
    text = all_text(msg) + msg.text
    assert "<!channel>" not in text and "<@U123>" not in text and "<!here>" not in text
    assert "&lt;!channel&gt;" in text and "&lt;@U123&gt;" in text
    assert "a=1&amp;b=2" in text


@pytest.mark.parametrize("kind", get_args(ReplyKind))
def test_every_reply_kind_renders_valid(kind: str, example_diagnosis: Diagnosis, kb: KnowledgeBase) -> None:
    faq = FaqIndex(kb)
    sure = faq.ask("why does a proxied request use two connections")
    unsure = faq.ask("banana")
    step = GuideStep(
        3,
        5,
        "test",
        "Test the configuration",
        "Run the test; it must say **ok** & *successful*.\n\n- then reload",
        "sudo nginx -t && echo <ok>",
        "syntax is ok",
    )
    reply = Reply(
        kind,  # type: ignore[arg-type]
        f"**{kind}**: something with `code` and {HOSTILE}\n\n- a list item\n- another",
        diagnosis=example_diagnosis if kind == "diagnosis" else None,
        answer=sure if kind == "faq" else unsure if kind == "faq_unsure" else None,
        step=step if kind.startswith("guide") else None,
        buttons=(GUIDE if kind == "guide_step" else ()) + FEEDBACK,
    )
    msg = render_reply(reply)
    assert_valid(msg)
    text = all_text(msg)
    assert msg.text.strip()
    assert "<!channel>" not in text + msg.text and "<@U123>" not in text + msg.text
    if kind == "faq":
        assert sure.confident and sure.question is not None and escape(sure.question) in text
    if kind == "faq_unsure":
        assert not unsure.confident and unsure.alternatives
        assert escape(unsure.alternatives[0].question) in text
    if kind == "guide_step":
        assert msg.blocks[0]["type"] == "header" and "Step 3 of 5" in msg.blocks[0]["text"]["text"]
        # the command as a rich_text code block, raw (rich_text does no mrkdwn escaping)
        assert "sudo nginx -t && echo <ok>" in json.dumps([b for b in msg.blocks if b["type"] == "rich_text"])
        assert {"guide_done", "guide_paste", "guide_explain"} <= {
            e["action_id"] for b in msg.blocks if b["type"] == "actions" for e in b["elements"]
        }
    if kind not in ("diagnosis", "faq", "faq_unsure", "guide_step"):
        assert f"*{kind}*" in text  # the reply's own text, converted from Markdown


def test_reply_kinds_without_structured_parts(kb: KnowledgeBase) -> None:
    for kind in get_args(ReplyKind):
        msg = render_reply(Reply(kind, "Plain **text** only."))  # type: ignore[arg-type]
        assert_valid(msg)
    msg = render_reply(Reply("faq_unsure", "", answer=Answer(None, 0.1, False, None, None, [])))
    assert_valid(msg)
    assert msg.text  # fallback text is always set
    msg = render_reply(
        Reply("faq", "x", answer=Answer("a", 0.9, True, "Q <b>?", "A & B", [Alternative("b", "Other <@U1>?", 0.5)]))
    )
    assert_valid(msg)
    assert "Q &lt;b&gt;?" in all_text(msg) and "Other &lt;@U1&gt;?" in all_text(msg)


def test_long_text_reply_moves_to_a_file_with_nothing_lost() -> None:
    body = "\n".join(f"line {i}: {'x' * 80} & <{i}>" for i in range(800))  # ~80 kB
    text = f"Here is the config:\n\n```\n{body}\n```\n"
    msg = render_reply(Reply("explain", text, attachments=(Attachment("nginx.conf", "your config", body),)))
    assert_valid(msg)
    assert "full details attached as a file" in all_text(msg)
    details = next(f for f in msg.files if f.filename == DETAILS_FILENAME)
    assert body in details.content
    assert [f.filename for f in msg.files] == ["nginx.conf", DETAILS_FILENAME]
    assert "`nginx.conf`" in all_text(msg)
    # every shown section balances its code fences
    for b in msg.blocks:
        if b["type"] == "section" and "text" in b:
            assert b["text"]["text"].count("```") % 2 == 0


def test_split_text_keeps_every_line_and_balances_fences() -> None:
    src = "intro\n" + code_block("\n".join(f"row {i} <{i}>" for i in range(1000))) + "\noutro " + "y" * 7000
    chunks = split_text(src)
    assert len(chunks) > 3
    for c in chunks:
        assert 0 < len(c) <= 3000
        assert c.count("```") % 2 == 0
    joined = "\n".join(chunks)
    for i in range(1000):
        assert f"row {i} &lt;{i}&gt;" in joined
    assert joined.replace("\n", "").count("y") == 7000
    # an entity is never cut in two
    chunks = split_text("&amp;" * 2000)
    assert all(c.endswith(";") for c in chunks) and "".join(chunks) == "&amp;" * 2000


def test_button_limits() -> None:
    many = tuple(Button(f"guide_explain_{i}", f"Explain {i}", str(i)) for i in range(30))
    msg = render_reply(Reply("help", "buttons", buttons=many))
    assert_valid(msg)
    assert [len(b["elements"]) for b in msg.blocks if b["type"] == "actions"] == [25, 5]
    long_label = render_reply(Reply("help", "x", buttons=(Button("guide_done", "D" * 100),)))
    assert_valid(long_label)
    label = next(b for b in long_label.blocks if b["type"] == "actions")["elements"][0]["text"]["text"]
    assert len(label) == 75 and label.endswith("…")
    with pytest.raises(ValueError, match="value"):
        render_reply(Reply("help", "x", buttons=(Button("guide_done", "Done", "v" * 2001),)))
    with pytest.raises(ValueError, match="action_id"):
        render_reply(Reply("help", "x", buttons=(Button("a" * 256, "Done"),)))


def test_long_header_becomes_a_section() -> None:
    step = GuideStep(1, 2, "check", "T" * 200, "body")
    msg = render_reply(Reply("guide_step", "x", step=step))
    assert_valid(msg)
    assert msg.blocks[0]["type"] == "section" and "T" * 200 in msg.blocks[0]["text"]["text"]


def test_fallback_text_is_capped_at_a_line_and_escaped() -> None:
    text = "\n".join(f"<@U{i}> & line {i}" for i in range(1000))
    msg = render_reply(Reply("explain", text))
    assert len(msg.text) <= 3000 and msg.text.endswith("(continued in the message below)")
    assert "<@U" not in msg.text
    assert_valid(msg)


def test_validate_message_reports_every_limit() -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}
    bad = SlackMessage(
        text="",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
            section,
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "a",
                        "text": {"type": "plain_text", "text": "b" * 76},
                        "value": "v" * 2001,
                    },
                    {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "ok"}},
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "hi <!channel>"}},
            {"type": "bogus"},
            *([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2500}}] * 45),
        ],
        files=[Attachment("a.txt", "a", "x"), Attachment("a.txt", "b", "y")],
    )
    problems = "\n".join(validate_message(bad))
    for needle in (
        "blocks: 52 > 50",
        "blocks[0].text: 151",
        "blocks[1].text: 3001",
        "fields: 11 > 10",
        "elements: 11 elements",
        "elements[0].text: 76",
        "value: longer than 2000",
        "duplicate action_id",
        "channel ping",
        "unknown block type",
        "msg_blocks_too_long",
        "fallback text is empty",
        "duplicate file names",
    ):
        assert needle in problems, needle


# -- mrkdwn ----------------------------------------------------------------------------------


def test_escape_only_the_three_characters() -> None:
    assert escape(HOSTILE) == (
        "&lt;!channel&gt; &lt;@U123&gt; &lt;!here|here&gt; &amp; &lt;https://evil.example|click&gt; &lt;#C1&gt;"
    )
    assert escape("a \"b\" 'c' *d* _e_") == "a \"b\" 'c' *d* _e_"
    assert escape("&amp;") == "&amp;amp;"  # user text is raw text, never pre-escaped


def test_from_markdown_conversions() -> None:
    md = (
        "# Title **x**\n"
        "Some **bold**, *em*, __strong__, ~~gone~~ and [docs](https://nginx.org/?a=1&b=2).\n"
        "- item one\n  * nested\n1. first\n"
        "Keep `a <b> **c**` as code; 2*3*4 stays.\n"
        "```nginx\nevents { worker_connections 1024; } # <tag> **no**\n```\n"
        f"{HOSTILE}\n"
        "[bad](javascript:alert(1)) [ping](!channel)"
    )
    out = from_markdown(md).split("\n")
    assert out[0] == "*Title x*"
    assert out[1] == "Some *bold*, _em_, *strong*, ~gone~ and <https://nginx.org/?a=1&amp;b=2|docs>."
    assert out[2] == "• item one" and out[3] == "  • nested" and out[4] == "1. first"
    assert out[5] == "Keep `a &lt;b&gt; **c**` as code; 2*3*4 stays."
    assert out[6:9] == ["```", "events { worker_connections 1024; } # &lt;tag&gt; **no**", "```"]
    assert out[9] == escape(HOSTILE)
    assert "<" not in out[10] and "(!channel)" in out[10]
    assert from_markdown("```\nunclosed <x>").endswith("```")


def test_code_helpers_escape_and_guard_fences() -> None:
    assert code_block("a <b> ```x```") == "```\na &lt;b&gt; `\u200b`\u200b`x`\u200b`\u200b`\n```"
    assert inline_code("x<y") == "`x&lt;y`"
    assert inline_code("has`tick") == "has`tick"


@pytest.mark.parametrize("unit", ["[", "*", "`", "**a", "[a](", "_", "*a", "~~a", "# #", "<&>", "[a]("])
def test_from_markdown_is_linear(unit: str) -> None:
    small, big = unit * 20_000, unit * 160_000

    def cpu(text: str) -> float:
        """CPU seconds of this process (best of 3), so a busy machine does not fail the test."""
        best = float("inf")
        for _ in range(3):
            t0 = time.process_time()
            from_markdown(text)
            best = min(best, time.process_time() - t0)
        return best

    t_small, t_big = cpu(small), cpu(big)
    assert t_big < 2.0
    assert t_big < max(t_small, 0.002) * 8 * 4  # 8x the input: far from 64x (quadratic)


# -- App Home --------------------------------------------------------------------------------


def test_home_view_fits_and_lists_what_the_bot_knows(kb: KnowledgeBase) -> None:
    view = home_view(kb, {"conversations": 12, "lines_matched": 3400})
    assert view["type"] == "home"
    assert validate_view(view) == []
    assert len(view["blocks"]) <= 100
    text = all_text(SlackMessage("x", view["blocks"]))
    for e in kb.errors.values():
        assert escape(e.title) in text
    for f in kb.faqs.values():
        assert escape(f.question) in text
    for usage in (
        "/nginx-triage diagnose",
        "/nginx-triage ask QUESTION",
        "/nginx-triage help",
        "Diagnose with nginx-triage",
        "DM",
        "conversations",
    ):
        assert usage in text
    severities = [
        b["text"]["text"].split("*")[1]
        for b in view["blocks"]
        if b["type"] == "section" and b.get("text", {}).get("text", "").startswith(":")
    ]
    assert severities[0] == "Critical"
    assert home_view(kb)["blocks"]  # stats are optional


def test_home_view_stays_under_100_blocks_with_a_huge_kb(kb: KnowledgeBase) -> None:
    base = next(iter(kb.errors.values()))
    errors = {
        f"e-{i}": base.model_copy(update={"id": f"e-{i}", "title": f"Error {i} " + "t" * 120}) for i in range(3000)
    }
    huge = KnowledgeBase(errors=errors, faqs=kb.faqs, environments=kb.environments)
    view = home_view(huge)
    assert validate_view(view) == []
    assert "`e-2999`" in all_text(SlackMessage("x", view["blocks"]))


# -- manifest --------------------------------------------------------------------------------


def test_manifest_is_least_privilege_socket_mode() -> None:
    m = yaml.safe_load(MANIFEST.read_text())
    assert set(m) == {"_metadata", "display_information", "features", "oauth_config", "settings"}
    assert sorted(m["oauth_config"]["scopes"]["bot"]) == sorted(
        [
            "app_mentions:read",
            "chat:write",
            "commands",
            "files:read",
            "files:write",
            "im:history",
            "channels:history",
            "groups:history",
        ]
    )
    assert "user" not in m["oauth_config"]["scopes"]
    settings = m["settings"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == sorted(
        ["app_mention", "app_home_opened", "message.im", "message.channels", "message.groups"]
    )
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert "request_url" not in json.dumps(m) and '"url"' not in json.dumps(m)
    features = m["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["bot_user"]["display_name"] == "nginx-triage"
    [cmd] = features["slash_commands"]
    assert cmd["command"] == "/nginx-triage" and cmd["usage_hint"] == "diagnose | ask QUESTION | help"
    [shortcut] = features["shortcuts"]
    assert shortcut == {
        "name": "Diagnose with nginx-triage",
        "type": "message",
        "callback_id": "diagnose_message",
        "description": shortcut["description"],
    }
    # every scope is justified by a comment next to it
    raw = MANIFEST.read_text()
    for scope in m["oauth_config"]["scopes"]["bot"]:
        before = raw.split(f"- {scope}\n")[0].rstrip().splitlines()
        assert any(line.strip().startswith("#") for line in before[-8:]), scope


def test_install_doc_covers_the_setup() -> None:
    doc = (ROOT / "docs" / "slack-install.md").read_text()
    for needle in (
        "# Install in your workspace",
        "slack-app-manifest.yaml",
        "xoxb-",
        "xapp-",
        "connections:write",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_API_URL",
        "DATABASE_URL",
        "nginx-triage serve",
        "/slack/events",
        "/invite",
    ):
        assert needle in doc, needle


# -- text only the engine knows --------------------------------------------------------------


def test_engine_notes_and_step_lead_are_kept(example_diagnosis: Diagnosis, kb: KnowledgeBase, matcher: Matcher) -> None:
    text = (
        "**What I found** ...\n\n**What changed with your new paste**\n- worker_connections <now> known\n\n"
        "I masked 2 secrets before storing your paste."
    )
    msg = render_reply(Reply("diagnosis", text, diagnosis=example_diagnosis))
    assert_valid(msg)
    body = all_text(msg)
    assert "*What changed with your new paste*" in body and "&lt;now&gt;" in body
    assert "I masked 2 secrets" in body
    step = GuideStep(2, 4, "change", "Raise worker_connections", "Edit it.")
    msg = render_reply(Reply("guide_step", "Step 2 is not the current one.\n\n**Step 2 of 4: Raise**", step=step))
    assert_valid(msg)
    assert msg.blocks[0]["type"] == "context" and "not the current one" in all_text(msg)
    config_only = diagnose_text({"nginx -T": (EXAMPLE / "nginx-T.txt").read_text()}, kb, matcher)
    assert config_only.lines == 0
    msg = render_reply(Reply("diagnosis", "I read nginx-T.", diagnosis=config_only))
    assert_valid(msg)
    assert "no error-log lines yet" in msg.blocks[0]["text"]["text"]
    assert "sudo tail -n 200 /var/log/nginx/error.log" in all_text(msg)
