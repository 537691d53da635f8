"""A normalizing worker is spawned without the parent's main script: it runs only ``imports.fast``."""

from __future__ import annotations

import asyncio
import sys

from leadhub.imports import service


def child_state() -> str | None:
    """In the child: the script its ``__main__`` ran (the parent's, run again), if any."""
    return getattr(sys.modules["__main__"], "__file__", None)


async def test_a_worker_started_by_the_import_does_not_run_the_parents_main_script() -> None:
    # Under pytest the main script is pytest's console script: a plain spawn runs it again in the child.
    loop = asyncio.get_running_loop()
    main = sys.modules["__main__"]
    plain = service.normalizing_pool(1)
    try:
        assert await loop.run_in_executor(plain, child_state) == main.__file__
    finally:
        plain.shutdown()

    before = (getattr(main, "__file__", None), main.__spec__)
    pool = service.normalizing_pool(1)
    try:
        with service.without_main_script():
            started = loop.run_in_executor(pool, child_state)
        assert (getattr(main, "__file__", None), main.__spec__) == before  # put back at once
        assert await started is None
    finally:
        pool.shutdown()
