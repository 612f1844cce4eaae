"""Regenerates the README's tick performance table from bench_tick.py's JSON lines.

    make bench BENCH=benchmarks/bench_tick.py | tee tick.log
    python benchmarks/perf_table.py tick-10k.log tick.log     # rewrites README.md in place

Each file is a benchmark's output; its last JSON line is read (the run's figures). The table
replaces what lies between the `<!-- bench_tick:begin -->` and `<!-- bench_tick:end -->` markers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- bench_tick:begin -->", "<!-- bench_tick:end -->"


def last_json(path: str) -> dict:
    lines = [line for line in Path(path).read_text().splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"{path}: no JSON line (is it bench_tick.py's output?)")
    return json.loads(lines[-1])


def _n(value, unit="", digits=2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


def table(runs: list[dict]) -> str:
    head = "| figure | " + " | ".join(
        f"{r['schedules']:,} schedules, {r['due']:,} due" for r in runs
    )
    rows = [
        head + " | SPEC §15 target |",
        "| --- |" + " ---: |" * len(runs) + " --- |",
    ]

    def row(label, cells, target):
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    row(
        "idle tick (median, queries)",
        [f"{_n(r['idleTickMs'], ' ms')}, {r['idleTickQueries']}" for r in runs],
        "≤ 5 ms, constant",
    )
    row(
        "due dispatched, one evaluator (median of runs)",
        [_n(r["oneEvaluatorSeconds"], " s") for r in runs],
        "≤ 2 s",
    )
    row(
        "the same, two evaluator processes",
        [_n(r["twoEvaluatorsSeconds"], " s") for r in runs],
        "≤ 1.2 s",
    )
    row(
        "each run: one / two evaluators (s)",
        [", ".join(f"{o} / {t}" for o, t in r["runs"]) for r in runs],
        "",
    )
    row(
        "lateness p99 (sent − scheduled)",
        [_n(r["latenessP99Seconds"], " s") for r in runs],
        "≤ 2 s",
    )
    row(
        "peak Python memory of a busy tick", [_n(r["peakTickMiB"], " MiB", 1) for r in runs], "flat"
    )
    row("django-celery-beat 2.9: startup", [_n(r["dcbStartupSeconds"], " s") for r in runs], "")
    row("django-celery-beat 2.9: idle tick", [_n(r["dcbIdleTickMs"], " ms", 1) for r in runs], "")
    row(
        "django-celery-beat 2.9: due entries sent per second",
        [_n(r["dcbSentPerSecond"], "/s", 2) for r in runs],
        "",
    )
    row(
        "ratio (dispatches per second, this product ÷ django-celery-beat)",
        [_n(r["ratio"], "", 0) + ("×" if r["ratio"] else "") for r in runs],
        "≥ 1,000 at 100,000",
    )
    row(
        "PostgreSQL durability",
        [f"fsync={r['fsync']}, synchronous_commit={r['synchronousCommit']}" for r in runs],
        "production's",
    )
    row(
        "PostgreSQL shared_buffers",
        [r.get("sharedBuffers") or "default (128MB)" for r in runs],
        "",
    )
    return "\n".join(rows)


def main(paths: list[str]) -> None:
    text = README.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md has no {BEGIN} … {END} block")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    README.write_text(f"{before}{BEGIN}\n{table([last_json(p) for p in paths])}\n{END}{after}")


if __name__ == "__main__":
    main(sys.argv[1:])
