"""Every process the harness starts, recorded, and gone at the end.

Each child runs in its own session (so its process group holds it and anything it forks)
and gets PR_SET_PDEATHSIG=SIGKILL, so even a SIGKILL of the harness itself takes the child
down; the watchdog (harness/runtime/reaper.py) takes down what the child forked. We signal
process groups by the pgid we recorded, never processes by name.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import faulthandler
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import psutil

from harness.errors import ProcessFailed, StartTooSlow
from harness.runtime.reaper import OWNER_ENV, Watchdog, kill_pids, marked

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Proc:
    """One started process (a server or service incarnation)."""

    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes]
    pgid: int
    started_at: float = field(default_factory=time.time)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def group_members(self) -> list[int]:
        """Live (non-zombie) processes of this process group, the leader included."""
        members = []
        for p in psutil.process_iter(["pid", "status"]):
            try:
                if os.getpgid(p.pid) == self.pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                    members.append(p.pid)
            except (ProcessLookupError, psutil.Error):
                continue
        return members

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, sig)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


WATCHDOG = Watchdog()  # started with the first process anywhere in this harness
atexit.register(WATCHDOG.close)  # registered before any kill_all, so atexit runs it last


class ProcessRegistry:
    """Starts processes and guarantees they are gone: kill_all() on teardown, exit, SIGTERM."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []
        self.watchdog = WATCHDOG  # one per harness process, however many registries
        atexit.register(self.kill_all)

    def spawn(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Proc:
        # PDEATHSIG fires when the *thread* that forked exits: call this from the main
        # (event-loop) thread, never from a worker thread.
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.watchdog.start()
        with open(log_path, "ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} start: {' '.join(argv)}\n".encode())
            log.flush()
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**(os.environ if env is None else env), OWNER_ENV: self.watchdog.mark},
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        proc = Proc(name=name, argv=argv, log_path=log_path, popen=popen, pgid=popen.pid)
        self.procs.append(proc)
        self.watchdog.watch(proc.pgid)
        return proc

    def kill(self, proc: Proc) -> None:
        """SIGKILL the whole group and reap the leader (blocking, but SIGKILL is immediate)."""
        proc.signal_group(signal.SIGCONT)  # a paused group would otherwise keep zombies around
        proc.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=10)
        # children the leader forked (a shell wrapper's, npm's) die a moment later
        deadline = time.monotonic() + 2
        while proc.group_members() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not proc.group_members():  # gone: its id may be reused, the watchdog forgets it
            self.watchdog.forget(proc.pgid)

    async def stop(self, proc: Proc, grace: float = 10.0) -> bool:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL. True if it exited by itself."""
        proc.signal_group(signal.SIGCONT)
        proc.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not proc.alive() and not proc.group_members():
                return True
            await asyncio.sleep(0.02)
        self.kill(proc)
        return False

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.alive() or proc.group_members():
                self.kill(proc)
        if self.procs:  # descendants that left their group still carry our mark
            kill_pids(list(marked(self.watchdog.mark)))

    def leaks(self) -> list[str]:
        """Processes we started that are still alive (leader or any group member), and
        descendants of them that left their group."""
        out = []
        for proc in self.procs:
            members = proc.group_members()
            if members:
                out.append(f"{proc.name} (pgid {proc.pgid}, pids {members}): {' '.join(proc.argv)}")
        strays = list(marked(self.watchdog.mark)) if self.procs else []
        if strays:
            out.append(f"descendants outside their process group: pids {strays}")
        return out


REGISTRY = ProcessRegistry()


class _Interrupts:
    count = 0  # interrupts received (SIGINT, SIGTERM, SIGHUP)
    shield = 0  # > 0 while a teardown or report must not be cut short
    pending = False  # an interrupt arrived inside the shield: raise it after
    starting = True  # still importing: nothing to tear down (see `started`)
    # the terminal's stderr, kept at install time: while pytest starts, its capture has fd 2
    # pointed at a temporary file, and a message written there before os._exit is lost
    stderr = 2


def started() -> None:
    """From now on an interrupt takes the teardown path. Before (the CLI importing pytest
    and the plugins), it exits 3 at once: there is nothing to clean up, and an exception
    raised in the middle of an import surfaces as anything (a RuntimeError from a
    dataclass, an exit by SIGINT)."""
    _Interrupts.starting = False


def interrupted() -> bool:
    return _Interrupts.count > 0


def say_interrupted() -> None:
    """ "interrupted" on the terminal's stderr, whatever pytest's capture did with fd 2."""
    os.write(_Interrupts.stderr, b"\nrestate-chaos: interrupted\n")


def _in_finalizer(frame: FrameType | None) -> bool:
    """Whether Python is inside a __del__: an exception raised there is lost (it only
    warns, with a traceback), so the run would go on as if not interrupted."""
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _redeliver(signum: int) -> None:
    """Raise `signum` again from the event loop's next callback (the usual place an
    interrupt lands), else from a timer thread 20 ms on. The loop first: starting a thread
    here could wait forever on a lock the interrupted code holds."""
    try:
        asyncio.get_running_loop().call_soon_threadsafe(signal.raise_signal, signum)
    except RuntimeError:  # no loop running in this thread
        threading.Timer(0.02, os.kill, (os.getpid(), signum)).start()


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    if _in_finalizer(frame):  # take it again once out of there
        _redeliver(signum)
        return
    _Interrupts.count += 1
    if _Interrupts.starting and not REGISTRY.procs:
        say_interrupted()
        os._exit(3)
    if _Interrupts.count >= 3:  # the user insists: kill everything, leave at once
        REGISTRY.kill_all()
        os.write(
            _Interrupts.stderr,
            b"\nrestate-chaos: interrupted again: every process killed, exiting\n",
        )
        os._exit(3)
    if _Interrupts.shield or _Interrupts.count > 1:
        _Interrupts.pending = _Interrupts.count == 1
        os.write(
            _Interrupts.stderr,
            b"\nrestate-chaos: finishing the teardown and the report "
            b"(interrupt twice more to abort them)\n",
        )
        return
    if signum != signal.SIGINT:
        REGISTRY.kill_all()
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    """SIGINT, SIGTERM and SIGHUP take the Ctrl-C path (KeyboardInterrupt), so teardown
    runs; a second one during teardown does not cut it short (see `shielded`), a third
    kills every process and exits 3. kill_all stays the backstop."""
    if _Interrupts.stderr == 2:
        _Interrupts.stderr = os.dup(2)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_interrupt)
    # `kill -USR1 PID` prints every thread's stack: for a run that seems stuck
    faulthandler.register(signal.SIGUSR1, file=_Interrupts.stderr, all_threads=True)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Finish this block even if interrupted (a teardown, a report being written); an
    interrupt that arrived inside is raised when it ends."""
    _Interrupts.shield += 1
    try:
        yield
    finally:
        _Interrupts.shield -= 1
    if _Interrupts.pending and not _Interrupts.shield:
        _Interrupts.pending = False
        raise KeyboardInterrupt("interrupted during teardown")


# A start is judged on evidence, never on a fixed short bound (a slow or busy machine
# starts a correct app late): it exited; or its processes used no CPU time for NO_PROGRESS_S
# seconds of the harness's own time (hung: waiting on something that never comes); a start
# that keeps using CPU is waited for up to a generous cap, past which the run is crashed
# ("did not start in N s", exit 3), not the app bad input.
NO_PROGRESS_S = 10.0
START_CAP_S = 300.0
SAMPLE_CPU_EVERY = 0.5  # seconds between readings of the group's CPU time
# a gap between two readings longer than this is the harness being starved, not the app
# hanging: that stretch does not count towards NO_PROGRESS_S
HARNESS_STALL_S = 1.0


def group_cpu(pid: int) -> float | None:
    """CPU seconds used by process `pid`, its descendants and its reaped children; None
    once it is gone."""
    try:
        leader = psutil.Process(pid)
        total = sum(leader.cpu_times()[:4])  # user, system, children_user, children_system
        for child in leader.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return total
    except psutil.Error:
        return None


class StartWatch:
    """Whether a starting process is still coming up. `check()` raises ProcessFailed when
    it exited or hung (NO_PROGRESS_S without CPU time: bad input at a first start), and
    StartTooSlow when it was still busy after `cap` seconds; either way it is killed."""

    def __init__(
        self, proc: Proc, registry: ProcessRegistry, name: str, what: str, cap: float
    ) -> None:
        self.proc, self.registry, self.name, self.what, self.cap = proc, registry, name, what, cap
        self.t0 = self.sampled = time.monotonic()
        self.cpu = group_cpu(proc.pid) or 0.0
        self.quiet = 0.0  # seconds of the harness's own time without the group using CPU

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def check(self) -> None:
        if not self.proc.alive():
            raise ProcessFailed(
                f"{self.name} exited with code {self.proc.popen.returncode} during start. "
                f"Log {self.proc.log_path}:\n{self.proc.log_tail()}"
            )
        now = time.monotonic()
        if now - self.sampled >= SAMPLE_CPU_EVERY:
            cpu = group_cpu(self.proc.pid)
            if cpu is not None and cpu > self.cpu:
                self.cpu, self.quiet = cpu, 0.0
            elif now - self.sampled <= HARNESS_STALL_S:
                self.quiet += now - self.sampled
            self.sampled = now
        if self.quiet >= NO_PROGRESS_S:
            self.registry.kill(self.proc)
            raise ProcessFailed(
                f"{self.name} hung: not {self.what} after {self.elapsed():.0f}s, and its "
                f"processes used no CPU time in the last {NO_PROGRESS_S:g}s (waiting on "
                f"something that never came?). Log {self.proc.log_path}:\n"
                f"{self.proc.log_tail()}"
            )
        if self.elapsed() > self.cap:
            self.registry.kill(self.proc)
            raise StartTooSlow(
                f"{self.name} did not start in {self.cap:g}s: not {self.what}, and not hung "
                f"either (its processes used CPU time within the last {NO_PROGRESS_S:g}s): a "
                f"slow start, not a broken one; RESTATE_CHAOS_START_TIMEOUT raises the cap. "
                f"Log {self.proc.log_path}:\n{self.proc.log_tail()}"
            )


class Supervised:
    """What every started component shares: one live incarnation (`proc`) at a time, its
    ports, and the fault operations. Subclasses implement start()."""

    name: str
    registry: ProcessRegistry
    proc: Proc | None = None
    starts: int = 0
    # what the last start measured besides its duration (a server: when its process was
    # up, before it served); recorded with the fault that restarted it
    last_start: dict[str, float] = {}  # replaced at each start, never mutated

    @property
    def ports(self) -> list[int]:
        raise NotImplementedError

    async def start(self, timeout: float = START_CAP_S) -> float:
        """Start and wait until ready; `timeout` caps a start still making progress
        (StartWatch). Returns the seconds taken."""
        raise NotImplementedError

    def running(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def _spawn(self, argv: list[str], log_path: Path, **kw: object) -> Proc:
        from harness.runtime.ports import ensure_free

        if self.running():
            raise ProcessFailed(f"{self.name} is already running (pid {self.proc.pid})")
        for port in self.ports:
            ensure_free(port, self.name)
        self.proc = self.registry.spawn(self.name, argv, log_path, **kw)  # type: ignore[arg-type]
        self.starts += 1
        return self.proc

    async def _await_ready(
        self, ready: Callable[[], Awaitable[bool]], what: str, cap: float
    ) -> float:
        """Wait until `ready()` says so, judging the start on evidence (StartWatch);
        returns the seconds from spawn."""
        assert self.proc is not None
        watch = StartWatch(self.proc, self.registry, self.name, what, cap)
        while not await ready():
            watch.check()
            await asyncio.sleep(0.02)
        return watch.elapsed()

    async def kill(self) -> None:
        """SIGKILL the process group, then verify the ports are closed."""
        from harness.runtime.ports import wait_closed

        if self.proc is not None:
            self.registry.kill(self.proc)
        await wait_closed(self.ports, self.name)

    async def stop(self, grace: float = 15.0) -> bool:
        """SIGTERM, bounded wait, then SIGKILL. True when it shut down by itself."""
        from harness.runtime.ports import wait_closed

        graceful = True
        if self.proc is not None and self.proc.alive():
            graceful = await self.registry.stop(self.proc, grace)
        await wait_closed(self.ports, self.name)
        return graceful

    def pause(self) -> None:
        assert self.proc is not None, f"{self.name} was never started"
        self.proc.signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None, f"{self.name} was never started"
        self.proc.signal_group(signal.SIGCONT)

    def destroy(self) -> None:
        """Teardown: the process group killed (a container is removed instead)."""
        if self.proc is not None:
            self.registry.kill(self.proc)

    async def restart(self, graceful: bool = False) -> float:
        """Stop (SIGTERM) or kill (SIGKILL), then start again on the same ports and data."""
        await (self.stop() if graceful else self.kill())
        return await self.start()
