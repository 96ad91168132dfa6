"""The shared execution engine: inline, process/thread pools and Ray actors; retries, failure
isolation inside batches, and fail-fast when a worker cannot be built."""

from __future__ import annotations

import shutil
import sys
import tempfile
from functools import partial

import pytest

from svta.config import EngineConfig
from svta.engine import iter_outcomes, run_items
from svta.errors import BackendError


class Doubler:
    """Doubles ints; ``-1`` always fails, ``-2`` fails only as part of a batch bigger than one."""

    def __init__(self, tag: str = "w"):
        self.tag = tag
        self.calls = 0

    def __call__(self, items):
        self.calls += 1
        if -2 in items and len(items) > 1:
            raise RuntimeError("batch poisoned")
        return [ValueError(f"bad item {x}") if x == -1 else (x * 2, self.tag) for x in items]


def broken_factory():
    raise RuntimeError("cannot load the model")


def test_inline_results_and_per_item_failure():
    failures = []
    outcomes = list(
        iter_outcomes([1, 2, -1, 3], Doubler, retries=2, on_failure=lambda item, err, n: failures.append((item, n)))
    )
    ok = sorted(o.result[0] for o in outcomes if o.ok)
    bad = [o for o in outcomes if not o.ok]
    assert ok == [2, 4, 6]
    assert (
        len(bad) == 1
        and bad[0].item == -1
        and bad[0].attempts == 3
        and bad[0].error.startswith("ValueError: bad item -1")
    )
    assert failures == [(-1, 1), (-1, 2), (-1, 3)]


def test_batch_that_raises_is_split_without_using_attempts():
    outcomes = list(iter_outcomes([1, -2, 3, 4], Doubler, batch_size=4, retries=0))
    assert sorted(o.result[0] for o in outcomes) == [-4, 2, 6, 8]
    assert all(o.ok and o.attempts == 1 for o in outcomes)


def test_run_items_report_and_callback():
    seen = []
    report = run_items(list(range(5)) + [-1], Doubler, EngineConfig(), on_outcome=seen.append, retries=1)
    assert (report.done, report.failed, report.engine) == (5, 1, "local")
    assert len(seen) == 6 and report.failures[0].item == -1


def test_thread_pool_builds_one_worker_per_thread():
    config = EngineConfig(name="local", workers=2)
    outcomes = list(iter_outcomes(list(range(20)), partial(Doubler, "t"), config, kind="thread", batch_size=3))
    assert sorted(o.result[0] for o in outcomes) == [2 * i for i in range(20)]


def test_process_pool(tmp_path):
    config = EngineConfig(name="local", workers=2)
    outcomes = list(iter_outcomes([1, 2, 3, -1], Doubler, config, kind="process", retries=1))
    assert sorted(o.result[0] for o in outcomes if o.ok) == [2, 4, 6]
    assert [o.attempts for o in outcomes if not o.ok] == [2]


def test_process_pool_fails_fast_when_workers_cannot_start():
    with pytest.raises(BackendError, match="local worker process failed"):
        list(iter_outcomes([1, 2], broken_factory, EngineConfig(name="local", workers=2)))


def test_inline_factory_error_propagates():
    with pytest.raises(RuntimeError, match="cannot load"):
        list(iter_outcomes([1], broken_factory))


def test_empty_items_build_no_worker():
    assert list(iter_outcomes([], broken_factory)) == []


def test_ray_actors():
    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # test module is not importable by workers
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, log_to_driver=False)
    try:
        from svta.preflight import ray_head_answer

        assert ray_head_answer(ray.get_runtime_context().gcs_address) is None  # a real GCS answers the probe
        config = EngineConfig(name="ray", workers=2)
        outcomes = list(iter_outcomes(list(range(12)) + [-1], partial(Doubler, "r"), config, batch_size=2, retries=1))
        assert sorted(o.result[0] for o in outcomes if o.ok) == [2 * i for i in range(12)]
        assert [o.attempts for o in outcomes if not o.ok] == [2]
        with pytest.raises(BackendError, match="could not start"):
            list(iter_outcomes([1, 2], broken_factory, config))
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def test_local_pool_keeps_a_batch_queued_per_worker():
    from svta.engine import POOL_QUEUE_DEPTH, _make_dispatcher

    dispatcher = _make_dispatcher(partial(Doubler, "t"), EngineConfig(name="local", workers=2), "thread", 1.0)
    try:
        assert dispatcher.slots == 2 * POOL_QUEUE_DEPTH == 4
    finally:
        dispatcher.close()
