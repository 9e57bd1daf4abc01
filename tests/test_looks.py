"""The console's look threads (console/tui/looks.py): a keyed look is skipped while the last one of its key runs,
other jobs never are, and what a job raises reaches the app."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

import pytest

from console.service.helpdesk import HelpdeskService
from console.tui.app import HelpdeskApp
from console.tui.looks import Looks
from tests.conftest import settle


def wait_idle(looks: Looks) -> None:
    deadline = time.monotonic() + 5
    while not looks.idle:
        assert time.monotonic() < deadline, "the looks never finished"
        time.sleep(0.005)


def test_a_look_is_skipped_while_the_last_one_of_its_key_runs() -> None:
    looks = Looks(failed=lambda exc: None)
    release = threading.Event()
    ran: list[str] = []

    def first() -> None:
        release.wait(5)
        ran.append("first")

    assert looks.run(first, key="feed")
    assert not looks.run(lambda: ran.append("second"), key="feed")  # the first is still reading
    assert looks.run(lambda: ran.append("other"), key="p1")  # another key is not held up
    assert not looks.idle
    release.set()
    wait_idle(looks)
    assert sorted(ran) == ["first", "other"]
    assert looks.run(lambda: ran.append("third"), key="feed")  # the key is free again
    wait_idle(looks)
    assert ran[-1] == "third"


def test_jobs_without_a_key_all_run() -> None:
    looks = Looks(failed=lambda exc: None)
    done: list[int] = []
    lock = threading.Lock()

    def job(n: int) -> None:
        time.sleep(0.01)
        with lock:
            done.append(n)

    for n in range(20):
        assert looks.run(functools.partial(job, n))
    wait_idle(looks)
    assert sorted(done) == list(range(20))


def test_what_a_job_raises_reaches_the_app_and_the_threads_go_on() -> None:
    raised: list[BaseException] = []
    looks = Looks(failed=raised.append)
    boom = RuntimeError("the feed could not be read")

    def fail() -> None:
        raise boom

    looks.run(fail, key="feed")
    wait_idle(looks)
    assert raised == [boom]
    after: list[str] = []
    assert looks.run(lambda: after.append("ok"), key="feed")  # a failed look frees its key
    wait_idle(looks)
    assert after == ["ok"]
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("look-"))


async def test_a_look_that_fails_ends_the_console_as_a_worker_would(team: Callable[[str], HelpdeskService]) -> None:
    """What a look raises that no screen expected is the console's error, reported as Textual reports a worker's
    (with its traceback), not lost in a thread."""
    app = HelpdeskApp(team("li.wei"), live_interval=3600)

    def broken() -> None:
        raise RuntimeError("the feed could not be read")

    with pytest.raises(RuntimeError, match="the feed could not be read"):
        async with app.run_test() as pilot:
            await pilot.pause(0.2)
            app.looks.run(broken)
            await pilot.pause(1.0)


async def test_a_look_runs_in_the_consoles_context(team: Callable[[str], HelpdeskService]) -> None:
    """A look finds its app through the context it was started from, as a thread worker does (a screen that has
    left the stack has no parent to walk to its app)."""
    from textual._context import active_app

    app = HelpdeskApp(team("li.wei"), live_interval=3600)
    seen: list[object] = []
    async with app.run_test() as pilot:
        await pilot.pause(0.2)
        app.looks.run(lambda: seen.append(active_app.get()))
        await settle(pilot)
    assert seen == [app]
