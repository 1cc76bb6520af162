"""The compiled code of ``dataclasses``' generated methods, kept per user (``bot.dataclass_code_cache``).

The cache must make no difference but speed: every kind of dataclass the language offers
comes out with the same methods, byte for byte, whether its code was compiled now, taken
from this process's cache or read back from the file; a second process compiles none of
it; a damaged or unwritable file only costs the compiling.
"""

from __future__ import annotations

import dataclasses
import marshal
import subprocess
import sys
from pathlib import Path
from types import CodeType, FunctionType
from typing import Any

import pytest

from bot import dataclass_code_cache
from bot.dataclass_code_cache import DataclassCodeCache

ROOT = Path(__file__).resolve().parents[2]

SHAPES = """
import dataclasses
from dataclasses import InitVar, KW_ONLY, dataclass, field
from typing import ClassVar

@dataclass
class Plain:
    a: int
    b: str = "x"

@dataclass(frozen=True)
class Frozen:
    a: int
    b: list = field(default_factory=list)

@dataclass(frozen=True, slots=True)
class FrozenSlots:
    a: int
    b: float = 0.5

@dataclass(order=True, unsafe_hash=True)
class Ordered:
    a: int
    b: int = 0

@dataclass(eq=False, repr=False)
class NoEq:
    a: int

@dataclass(kw_only=True)
class KwOnly:
    a: int
    b: int = 2

@dataclass
class Mixed:
    a: int
    _: KW_ONLY
    b: int = 1
    c: int = field(default=3, init=False)
    d: ClassVar[int] = 9
    e: InitVar[int] = 0

    def __post_init__(self, e: int) -> None:
        self.c = self.a + e

@dataclass(frozen=True)
class Child(Frozen):
    c: str = "child"
"""

METHODS = (
    "__init__",
    "__repr__",
    "__eq__",
    "__hash__",
    "__setattr__",
    "__delattr__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
)


def _classes(fresh_cache: DataclassCodeCache | None) -> dict[str, type]:
    """The shapes above, created with ``fresh_cache`` installed (None: plain ``dataclasses``)."""
    if fresh_cache is None:
        dataclass_code_cache.uninstall()
    else:
        dataclass_code_cache.install(fresh_cache)
    try:
        namespace: dict[str, Any] = {"__name__": "shapes"}
        sys.modules["shapes"] = type(sys)("shapes")
        exec(compile(SHAPES, "shapes.py", "exec", dont_inherit=True), namespace)
        return {name: value for name, value in namespace.items() if dataclasses.is_dataclass(value)}
    finally:
        dataclass_code_cache.install()  # back to the user's cache, as importing bot left it
        sys.modules.pop("shapes", None)


def _code_parts(code: CodeType) -> tuple[Any, ...]:
    consts = tuple(_code_parts(c) if isinstance(c, CodeType) else c for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars, code.co_filename, code.co_flags)


def _methods(cls: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in METHODS:
        fn = cls.__dict__.get(name)
        if isinstance(fn, FunctionType):
            fn = getattr(fn, "__wrapped__", fn)  # __repr__ is wrapped by reprlib's guard
            # annotations by repr: each class creation makes its own InitVar[int]
            out[name] = (
                _code_parts(fn.__code__),
                fn.__defaults__,
                fn.__kwdefaults__,
                repr(fn.__annotations__),
                fn.__qualname__,
            )
        else:
            out[name] = fn
    return out


def test_every_kind_of_dataclass_gets_the_same_methods_from_the_cache(tmp_path: Path) -> None:
    plain = _classes(None)
    path = tmp_path / "dataclasses-test.marshal"
    cold = DataclassCodeCache(path)
    compiled = _classes(cold)
    assert cold.compiled > 20
    cold.save()
    warm = DataclassCodeCache(path)
    reread = _classes(warm)
    assert warm.compiled == 0  # every method came from the file
    for name, cls in plain.items():
        expected = _methods(cls)
        assert _methods(compiled[name]) == expected, name
        assert _methods(reread[name]) == expected, name
        assert [f.name for f in dataclasses.fields(reread[name])] == [f.name for f in dataclasses.fields(cls)]


def test_the_classes_from_the_file_behave_as_dataclasses_do(tmp_path: Path) -> None:
    path = tmp_path / "dataclasses-test.marshal"
    first = DataclassCodeCache(path)
    _classes(first)
    first.save()
    c = _classes(DataclassCodeCache(path))
    assert repr(c["Plain"](1)) == "Plain(a=1, b='x')" and c["Plain"](1) == c["Plain"](1, "x")
    frozen = c["FrozenSlots"](1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.a = 2  # type: ignore[misc]
    assert hash(frozen) == hash(c["FrozenSlots"](1)) and not hasattr(frozen, "__dict__")
    assert c["Ordered"](1) < c["Ordered"](2) and sorted([c["Ordered"](3), c["Ordered"](1)])[0].a == 1
    assert c["NoEq"](1) != c["NoEq"](1)
    with pytest.raises(TypeError):
        c["KwOnly"](1)
    mixed = c["Mixed"](1, b=2, e=5)
    assert (mixed.a, mixed.b, mixed.c) == (1, 2, 6) and c["Mixed"].d == 9
    assert c["Child"](1).c == "child" and c["Frozen"](1).b == []


def test_a_damaged_file_or_entry_is_compiled_again(tmp_path: Path) -> None:
    path = tmp_path / "dataclasses-test.marshal"
    first = DataclassCodeCache(path)
    plain = _classes(first)
    first.save()
    blobs = marshal.loads(path.read_bytes())
    damaged = {key: (b"\xff" if i % 2 else marshal.dumps(("not", "code"))) for i, key in enumerate(blobs)}
    for content in (b"", b"garbage", marshal.dumps([1, 2]), marshal.dumps(damaged)):
        path.write_bytes(content)
        cache = DataclassCodeCache(path)
        again = _classes(cache)
        assert cache.compiled > 20
        assert all(_methods(again[name]) == _methods(cls) for name, cls in plain.items())


def test_an_unwritable_directory_only_costs_the_compiling(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = DataclassCodeCache(blocker / "dataclasses-test.marshal")
    _classes(cache)
    cache.save()
    assert not (blocker / "dataclasses-test.marshal").exists()


def test_source_is_compiled_as_exec_would_compile_it_from_the_same_frame() -> None:
    """``exec`` of source text takes the ``__future__`` flags of the frame that calls it; the
    stand-in does the same, so ``dataclasses`` with or without them gets what it always got."""
    source = "def f(x: int) -> int:\n    return x\n"
    for prelude in ("", "from __future__ import annotations\n"):
        caller = compile(prelude + "run(source, ns)\n", "caller.py", "exec", dont_inherit=True)
        results = []
        for run in (exec, dataclass_code_cache._exec):
            ns: dict[str, Any] = {}
            exec(caller, {"run": run, "source": source, "ns": ns})
            results.append(ns["f"].__annotations__)
        assert results[0] == results[1], prelude
    assert results[1] == {"x": "int", "return": "int"}  # the last caller had the future import


def _no_home(cls: type) -> Path:
    raise RuntimeError("Could not determine home directory.")


def test_without_a_home_directory_dataclasses_compile_as_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare container with no HOME and no passwd entry: importing ``bot`` must still work."""
    dataclass_code_cache.uninstall()
    try:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setattr(Path, "home", classmethod(_no_home))
        assert dataclass_code_cache.install() is None
        assert "exec" not in vars(dataclasses)
    finally:
        monkeypatch.undo()
        dataclass_code_cache.install()


def test_a_second_process_compiles_none_of_the_commands_dataclasses(tmp_path: Path) -> None:
    code = (
        "import bot.cli.intake, bot.diagnosis.build, bot.diagnosis.findings\n"
        "from bot import dataclass_code_cache\n"
        "print(dataclass_code_cache._cache.compiled)\n"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    python = str(ROOT / ".venv" / "bin" / "python")
    runs = [subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, check=True) for _ in range(2)]
    assert int(runs[0].stdout) > 30  # the first one compiled them and wrote the file
    assert int(runs[1].stdout) == 0
    assert list((tmp_path / "nginx-triage").glob("dataclasses-*.marshal"))
