"""LRU cache with background prefetch: bounded memory, no double loads, errors reach the caller."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from reader_app.domain.volume_cache import VolumeCache


class Loader:
    def __init__(self, delay=0.0, fail=()):
        self.calls = []
        self.threads = []
        self.delay = delay
        self.fail = set(fail)

    def __call__(self, key):
        self.calls.append(key)
        self.threads.append(threading.current_thread().name)
        time.sleep(self.delay)
        if key in self.fail:
            raise OSError(f"cannot read {key}")
        return f"value-{key}"


def test_get_loads_once_and_evicts_least_recently_used():
    loader = Loader()
    cache = VolumeCache(loader, capacity=2)
    try:
        assert cache.get("a") == "value-a"
        cache.get("b")
        cache.get("a")  # a is now most recent
        cache.get("c")  # evicts b
        assert cache.keys() == ["a", "c"]
        assert loader.calls == ["a", "b", "c"]
        assert (cache.hits, cache.misses) == (1, 3)
    finally:
        cache.close()


def test_prefetch_runs_in_background_and_get_waits_for_it():
    loader = Loader(delay=0.2)
    cache = VolumeCache(loader, capacity=2)
    try:
        t0 = time.perf_counter()
        cache.prefetch("next")
        assert time.perf_counter() - t0 < 0.1  # returns at once
        assert cache.is_pending("next")
        cache.prefetch("next")  # a second request does not load twice
        assert cache.get("next") == "value-next"
        assert loader.calls == ["next"]
        assert loader.threads[0].startswith("volume-prefetch")
        assert "next" in cache and not cache.is_pending("next")
    finally:
        cache.close()


def test_memory_stays_bounded_over_a_long_session():
    cache = VolumeCache(Loader(), capacity=4)
    try:
        for i in range(300):
            cache.get(i)
            cache.prefetch(i + 1)
        assert len(cache) <= 4
    finally:
        cache.close()


def test_loader_errors_reach_get_and_are_not_cached():
    loader = Loader(fail={"bad"})
    cache = VolumeCache(loader, capacity=2)
    try:
        cache.prefetch("bad")
        with pytest.raises(OSError, match="cannot read bad"):
            cache.get("bad")
        assert "bad" not in cache and not cache.is_pending("bad")
        loader.fail.clear()
        assert cache.get("bad") == "value-bad"
    finally:
        cache.close()


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity"):
        VolumeCache(Loader(), capacity=0)


def test_prefetch_after_close_is_ignored():
    cache = VolumeCache(Loader(), capacity=2)
    cache.close()
    assert cache.prefetch("late") is None and not cache.is_pending("late")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_background_prefetch_runs_at_lower_priority_and_the_waited_for_one_does_not():
    seen = {}

    def loader(key):
        seen[key] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return key

    base = os.getpriority(os.PRIO_PROCESS, 0)
    cache = VolumeCache(loader, capacity=4, workers=1, background_nice=5)
    try:
        cache.prefetch("next", background=True).result(timeout=10)
        cache.prefetch("first").result(timeout=10)
        assert cache.get("next") == "next" and cache.get("first") == "first"
    finally:
        cache.close()
    assert seen["first"] == base
    assert seen["next"] == min(base + 5, 19)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # the caller's thread untouched
