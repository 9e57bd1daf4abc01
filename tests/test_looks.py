"""The console's look threads (console/tui/looks.py): a keyed look is skipped while the last one of its key runs,
other jobs never are, and what a job raises reaches the app."""

from __future__ import annotations

import functools
import threading
import time

from console.tui.looks import Looks


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
