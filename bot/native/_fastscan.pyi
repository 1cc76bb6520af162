"""Type stub for the C extension ``bot/native/_fastscan.c``."""

# (value, count, first_seq)
_Value = tuple[str, int, int]
# (head, count, first_seq, first_time, last_time, [(level, n, first_seq)], [(seq, raw)],
#  [pids, clients, servers, upstreams, hosts], (others per kind))
_Head = tuple[
    str,
    int,
    int,
    str,
    str,
    list[tuple[str, int, int]],
    list[tuple[int, str]],
    list[list[_Value]],
    tuple[int, int, int, int, int],
]

# The shared constants it was compiled with (bot/native/layout.py -> _fastscan_layout.h)
LAYOUT_VERSION: int
MAX_LINE_BYTES: int
MAX_LINE_CHARS: int
LEVELS: tuple[str, ...]
CTX_KEYS: tuple[str, ...]

class Scanner:
    full: bool
    heads: int
    seq: int
    aggregated: int
    def __init__(
        self,
        max_heads: int = ...,
        max_distinct: int = ...,
        max_samples: int = ...,
        max_entries: int = ...,
        max_arena: int = ...,
        max_fallback: int = ...,
    ) -> None: ...
    def feed(self, data: bytes, /) -> None: ...
    def finish(self) -> None: ...
    def run(self) -> tuple[list[tuple[int, bytes]], bool]: ...
    def export(self) -> tuple[list[_Head], int]: ...
