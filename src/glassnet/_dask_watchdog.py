"""A watchdog on a search's rounds of fits on a Dask cluster: nothing waits forever.

joblib's Dask backend sends each round's arguments (the rows, each fold's
indices) to one worker with ``client.scatter`` and then waits for every fit.
When a worker dies at the wrong moment, the round can wait forever: a scatter
to the dead worker never returns (joblib runs it in the client's event loop,
where its failure reaches nobody), or the fits that needed its data are never
rescheduled. The scheduler cannot tell; the search has to.

:class:`RoundWatchdog` watches from a thread of its own while a round waits for
its fits (``with watchdog.round():`` around joblib's wait, see
:func:`watched_calls`):

- every ``poll`` seconds it asks the scheduler for its workers; when a worker
  that was there when the round started is gone, it stops the round at once
  (:class:`RoundStopped` with ``lost`` set), and the search runs the round again
  on the workers still there (resubmitting the lost work; the fits of a round
  are a couple of seconds of work, see ``glassnet.search._InRounds``);
- when a round has run ``stall_seconds`` without finishing (no worker lost, but
  no progress either: every worker gone, a scheduler that stopped answering), it
  stops the round with ``lost`` unset, and the search stops with
  :class:`SearchStalledError`.

Stopping a round means raising :class:`RoundStopped` in the thread that waits
for it (the main thread, polling joblib's results every 10 ms, or waiting on
the Dask client at most 10 s at a time), as Ctrl-C would: joblib then drops the
round's outstanding fits. The exception is raised again every 5 s until the
round has ended, so one lost in a ``finally`` cannot leave the search waiting.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time


class RoundStopped(BaseException):
    """Raised into the thread that waits for a round the watchdog stopped.

    A ``BaseException``, as ``KeyboardInterrupt`` is, so that no ``except
    Exception`` between here and the search swallows it."""


class SearchStalledError(RuntimeError):
    """A search on a Dask cluster made no progress within its bound."""


class RoundWatchdog:
    """Stop a round that lost a worker or made no progress for ``stall_seconds``.

    ``client`` is a ``distributed.Client``; ``poll`` the seconds between two
    looks at the scheduler's workers. The reason of the last stop is ``reason``
    and whether it was a lost worker ``lost``.
    """

    def __init__(self, client, stall_seconds, poll=0.5):
        self.client, self.stall_seconds, self.poll = client, float(stall_seconds), poll
        self.reason, self.lost = None, False
        self._lock = threading.Lock()
        self._round = None  # (start time, workers at the start, waiting thread id)
        self._fired = 0.0  # when the round was stopped (0: not stopped)
        self._workers = None  # the scheduler's workers, as last heard
        self._closed = threading.Event()
        self._threads = [threading.Thread(target=self._watch, daemon=True,
                                          name="glassnet-round-watchdog"),
                         threading.Thread(target=self._listen, daemon=True,
                                          name="glassnet-worker-list")]
        for thread in self._threads:
            thread.start()

    def close(self):
        self._closed.set()

    def __reduce__(self):
        # scikit-learn sends the search itself to every fit (``caller=self``), and
        # the search holds its watchdog: a worker gets none (threads and locks
        # do not travel)
        return _none, ()

    @contextlib.contextmanager
    def round(self):
        """Watch the block (one round of fits) run by this thread."""
        workers = self._fresh_workers()
        with self._lock:
            self._workers = workers  # a worker that just joined is not "lost" to a stale list
            self._round = (time.monotonic(), workers, threading.get_ident())
            self._fired, self.reason, self.lost = 0.0, None, False
        try:
            yield
        finally:
            while True:  # a stop raised again in here must not skip the clean-up
                try:
                    with self._lock:
                        if self._round is not None:
                            ident, self._round = self._round[2], None
                            _raise_in(ident, None)  # one not yet raised: taken back
                    break
                except RoundStopped:
                    continue

    # -- the threads --------------------------------------------------------------
    def _fresh_workers(self):
        try:
            return set(self.client.scheduler_info()["workers"])
        except Exception:  # noqa: BLE001 - an unreachable scheduler: the deadline decides
            return set()

    def _listen(self):
        """Keep ``_workers`` current (a scheduler call can block: not in ``_watch``)."""
        while not self._closed.wait(self.poll):
            try:
                self._workers = set(self.client.scheduler_info()["workers"])
            except Exception:  # noqa: BLE001 - closed client or lost scheduler
                self._workers = None

    def _watch(self):
        while not self._closed.wait(min(self.poll, 1.0)):
            with self._lock:
                if self._round is None:
                    continue
                started, workers, ident = self._round
                if self._fired:
                    if time.monotonic() - self._fired > 5:  # lost somewhere: again
                        self._fired = time.monotonic()
                        _raise_in(ident, RoundStopped)
                    continue
                now = self._workers
                gone = sorted(workers - now) if now is not None else []
                if gone and not now:
                    self.reason = f"every Dask worker was lost ({', '.join(gone)})"
                elif gone:
                    self.reason = f"Dask worker {', '.join(gone)} was lost"
                    self.lost = True
                elif time.monotonic() - started > self.stall_seconds:
                    self.reason = (f"no round of fits finished in {self.stall_seconds:g} s "
                                   f"(workers now: {len(now) if now is not None else 'unknown'})")
                else:
                    continue
                self._fired = time.monotonic()
                _raise_in(ident, RoundStopped)


@contextlib.contextmanager
def watched_calls(watchdog):
    """Make each joblib call started in the block wait for its results under
    ``watchdog.round()`` (nothing when ``watchdog`` is None).

    The watched region is joblib's wait for a call's results (its backend's
    ``retrieval_context``, entered in the waiting thread) and nothing more: a
    stop lands inside the call, which then raises, never in the bookkeeping a
    search does once the call has returned (lists extended one after another,
    by scikit-learn's ``evaluate_candidates`` and the stacked search's), where
    it would leave them out of step and the repeated round would add its
    candidates twice. The active backend is used as it is, through a copy
    whose class adds only that (the Dask backend submits without waiting, so
    every wait of a round is in there)."""
    if watchdog is None:
        yield
        return
    from joblib import parallel_config
    from joblib.parallel import get_active_backend

    backend = get_active_backend()[0]

    class Watched(type(backend)):
        @contextlib.contextmanager
        def retrieval_context(self):
            with watchdog.round(), super().retrieval_context():
                yield

    watched = object.__new__(Watched)  # not copy.copy: Dask's backend reduces to a new one
    watched.__dict__.update(vars(backend))  # the same client, scatter and futures
    with parallel_config(backend=watched):
        yield


@contextlib.contextmanager
def watching(search):
    """Give ``search`` a watchdog for the block when it has ``stall_seconds`` and no
    watchdog of its own, and joblib's active backend is Dask (the Python API's
    ``with joblib.parallel_config(backend="dask"):``)."""
    client = _active_client()
    if search.watchdog is not None or search.stall_seconds is None or client is None:
        yield
        return
    search.watchdog = RoundWatchdog(client, search.stall_seconds)
    try:
        yield
    finally:
        search.watchdog.close()
        search.watchdog = None


def _active_client():
    """The ``distributed.Client`` of joblib's active backend (None unless Dask)."""
    from joblib.parallel import get_active_backend

    return getattr(get_active_backend()[0], "client", None)


def _none():
    return None


def _raise_in(ident, exception):
    """Raise ``exception`` (a class) in thread ``ident`` at its next Python
    instruction; ``None`` takes back one not yet raised."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exception) if exception else ctypes.c_void_p())
