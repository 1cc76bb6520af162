"""Include expansion is a bounded walk: loops, rings, chains and include bombs in a pasted
``nginx -T`` end in a located problem, never in factorial work, a RecursionError or a hang.

Work is bounded by counting what the walk records (directives), not by timing it.
"""

from __future__ import annotations

from pathlib import Path

from bot.evidence.nginx_config.includes import MAX_BLOCK_DEPTH, MAX_INCLUDE_DEPTH, MIN_EXPANDED
from bot.evidence.nginx_config.parse import parse_dump


def _dump(files: dict[str, str]) -> str:
    return "".join(f"# configuration file {path}:\n{body}\n" for path, body in files.items())


def _messages(config) -> list[str]:
    return [str(e) for e in config.errors]


def test_self_matching_glob_is_one_loop_problem_with_its_place_not_factorial_work():
    files = {"/etc/nginx/nginx.conf": "events {}\nhttp { include /etc/nginx/conf.d/*.conf; }\n"}
    files |= {f"/etc/nginx/conf.d/{n}.conf": "include /etc/nginx/conf.d/*.conf;\n" for n in range(9)}
    config = parse_dump(_dump(files))
    loops = [e for e in config.errors if "include loop" in e.message]
    assert len(loops) == 1 and loops[0].partial
    assert (loops[0].file, loops[0].line) == ("/etc/nginx/conf.d/0.conf", 1)
    # 9 reads from nginx.conf plus each file of the loop once more: linear, not 9!.
    assert len(config.directives) <= 3 + 9 + 9


def test_include_ring_of_500_is_read_once_and_named():
    files = {"/etc/nginx/nginx.conf": "events {}\nhttp { include /etc/nginx/r/0.conf; }\n"}
    files |= {f"/etc/nginx/r/{i}.conf": f"include /etc/nginx/r/{(i + 1) % 500}.conf;\n" for i in range(500)}
    config = parse_dump(_dump(files))
    assert sum("include loop" in m for m in _messages(config)) == 1
    assert len(config.directives) <= 3 + 500
    assert not any("no include in the paste reads" in m for m in _messages(config))


def test_chain_of_1000_stops_at_the_depth_limit_without_recursion_error():
    files = {"/etc/nginx/nginx.conf": "events {}\nhttp { include /etc/nginx/c/0.conf; }\n"}
    files |= {f"/etc/nginx/c/{i}.conf": f"include /etc/nginx/c/{i + 1}.conf;\n" for i in range(999)}
    files["/etc/nginx/c/999.conf"] = "server { listen 80; }\n"
    config = parse_dump(_dump(files))
    deep = [e for e in config.errors if "nested more than" in e.message]
    assert len(deep) == 1 and deep[0].line == 1 and deep[0].file == f"/etc/nginx/c/{MAX_INCLUDE_DEPTH - 2}.conf"
    assert len(config.errors) == 1  # the unread files are not called orphans
    assert len(config.directives) <= 3 + MAX_INCLUDE_DEPTH


def test_include_bomb_without_a_loop_stops_at_the_expansion_budget():
    # Each file includes the next twice: 2**40 reads if followed naively.
    files = {"/etc/nginx/nginx.conf": "events {}\nhttp { include /etc/nginx/b/0.conf; }\n"}
    files |= {f"/etc/nginx/b/{i}.conf": f"include /etc/nginx/b/{i + 1}.conf;\n" * 2 for i in range(40)}
    files["/etc/nginx/b/40.conf"] = "keepalive_timeout 5s;\n"
    config = parse_dump(_dump(files))
    assert len(config.directives) <= MIN_EXPANDED
    stopped = [e for e in config.errors if "stopped reading" in e.message]
    assert len(stopped) == 1 and stopped[0].file.startswith("/etc/nginx/b/") and stopped[0].line


def test_a_snippet_included_in_many_places_is_read_each_time():
    files = {
        "/etc/nginx/nginx.conf": "events {}\nhttp {\n"
        + "".join(f"server {{ listen {8000 + i}; include snippets/p.conf; }}\n" for i in range(3))
        + "}\n",
        "/etc/nginx/snippets/p.conf": "proxy_read_timeout 30s;\n",
    }
    config = parse_dump(_dump(files))
    assert config.errors == []
    assert len(config.find("proxy_read_timeout")) == 3


def test_blocks_nested_1100_deep_keep_the_rest_of_the_file():
    text = "events {}\nhttp {\n" + "location / {\n" * 1100 + "}\n" * 1100 + "server { listen 8080; }\n}\n"
    config = parse_dump(text)
    assert [li.port for li in config.listens] == [8080]
    deep = [e for e in config.errors if "nested more than" in e.message]
    assert len(deep) == 1 and deep[0].line == 2 + MAX_BLOCK_DEPTH


def test_odd_header_paths_are_normalised_and_bounded():
    files = {
        "/etc/nginx/" + "a/" * 1100 + "x.conf": "events {}\n",
        "/etc/nginx/" + "b" * 300 + ".conf": "http {}\n",
        "/etc/nginx//../nginx/y.conf/": "user nginx;\n",
        "/etc/nginx": "worker_processes 2;\n",
    }
    config = parse_dump(_dump(files))
    names = list(config.files)
    assert all(len(n) <= 1024 and n.count("/") <= 64 for n in names)
    assert "/etc/nginx/y.conf" in names and "/etc/nginx" in names
    assert config.worker_processes is not None and config.user is not None
    assert sum("shown shortened" in m for m in _messages(config)) == 1


def test_a_big_file_full_of_stray_braces_is_repaired_within_a_lexing_budget(monkeypatch):
    """Each repair re-lexes the whole file: fifty stray ``}`` in a 70 KB file cost 3.5 MB of
    lexing (a fuzzed input took over 2 s). The repairs stop at a budget; the rest of the
    damage is still reported with its line, and the directives before it are kept."""
    from bot.evidence.nginx_config import file_parser

    lexed: list[int] = []
    real = file_parser._lex

    def counting(disk: str):
        lexed.append(len(Path(disk).read_text()))
        return real(disk)

    monkeypatch.setattr(file_parser, "_lex", counting)
    body = "worker_processes 2;\n" + "}\n\n\n".join([""] * 60) + "\n" * 70_000 + "events {}\n"
    config = parse_dump(_dump({"/etc/nginx/nginx.conf": body}))
    assert sum(lexed) <= file_parser._REPAIR_LEX_CHARS + max(lexed)
    assert config.directives[0].name == "worker_processes"
    stop = [e for e in config.errors if "than can be repaired one by one" in e.message]
    assert len(stop) == 1 and stop[0].file == "/etc/nginx/nginx.conf" and stop[0].line > 2
    assert not [e for e in config.errors if "could not parse" in e.message]


def test_a_small_file_still_gets_every_stray_brace_repaired():
    body = "worker_processes 2;\n" + "}\n" * 30 + "events {}\n"
    config = parse_dump(_dump({"/etc/nginx/nginx.conf": body}))
    assert sum("closing than opening" in e.message for e in config.errors) == 30
    assert {d.name for d in config.directives} == {"worker_processes", "events"}


def test_more_stray_braces_than_repairs_keeps_the_file_up_to_them():
    body = "worker_processes 2;\n" + "}\n" * 300 + "events {}\n"
    config = parse_dump(_dump({"/etc/nginx/nginx.conf": body}))
    assert [d.name for d in config.directives] == ["worker_processes"]
    assert any("than can be repaired one by one" in e.message for e in config.errors)
