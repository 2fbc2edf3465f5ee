"""Reload the covenants on change, without a restart: a polling watcher plus SIGHUP.

Polling (mtime and size of every ``*.yaml``/``*.json`` in the directory) needs
no extra dependency and works on every file system, including bind mounts
and Kubernetes ConfigMaps where inotify events get lost. SIGHUP only wakes
the watcher thread, which does the reload: a signal handler must not take
the holder's lock the main thread might already hold. The swap itself is
atomic in :class:`PolicyHolder`, and a directory with errors keeps the policy
in force; the problems are logged (file, line, message — covenants hold no
personal data). Whatever goes wrong in a reload, the thread lives on: a
watcher that died on one bad edit ignored every later one (and SIGHUP), so a
party or role removed from a covenant stayed in force until a restart.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from gateway.policy.errors import Finding, PolicyError
from gateway.policy.holder import PolicyHolder

log = logging.getLogger("ketenpoort.policy")

Snapshot = dict[str, tuple[int, int]]
_WATCHED = ("*.yaml", "*.json")


def snapshot(directory: Path) -> Snapshot:
    """Name -> (mtime_ns, size) of the watched files; a vanished directory is empty."""
    found: Snapshot = {}
    for pattern in _WATCHED:
        for path in directory.glob(pattern):
            try:
                stat = path.stat()
            except OSError:
                continue
            found[path.name] = (stat.st_mtime_ns, stat.st_size)
    return found


class PolicyWatcher:
    """Calls ``holder().reload()`` when the policy directory changes or on :meth:`trigger`.

    ``holder`` is a callable so the policy is loaded lazily, by whoever needs
    it first (a request or this thread), exactly as the runtime does it.
    """

    def __init__(
        self,
        directory: Path,
        holder: Callable[[], PolicyHolder],
        *,
        interval_s: float = 1.0,
    ) -> None:
        self.directory = directory
        self._holder = holder
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._forced = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = snapshot(directory)
        self.reloads = 0
        self.last_problems: list[Finding] = []

    def trigger(self) -> None:
        """Reload at the next moment, changed or not (SIGHUP); safe from a signal handler."""
        self._forced = True
        self._wake.set()

    def check_now(self) -> bool:
        """Reload if something changed (or a reload was triggered); True if it reloaded."""
        current = snapshot(self.directory)
        forced, self._forced = self._forced, False
        if current == self._seen and not forced:
            return False
        self._seen = current
        self._reload()
        return True

    def _reload(self) -> None:
        try:
            problems = self._holder().reload()
        except PolicyError as error:
            problems = error.problems
        except Exception as error:  # noqa: BLE001 - the watcher must outlive any bad file
            # The type only, no traceback: logs carry no stack traces (docs/security.md).
            problems = [Finding(self.directory, None, f"reload failed: {type(error).__name__}")]
        self.reloads += 1
        self.last_problems = problems
        errors = [p for p in problems if p.severity == "error"]
        for problem in problems:
            log.log(
                logging.ERROR if problem.severity == "error" else logging.WARNING, "%s", problem
            )
        if errors:
            log.error(
                "policy not reloaded: %d error(s); the previous policy stays in force", len(errors)
            )
        else:
            log.info("policy reloaded from %s", self.directory)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval_s)
            self._wake.clear()
            if self._stopping.is_set():
                return
            self.check_now()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="policy-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None


def install_sighup(watcher: PolicyWatcher) -> Callable[[], None]:
    """Make SIGHUP trigger a reload; returns the function that restores the old handler.

    Signal handlers can only be set from the main thread; elsewhere (a server
    in a test thread) the file watcher alone does the job.
    """
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is None or threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        watcher.trigger()

    previous = signal.signal(hangup, on_hangup)

    def restore() -> None:
        signal.signal(hangup, previous)

    return restore


class PolicyReloading:
    """The watcher and the SIGHUP handler together, as the app's lifespan runs them."""

    def __init__(
        self, directory: Path, holder: Callable[[], PolicyHolder], *, interval_s: float = 1.0
    ) -> None:
        self.watcher = PolicyWatcher(directory, holder, interval_s=interval_s)
        self._restore: Callable[[], None] = lambda: None

    def start(self) -> None:
        self.watcher.start()
        self._restore = install_sighup(self.watcher)

    def stop(self) -> None:
        self._restore()
        self._restore = lambda: None
        self.watcher.stop()
