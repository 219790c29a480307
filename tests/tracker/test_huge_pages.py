"""The tracker restarts itself once with glibc's huge-page tunable, and tracks the same to the bit (issue 18)."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, data
from tracker_service import huge_pages

# What a process prints before and after asking for the restart: its id and GLIBC_TUNABLES.
PROBE = ("import os; print('start', os.getpid(), os.environ.get('GLIBC_TUNABLES')); "
         "from tracker_service.huge_pages import restart_with_huge_pages; restart_with_huge_pages(); "
         "print('on', os.getpid())")

glibc_with_tunable = pytest.mark.skipif(
    not huge_pages.wanted({}), reason="needs Linux with glibc %d.%d or later" % huge_pages.MIN_GLIBC)


def _probe(env):
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return [line.split() for line in result.stdout.splitlines()]


def _env(**changes):
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env.update(changes)
    return env


@glibc_with_tunable
def test_restarts_once_as_the_same_process_with_the_tunable():
    (_, pid, before), (_, pid_again, after), (on, pid_on) = _probe(_env())
    assert before == "None" and after == "glibc.malloc.hugetlb=1"
    assert pid == pid_again == pid_on and on == "on"


@glibc_with_tunable
def test_keeps_the_users_tunables():
    lines = _probe(_env(GLIBC_TUNABLES="glibc.malloc.arena_max=2"))
    assert [line[2] for line in lines[:2]] == ["glibc.malloc.arena_max=2",
                                               "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"]
    # The user's own setting of it (here: off) is theirs: no restart.
    off = _probe(_env(GLIBC_TUNABLES="glibc.malloc.hugetlb=0"))
    assert [line[0] for line in off] == ["start", "on"]


def test_not_wanted_where_there_is_no_such_tunable(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    assert not huge_pages.wanted({})
    assert huge_pages.without_tunable(huge_pages.with_tunable({"A": "1"})) == {"A": "1"}


@glibc_with_tunable
def test_take_is_the_same_with_and_without_huge_pages(tmp_path):
    """The speed comes from where the model sits in memory, not from other arithmetic."""
    takes = []
    for name, env in (("plain", _env(GLIBC_TUNABLES="glibc.malloc.hugetlb=0")), ("huge", _env())):
        out = tmp_path / (name + ".jsonl")
        result = subprocess.run([sys.executable, "-m", "tracker_service", "--source", data("video", "expr_d10.mp4"),
                                 "--out", str(out), "--fast", "--no-preview", "--max-frames", "120"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        takes.append(out.read_bytes())
    assert takes[0] == takes[1] and takes[0].count(b"\n") == 121
