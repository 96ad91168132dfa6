"""Item-parallel execution shared by the stages: one worker function over many items, run inline, in
a local process/thread pool, or on Ray actors (each holding one worker, e.g. one GPU pipeline).

Workers only compute; every outcome comes back to the driver, which alone commits results, so the
resume records are the same whatever the engine. Failed items are retried, never killing the batch.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from svta._configbase import StrictModel
from svta.errors import BackendError, ConfigError, StageIncomplete
from svta.registry import require

T = TypeVar("T")
R = TypeVar("R")


class EngineConfig(StrictModel):
    """The ``engine:`` section: where item-parallel work runs, in-process (``local``) or on a Ray cluster (``ray``)."""

    name: Literal["local", "ray"] = "local"
    workers: int = 1
    ray_address: str | None = None  # None: start a local Ray; "auto": join a running cluster
    num_gpus_per_worker: float = 0.0


# A worker maps a batch of items to one result per item; a result may be an Exception instance to
# fail that item alone. ``make_worker`` builds one worker per process/actor and must be picklable.
Worker = Callable[[list[Any]], list[Any]]
WorkerFactory = Callable[[], Worker]
PoolKind = Literal["process", "thread"]

# Batches kept in flight per Ray actor, so an actor never idles while the driver commits.
RAY_QUEUE_DEPTH = 2
# Likewise per local pool worker: the next batch waits in the pool's queue while the driver takes the last
# result (short items, e.g. 96x96 procedural clips at ~10 ms each, otherwise idle a worker a few % of the time).
POOL_QUEUE_DEPTH = 2


@dataclass
class ItemOutcome(Generic[T]):
    """The final outcome of one item.

    Attributes:
        item: The item as given.
        result: The worker's result (None when failed).
        error: The last error, ``"Type: message"`` (None on success).
        attempts: How many times the item was tried.
        seconds: Wall time of the worker call that produced it, shared over its batch.
    """

    item: T
    result: Any = None
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RunReport:
    """Counts of one :func:`run_items` call."""

    engine: str
    workers: int
    done: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[ItemOutcome[Any]] = field(default_factory=list)


@dataclass
class _Task:
    index: int
    item: Any
    attempts: int = 0
    solo: bool = False  # split out of a batch that raised, so it runs alone next time


class _Dispatcher(Protocol):
    slots: int

    def submit(self, batch: list[_Task]) -> None: ...

    def next_done(self) -> tuple[list[_Task], list[Any] | BaseException, float]: ...

    def close(self) -> None: ...


def describe_error(exc: BaseException) -> str:
    """``"Type: message"`` of an exception, as recorded in failure logs."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def call_worker(worker: Worker, items: list[Any]) -> tuple[list[Any], float]:
    """Run ``worker`` on a batch and time it; checks that it returned one result per item."""
    start = time.perf_counter()
    results = list(worker(items))
    if len(results) != len(items):
        raise RuntimeError(f"worker returned {len(results)} results for {len(items)} items")
    return results, time.perf_counter() - start


class _InlineDispatcher:
    """Runs batches in this process, one at a time."""

    slots = 1

    def __init__(self, make_worker: WorkerFactory):
        self.worker = make_worker()
        self.pending: deque[list[_Task]] = deque()

    def submit(self, batch: list[_Task]) -> None:
        self.pending.append(batch)

    def next_done(self) -> tuple[list[_Task], list[Any] | BaseException, float]:
        batch = self.pending.popleft()
        start = time.perf_counter()
        try:
            results, seconds = call_worker(self.worker, [t.item for t in batch])
        except Exception as exc:  # noqa: BLE001 - an item's failure must not end the run
            return batch, exc, time.perf_counter() - start
        return batch, results, seconds

    def close(self) -> None:
        self.worker = None  # type: ignore[assignment]


_POOL_WORKER: Worker | None = None


# How often a pool process checks that its parent is alive, where the OS cannot tell it (not Linux).
PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _pool_init(make_worker: WorkerFactory, parent_pid: int) -> None:
    global _POOL_WORKER
    exit_with_parent(parent_pid)
    _POOL_WORKER = make_worker()


def exit_with_parent(parent_pid: int) -> None:
    """Make this process exit as soon as the process ``parent_pid`` that started it dies.

    A SIGKILLed driver runs no cleanup, so its pool processes (each holding a backend, hundreds of MB)
    and multiprocessing's resource tracker would live on under PID 1. On Linux the kernel delivers
    SIGKILL to this process when its parent dies (``PR_SET_PDEATHSIG``); everywhere a daemon thread also
    polls the parent pid, which covers other systems and a parent that died before the call.
    """
    _kill_on_parent_death()
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="svta-parent-watch", daemon=True).start()


def _kill_on_parent_death() -> None:
    # the kernel ties this to the thread that started the process: the pool starts its workers from
    # the thread that submits work, which closes the pool before it ends, so only the driver's
    # death triggers it
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl (an unusual libc): the polling thread still catches the parent's death


def _watch_parent(parent_pid: int) -> None:
    # an orphan is re-parented (to PID 1 or a subreaper), so a changed ppid means the parent is gone;
    # os._exit: the interpreter may be busy in a worker call, and there is nothing to flush
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _pool_run(items: list[Any]) -> tuple[list[Any], float]:
    assert _POOL_WORKER is not None, "pool worker not initialised"
    return call_worker(_POOL_WORKER, items)


class _PoolDispatcher:
    """A local pool of processes (CPU work) or threads (I/O-bound work), one worker each."""

    def __init__(self, make_worker: WorkerFactory, workers: int, kind: PoolKind):
        import concurrent.futures as cf
        from concurrent.futures.process import BrokenProcessPool

        self._cf = cf
        self._broken = BrokenProcessPool
        self.slots = workers * POOL_QUEUE_DEPTH
        if kind == "process":
            import multiprocessing

            # spawn: forking a process that holds threads (torch, rich) can deadlock the child
            self.pool: Any = cf.ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_pool_init,
                initargs=(make_worker, os.getpid()),
            )
            self._run: Callable[[list[Any]], tuple[list[Any], float]] = _pool_run
        else:
            local = threading.local()

            def run_in_thread(items: list[Any]) -> tuple[list[Any], float]:
                if not hasattr(local, "worker"):
                    local.worker = make_worker()
                return call_worker(local.worker, items)

            self.pool = cf.ThreadPoolExecutor(workers)
            self._run = run_in_thread
        self.futures: dict[Any, list[_Task]] = {}

    def submit(self, batch: list[_Task]) -> None:
        self.futures[self.pool.submit(self._run, [t.item for t in batch])] = batch

    def next_done(self) -> tuple[list[_Task], list[Any] | BaseException, float]:
        done, _ = self._cf.wait(list(self.futures), return_when=self._cf.FIRST_COMPLETED)
        future = next(iter(done))
        batch = self.futures.pop(future)
        exc = future.exception()
        if isinstance(exc, self._broken):
            # the initializer failed or a worker process died: the pool cannot go on; the stage's
            # resume records let a rerun continue where this stopped
            raise BackendError(f"a local worker process failed: {describe_error(exc)}") from exc
        if exc is not None:
            return batch, exc, 0.0
        results, seconds = future.result()
        return batch, results, seconds

    def close(self) -> None:
        for future in self.futures:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


class _RayActorBody:
    """The body of a Ray actor: builds one worker (e.g. loads one pipeline) and runs batches."""

    def __init__(self, make_worker: WorkerFactory):
        self.worker = make_worker()

    def run(self, items: list[Any]) -> tuple[list[Any], float]:
        return call_worker(self.worker, items)


def connect_ray(ray: Any, address: str | None) -> None:
    """``ray.init`` that fails fast, in one line naming ``address`` and the likely fix.

    Ray retries an unreachable cluster, or a listener that is no Ray head, for many minutes and reports it,
    like a missing auth token, as a long traceback; asking the head one RPC first (seconds) and a translation
    of Ray's errors replace both. Ray's own INFO lines and worker logs reach the console only with ``svta -v``.

    Raises:
        BackendError: nothing (or no Ray head) answers at ``address``, no cluster runs (``auto``), or the
            cluster refused us.
    """
    import logging

    from svta import preflight
    from svta.progress import is_verbose

    where = address or "a new local Ray"
    preflight.require_ray_head(address)
    verbose = is_verbose()
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=verbose,
            logging_level=logging.INFO if verbose else logging.ERROR,
        )
    except Exception as exc:  # noqa: BLE001 - translated below, re-raised when not a connection problem
        if type(exc).__name__ == "AuthenticationError":
            raise BackendError(
                f"Ray cluster at {where} refused the connection: missing or wrong auth token; set RAY_AUTH_TOKEN "
                "(or ~/.ray/auth_token) to the cluster's token and RAY_AUTH_MODE=token"
            ) from None
        if isinstance(exc, ConnectionError):
            hint = "start one with `ray start --head`" if address == "auto" else "check that the cluster is up"
            raise BackendError(f"Ray cluster at {where}: {describe_error(exc)}; {hint}") from None
        raise


class RunStopped(StageIncomplete, BackendError):
    """A backend failed for good after part of the work was committed: that part is kept and a rerun
    finishes the rest (exit 3, not 2: something was written)."""


class RayClusterLost(RunStopped):
    """The Ray head stopped answering mid-run."""


# While results are awaited the driver asks the head whether it is alive this often; a head silent for
# RAY_LOST_AFTER_S ends the run in one line. Ray itself kills the driver after 60 s without its GCS.
RAY_WAIT_S = 2.0
RAY_LOST_AFTER_S = 15.0


class _RayDispatcher:
    """Ray actors with ``num_gpus`` each; the driver keeps a few batches queued per actor."""

    def __init__(self, make_worker: WorkerFactory, config: EngineConfig, cpus_per_worker: float):
        self.ray = require("ray", "ray")
        self.started = False
        if not self.ray.is_initialized():
            connect_ray(self.ray, config.ray_address)
            self.started = True
        self.head = _gcs_address(self.ray)
        self.silent_since: float | None = None
        self.lost = False
        options = {"num_cpus": cpus_per_worker, "num_gpus": config.num_gpus_per_worker, "max_restarts": 0}
        self.actor_cls = self.ray.remote(_RayActorBody).options(**options)
        self.make_worker = make_worker
        self.actors = [self.actor_cls.remote(make_worker) for _ in range(max(1, config.workers))]
        self.slots = len(self.actors) * RAY_QUEUE_DEPTH
        self.refs: dict[Any, tuple[Any, list[_Task], float]] = {}
        self.load = {id(a): 0 for a in self.actors}

    def submit(self, batch: list[_Task]) -> None:
        actor = min(self.actors, key=lambda a: self.load[id(a)])
        self.load[id(actor)] += 1
        ref = actor.run.remote([t.item for t in batch])
        self.refs[ref] = (actor, batch, time.perf_counter())

    def next_done(self) -> tuple[list[_Task], list[Any] | BaseException, float]:
        ready: list[Any] = []
        while not ready:
            ready, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=RAY_WAIT_S)
            if not ready:
                self._check_head(RAY_LOST_AFTER_S)
        actor, batch, started = self.refs.pop(ready[0])
        self.load[id(actor)] = max(0, self.load.get(id(actor), 1) - 1)
        try:
            results, seconds = self.ray.get(ready[0])
        except self.ray.exceptions.RayActorError as exc:
            if getattr(exc, "actor_init_failed", False):
                raise BackendError(f"a Ray worker could not start: {describe_error(exc)}") from exc
            self._check_head(0.0)  # a lost head kills every actor: stop now rather than replace them
            self._replace(actor)
            return batch, exc, time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - the worker raised: RayTaskError wraps the cause
            return batch, getattr(exc, "cause", None) or exc, time.perf_counter() - started
        return batch, results, seconds

    def _replace(self, dead: Any) -> None:
        """A dead actor (crash, OOM, lost node) is replaced once per death; its batches fail and retry."""
        if dead in self.actors:
            self.actors.remove(dead)
            self.load.pop(id(dead), None)
            fresh = self.actor_cls.remote(self.make_worker)
            self.actors.append(fresh)
            self.load[id(fresh)] = 0

    def _check_head(self, grace_s: float) -> None:
        """Raise :class:`RayClusterLost` once the head has not answered for ``grace_s`` seconds."""
        from svta.preflight import ray_head_answer

        if self.head is None:
            return
        problem = ray_head_answer(self.head)
        if problem is None:
            self.silent_since = None
            return
        now = time.monotonic()
        self.silent_since = self.silent_since or now
        if now - self.silent_since >= grace_s:
            self.lost = True
            raise RayClusterLost(f"the Ray head at {self.head} stopped answering: {problem}")

    def close(self) -> None:
        if self.lost:  # nothing to kill or disconnect from; Ray's own shutdown would wait for the head
            return
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001, S110 - already gone; nothing to clean up
                pass
        if self.started:
            self.ray.shutdown()


def _gcs_address(ray: Any) -> str | None:
    """The GCS address of the connected cluster (None where Ray does not say, e.g. through Ray Client)."""
    try:
        address = ray.get_runtime_context().gcs_address
    except Exception:  # noqa: BLE001 - an older Ray or a client connection: no liveness checks then
        return None
    return str(address) if address else None


def _make_dispatcher(
    make_worker: WorkerFactory, config: EngineConfig, kind: PoolKind, cpus_per_worker: float
) -> _Dispatcher:
    if config.name == "ray":
        return _RayDispatcher(make_worker, config, cpus_per_worker)
    if config.name != "local":
        raise ConfigError(f"engine.name: unknown engine {config.name!r}; known: local, ray")
    if config.workers <= 1:
        return _InlineDispatcher(make_worker)
    return _PoolDispatcher(make_worker, config.workers, kind)


def iter_outcomes(
    items: Sequence[T],
    make_worker: WorkerFactory,
    engine_config: EngineConfig | None = None,
    *,
    batch_size: int = 1,
    retries: int = 0,
    on_failure: Callable[[T, str, int], None] | None = None,
    kind: PoolKind = "process",
    cpus_per_worker: float = 1.0,
) -> Iterator[ItemOutcome[T]]:
    """Run workers over ``items`` and yield each item's final outcome as it completes.

    Args:
        items: The work; each is passed to a worker inside a list (a batch).
        make_worker: Picklable zero-argument factory; called once per inline run, pool process,
            pool thread or Ray actor.
        engine_config: ``local`` (workers <= 1: inline; more: a pool of ``kind``) or ``ray``
            (``workers`` actors with ``num_gpus_per_worker`` each). Default: local, inline.
        batch_size: Items per worker call.
        retries: Extra attempts per failed item. A batch that raises is split and its items
            re-run alone without using up an attempt, so one bad item never fails its neighbours.
        on_failure: Called on the driver for every failed attempt as ``(item, error, attempt)``.
        kind: Local pool flavour: ``process`` for CPU-bound work, ``thread`` for I/O-bound work.
        cpus_per_worker: CPUs each Ray actor reserves.

    Yields:
        One :class:`ItemOutcome` per item, in completion order.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    config = engine_config or EngineConfig()
    queue: deque[_Task] = deque(_Task(i, item) for i, item in enumerate(items))
    if not queue:
        return
    dispatcher = _make_dispatcher(make_worker, config, kind, cpus_per_worker)
    in_flight = 0
    try:
        while queue or in_flight:
            while queue and in_flight < dispatcher.slots:
                dispatcher.submit(_take_batch(queue, batch_size))
                in_flight += 1
            batch, results, seconds = dispatcher.next_done()
            in_flight -= 1
            if isinstance(results, BaseException) and len(batch) > 1:
                for task in reversed(batch):  # isolate the bad item; keep the others' attempts
                    task.solo = True
                    queue.appendleft(task)
                continue
            per_item = seconds / max(1, len(batch))
            outcomes = results if not isinstance(results, BaseException) else [results]
            for task, result in zip(batch, outcomes):
                outcome = _settle(task, result, per_item, retries, on_failure)
                if outcome is None:
                    queue.append(task)  # retried alone, after the items already queued
                else:
                    yield outcome
    finally:
        dispatcher.close()


def _settle(
    task: _Task, result: Any, seconds: float, retries: int, on_failure: Callable[[Any, str, int], None] | None
) -> ItemOutcome[Any] | None:
    """The final outcome of ``task``'s attempt, or None when it failed and has attempts left."""
    task.attempts += 1
    if not isinstance(result, BaseException):
        return ItemOutcome(task.item, result, None, task.attempts, seconds)
    error = describe_error(result)
    if on_failure is not None:
        on_failure(task.item, error, task.attempts)
    if task.attempts <= retries:
        task.solo = True
        return None
    return ItemOutcome(task.item, None, error, task.attempts, seconds)


def _take_batch(queue: deque[_Task], batch_size: int) -> list[_Task]:
    first = queue.popleft()
    batch = [first]
    if first.solo:
        return batch
    while queue and len(batch) < batch_size and not queue[0].solo:
        batch.append(queue.popleft())
    return batch


def run_items(
    items: Sequence[T],
    make_worker: WorkerFactory,
    engine_config: EngineConfig | None = None,
    *,
    on_outcome: Callable[[ItemOutcome[T]], None] | None = None,
    description: str = "working",
    **options: Any,
) -> RunReport:
    """Run ``items`` through workers (see :func:`iter_outcomes` for the options) with a progress bar.

    ``on_outcome`` runs on the driver for each final outcome, successful or not; it is where a
    stage commits results. Returns counts and the failed outcomes.
    """
    from svta.progress import progress

    config = engine_config or EngineConfig()
    report = RunReport(engine=config.name, workers=max(1, config.workers))
    start = time.perf_counter()
    try:
        outcomes = iter_outcomes(items, make_worker, config, **options)
        counts = lambda: f"{report.done} done, {report.failed} failed"  # noqa: E731  (read when the loop ends)
        for outcome in progress(outcomes, description, total=len(items), summary=counts):
            if outcome.ok:
                report.done += 1
            else:
                report.failed += 1
                report.failures.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    except BackendError as exc:
        lost = isinstance(exc, RayClusterLost)
        if not lost and not (report.done or report.failed):
            raise  # nothing ran (e.g. a worker that cannot start): exit 2, nothing written
        left = len(items) - report.done - report.failed
        kind, fix = (RayClusterLost, "restart the cluster and rerun") if lost else (RunStopped, "rerun")
        raise kind(
            f"{exc}; {description} stopped after {report.done} of {len(items)} item(s) done ({report.failed} "
            f"failed, {left} not run); what was done is kept; {fix} to finish"
        ) from None
    finally:
        report.seconds = time.perf_counter() - start
    return report
