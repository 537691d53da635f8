"""A normalizing worker is spawned without the parent's main script: it runs only ``imports.fast``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from leadhub.imports import service


def child_state() -> str | None:
    """In the child: the script its ``__main__`` ran (the parent's, run again), if any."""
    return getattr(sys.modules["__main__"], "__file__", None)


async def test_a_worker_started_by_the_import_does_not_run_the_parents_main_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent as `leadhub import` runs it: its __main__ is a script (here a harmless one).
    script = tmp_path / "parent_main.py"
    script.write_text('"""The parent\'s main script."""\n')
    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "__file__", str(script), raising=False)
    monkeypatch.setattr(main, "__spec__", None)
    loop = asyncio.get_running_loop()

    plain = service.normalizing_pool(1)
    try:
        assert await loop.run_in_executor(plain, child_state) == str(script)  # a plain spawn runs it again
    finally:
        plain.shutdown()

    pool = service.normalizing_pool(1)
    try:
        with service.without_main_script():
            started = loop.run_in_executor(pool, child_state)
        assert (main.__file__, main.__spec__) == (str(script), None)  # put back at once
        assert await started is None
    finally:
        pool.shutdown()
