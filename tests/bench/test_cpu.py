"""bench/cpu.py reads CPU time per process and the machine's idle time from /proc, and refuses
nonsense arguments."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench import cpu


def test_a_process_cpu_time_grows_as_it_works_and_a_gone_process_has_none():
    before = cpu.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # work for 0.2 s of CPU
        pass
    assert cpu.cpu_seconds(os.getpid()) - before >= 0.1  # /proc counts in clock ticks
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert cpu.cpu_seconds(gone.pid) == 0.0


def test_the_machine_idle_time_only_grows():
    first = cpu.idle_seconds()
    time.sleep(0.05)
    assert cpu.idle_seconds() >= first > 0


def test_figures_are_ms_per_request_between_two_readings():
    before = {"web": 10.0, "idle": 100.0}
    after = {"web": 12.5, "idle": 101.0}
    assert cpu.per_request(before, after, 500) == {"web": 5.0, "idle": 2.0}


def test_a_reading_sums_each_group_and_adds_the_idle_time():
    found = cpu.reading({"me": lambda: [os.getpid()], "nobody": list})
    assert found["me"] > 0
    assert found["nobody"] == 0
    assert found["idle"] > 0


@pytest.mark.parametrize("argument", ["--members=0", "--turns=0", "--requests=0"])
def test_counts_below_one_are_refused(monkeypatch, capsys, argument):
    monkeypatch.setattr(sys, "argv", ["cpu.py", argument])
    with pytest.raises(SystemExit):
        cpu.main()
    assert "whole numbers of at least 1" in capsys.readouterr().err
