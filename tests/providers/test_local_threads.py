"""The local server's thread count: one per free core, measured; the environment overrides it."""

from __future__ import annotations

from collections import namedtuple

import pytest

from providers.doors.local import server as local_server
from providers.doors.local.server import free_cores, threads_for
from providers.errors import LocalModelError

CpuTimes = namedtuple("CpuTimes", "user system idle iowait")
ProcTimes = namedtuple("ProcTimes", "user system children_user children_system")


@pytest.mark.parametrize(
    ("free", "most", "expected"),
    [
        (2.0, 2, 2),  # idle 2-core machine
        (1.8, 2, 2),  # a little background work
        (1.74, 2, 1),  # a quarter of a core busy elsewhere: a second thread would stall
        (1.0, 2, 1),  # another process holds one core
        (0.0, 2, 1),  # everything busy: still one thread
        (15.9, 8, 8),  # capped
        (3.3, 16, 3),
    ],
)
def test_threads_for(free: float, most: int, expected: int) -> None:
    assert threads_for(free, most) == expected


def test_threads_for_default_cap_is_usable_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_server, "_cpu_count", lambda: 2)
    assert threads_for(7.0) == 2
    monkeypatch.setattr(local_server, "_cpu_count", lambda: 64)
    assert threads_for(40.0) == local_server.MAX_AUTO_THREADS


class _FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def _fake_psutil(monkeypatch: pytest.MonkeyPatch, clock: _FakeClock, idle_rate: list[float], own_rate: float):
    """CPU times that advance with the fake clock: each CPU idles at its rate, this process uses own_rate."""
    import psutil

    start = clock.t

    def cpu_times(percpu: bool = False):
        dt = clock.t - start
        return [CpuTimes(0.0, 0.0, 1000.0 + rate * dt, 0.0) for rate in idle_rate]

    class _Proc:
        def cpu_times(self):
            dt = clock.t - start
            return ProcTimes(5.0 + own_rate * dt, 0.0, 0.0, 0.0)

    monkeypatch.setattr(psutil, "cpu_times", cpu_times)
    monkeypatch.setattr(psutil, "Process", _Proc)
    monkeypatch.setattr(local_server.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(local_server.time, "sleep", clock.sleep)


def test_free_cores_counts_idle_time_of_usable_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _FakeClock()
    # CPU 0 idle, CPU 1 busy with another process, CPU 2 idle but outside this process's affinity
    _fake_psutil(monkeypatch, clock, [1.0, 0.0, 1.0], own_rate=0.0)
    monkeypatch.setattr(local_server.os, "sched_getaffinity", lambda pid: {0, 1})
    assert free_cores(0.5) == 1.0
    assert threads_for(free_cores(0.5), 2) == 1


def test_free_cores_adds_back_this_process_own_use(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _FakeClock()
    # both CPUs half busy, all of it this process's own work (the runner building haystacks): both free
    _fake_psutil(monkeypatch, clock, [0.5, 0.5], own_rate=1.0)
    monkeypatch.setattr(local_server.os, "sched_getaffinity", lambda pid: {0, 1})
    assert free_cores(0.5) == 2.0
    assert threads_for(free_cores(0.5), 2) == 2


def test_free_cores_is_bounded_by_usable_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _FakeClock()
    _fake_psutil(monkeypatch, clock, [1.0, 1.0], own_rate=1.0)
    monkeypatch.setattr(local_server.os, "sched_getaffinity", lambda pid: {0, 1})
    assert free_cores(0.5) == 2.0


def test_free_cores_on_this_machine_is_in_range() -> None:
    free = free_cores(0.05)
    assert 0.0 <= free <= local_server._cpu_count()


def test_environment_overrides_the_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(local_server.THREADS_ENV, "3")
    monkeypatch.setattr(local_server, "free_cores", lambda: pytest.fail("measured despite the override"))
    assert local_server._default_threads() == 3
    assert local_server.LocalServer().n_threads == 3


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_bad_environment_value_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(local_server.THREADS_ENV, value)
    with pytest.raises(LocalModelError, match=local_server.THREADS_ENV):
        local_server._default_threads()


def test_default_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(local_server.THREADS_ENV, raising=False)
    monkeypatch.setattr(local_server, "_cpu_count", lambda: 2)
    monkeypatch.setattr(local_server, "free_cores", lambda: 1.9)
    assert local_server._default_threads() == 2
    monkeypatch.setattr(local_server, "free_cores", lambda: 0.9)
    assert local_server._default_threads() == 1
