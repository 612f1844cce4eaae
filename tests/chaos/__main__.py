"""`python -m tests.chaos [FAULT…]` (make chaos): run the fault suite, print the results table,
exit 1 if any fault lost a job, ran one twice at once, or did not finish in time.

CHAOS_SCALE (default 1.0) scales every duration; `--scale` overrides it. FAULT is a letter of
faults.FAULTS (default: all, in order). `--keep-logs DIR` copies every process's log there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time

from tests.chaos.faults import FAULTS, after_waiting_for_a_slot
from tests.chaos.harness import (
    STARTED,
    ChaosError,
    Fault,
    Harness,
    Timing,
    say,
    services,
    settle,
    table,
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("faults", nargs="*", metavar="FAULT", help=f"any of {', '.join(FAULTS)}")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("CHAOS_SCALE", "1")))
    parser.add_argument("--keep-logs", metavar="DIR")
    args = parser.parse_args(argv)
    if not 0.01 <= args.scale <= 10:
        parser.error("the scale must be between 0.01 and 10")
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown fault(s) {', '.join(unknown)}: choose from {', '.join(FAULTS)}")
    chosen = args.faults or list(FAULTS)

    def on_signal(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    services.stop_with_parent()

    timing = Timing(args.scale)
    harness = Harness(timing)
    done: list[Fault] = []
    durations: dict[str, float] = {}
    code = 1
    setup = 0.0
    try:
        harness.start()
        setup = time.monotonic() - STARTED
        for key in chosen:
            began = time.monotonic()
            say(f"({key}) starting: {FAULTS[key].__name__}")
            fault = Fault(key, FAULTS[key].__name__.replace("_", " "))
            try:
                fault = FAULTS[key](harness)
                say(f"({key}) waiting for {len(fault.jobs) + len(fault.schedules)} job(s), "
                    f"bound {fault.bound:.0f}s")  # fmt: skip
                settle(harness, fault)
                if key == "g":
                    after_waiting_for_a_slot(fault, timing.pickup)
            except ChaosError as exc:
                fault.crashed = str(exc)
                say(f"({key}) could not be run: {exc}")
            finally:
                for runtime in fault.runtimes:
                    runtime.stop()
            durations[key] = time.monotonic() - began
            done.append(fault)
            say(f"({key}) {'ok' if fault.ok else 'FAILED'} in {durations[key]:.0f}s")
            for problem in fault.problems[:20]:
                say(f"({key})   {problem}")
            if not fault.ok:
                for runtime in fault.runtimes:
                    print(f"---- {runtime.proc.name} (last 25 lines)\n{runtime.proc.tail(25)}")
        code = 0 if all(f.ok for f in done) else 1
    except ChaosError as exc:
        say(f"FAILED: {exc}")
    except services.ServiceError as exc:
        say(f"FAILED to start a server: {exc}")
    except SystemExit as stop:
        say("interrupted")
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if code != 0:
            for proc in harness.procs[:2]:  # web, worker
                print(f"---- {proc.name} (last 25 lines)\n{proc.tail(25)}")
        if args.keep_logs:
            shutil.copytree(harness.logs, args.keep_logs, dirs_exist_ok=True)
        beat = dict(harness.beat.counts)
        harness.close()
    total = time.monotonic() - STARTED
    if done:
        print()
        print(f"Fault suite, CHAOS_SCALE={timing.scale:g} ({timing.describe()})")
        print()
        print(table(done))
        print()
        for fault in done:
            for note in fault.notes:
                print(f"  ({fault.key}) {note}")
            if fault.crashed:
                print(f"  ({fault.key}) could not be run: {fault.crashed}")
        print(f"  beat: {', '.join(f'{k}: {v}' for k, v in sorted(beat.items()))}")
        timings = ", ".join(f"({k}) {v:.0f}s" for k, v in durations.items())
        print(f"  time: set-up {setup:.0f}s, {timings}; total {total:.0f}s")
    say(f"{'OK' if code == 0 else 'FAILED'} in {total:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
