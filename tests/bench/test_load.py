"""bench/load.py: what a timed burst counts, and how bursts add up (the POST ÷ TimeTagger figure)."""

from __future__ import annotations

import asyncio

import pytest

from bench import load


class Clock:
    """A perf_counter that moves only when a call advances it, so the burst's window is exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_timed_burst_counts_the_calls_finished_within_its_window(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(load.time, "perf_counter", clock)
    calls: list[tuple[int, float, float]] = []
    durations = iter([1.0, 0.5, 2.0, 0.25, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0])

    async def worker(index: int) -> None:
        begun = clock.now
        clock.now += next(durations)  # the time this call takes, as the next lane to run sees it
        await asyncio.sleep(0)
        calls.append((index, begun, clock.now))

    burst = asyncio.run(load.timed_burst(worker, concurrency=3, seconds=4.0))

    deadline = 104.0
    assert burst.seconds == 4.0
    assert all(begun < deadline for _, begun, _ in calls), "no call starts after the window"
    assert len(burst.samples_ms) == len(calls), "calls running when the window closes are finished and timed"
    assert burst.calls == sum(1 for _, _, finished in calls if finished <= deadline)
    assert 0 < burst.calls < len(calls), "this schedule has calls on both sides of the deadline"
    assert sorted(index for index, _, _ in calls) == list(range(len(calls)))


def test_bursts_add_up_to_their_calls_over_their_summed_time():
    bursts = [load.Burst([10.0, 20.0, 30.0], calls=3, seconds=2.0), load.Burst([40.0, 50.0], calls=1, seconds=2.0)]

    figures = load.summary(bursts, concurrency=16)

    assert figures["throughput_per_s"] == 1.0  # 4 counted calls in 4 s: uncounted calls add latency only
    assert (figures["n"], figures["p50_ms"], figures["seconds"]) == (5, 30.0, 4.0)


def test_a_failing_call_fails_the_burst():
    async def worker(index: int) -> None:
        raise RuntimeError(f"call {index} failed")

    with pytest.raises(RuntimeError, match="failed"):
        asyncio.run(load.timed_burst(worker, concurrency=2, seconds=1.0))
