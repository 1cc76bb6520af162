"""nginx-triage: NGINX error lines in, a tailored and verified fix out.

Importing the package routes the code ``dataclasses`` generates through a per-user cache of
its compiled form (``bot.dataclass_code_cache``): every command creates dozens of dataclasses,
and compiling their methods at each start was a fifth of a short ``diagnose``.
"""

from bot.dataclass_code_cache import install as _install_dataclass_code_cache

_install_dataclass_code_cache()
