"""A hostile tenant script and the search that reads its findings (SPEC §7: nothing a script can
read on an agent host gives access to platform secrets).

Design
------
The script never learns what it is looking for. It dumps, as text, everything it can reach — its
own environment and stdin payload, every process's `/proc/<pid>/{status,cmdline,environ}`, the
`readlink` of their `cwd`/`exe`/`root` and of their open file descriptors (and the content of the
regular files those descriptors hold open), every readable regular file below every cwd it can
resolve and below a list of roots (its HOME, its cwd, /tmp, /var/tmp, /root, /home, /etc, plus
`variables["roots"]`: the process test passes the project folder) — into
`<variables["dumpDir"]>/hostile-<job id>.txt`, one `=== <source> ===` header per source. The
TEST then searches that dump for the platform's secrets with `search_dump` (plain, JSON-escaped,
URL-encoded and base64 forms), so the secrets are never handed to the script and the script
needs no knowledge of the product.

A search that reads nothing would pass, so every use needs positive controls:
  - the job's declared secret (in its own stdin payload) and `MIMIC_JOB_ID` (in its own
    environment) must be found, under `self:stdin` and `self:environ`;
  - the dump must not be suspiciously small (`MIN_DUMP_CHARS`) and must hold `/proc/...` headers;
  - tests/process/test_hostile_script_finds_what_it_can.py runs the script as the SAME user as a
    sibling process holding a planted env var and a cwd with `var/dev.env`, and asserts both are
    found — so a negative result elsewhere means "not readable", not "not searched".

The dump also carries a `=== telling paths ===` section (parsed by `telling_paths`): whether the
script could read any `var/dev.env` below any root or cwd, any `*.env` file, `/proc/1/environ`,
and the environ of each of its parents and of processes whose name/cmdline looks like the
platform (runtime, celery, manage.py, redis, postgres…). Lines: `READABLE|DENIED|ERROR <tab> path
<tab> note`.

Caps (so a run ends within ~30 s and a few hundred MB): ≤ 512 KiB read per file, ≤ 200 MiB
written in total, files with a NUL byte in their first 4 KiB skipped (except /proc pseudo-files),
walks breadth-first to depth 4 without following symlinked dirs and never into /proc, /sys or
/dev, at most 50,000 directory entries and 4,096 processes, a 25 s time budget; entries, bytes
and time are shared fairly between the walks (each gets the remainder divided by the walks left),
so a huge root cannot starve the ones after it. Every permission error is only counted. Other
jobs' dumps (`hostile-*.txt` in the dumpDir) are never read, so one job's own secrets cannot show
up as a "leak" in another's dump. The script prints one summary line of counts (never contents)
to stdout and always exits 0.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
from urllib.parse import quote, quote_plus

HOSTILE_SCRIPT = r"""
# Hostile tenant script: dumps everything it can read (see tests/process/hostile.py).
import errno
import json
import os
import re
import stat
import sys
import time
from collections import deque

T0 = time.monotonic()
TIME_BUDGET = 25.0
PER_FILE = 512 * 1024
TOTAL = 200 * 1024 * 1024
MAX_ENTRIES = 50000
MAX_DEPTH = 4
MAX_PIDS = 4096
MAX_FDS = 256
BINARY_PROBE = 4096
SKIP_TREES = ("/proc", "/sys", "/dev")
STANDARD_ROOTS = ("/tmp", "/var/tmp", "/root", "/home", "/etc")
PLATFORM_NAMES = (
    "agents.runtime", "runagent", "celery", "manage.py", "gunicorn", "uvicorn", "daphne",
    "redis", "postgres", "mimic",
)
DUMP_NAME = re.compile(r"hostile-.*\.txt\Z")

counts = {
    "read": 0, "denied": 0, "gone": 0, "error": 0, "binary": 0, "truncated": 0,
    "notRegular": 0, "budgetSkipped": 0, "entries": 0, "bytes": 0, "processes": 0, "walks": 0,
}
telling = {}
seen = set()
out = None
dump_dir = None


def now():
    return time.monotonic()


def classify(exc):
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        counts["denied"] += 1
        return "DENIED"
    if exc.errno in (errno.ENOENT, errno.ESRCH, errno.ENOTDIR):
        counts["gone"] += 1
        return "GONE"
    counts["error"] += 1
    return "ERROR"


def emit(header, body):
    if counts["bytes"] >= TOTAL:
        counts["budgetSkipped"] += 1
        return False
    header = header.replace("\n", "\\n").replace("\r", "\\r")
    body = body.replace("\n===", "\n ===")
    if body.startswith("==="):
        body = " " + body
    data = ("=== %s ===\n%s\n" % (header, body)).encode("utf-8", "backslashreplace")
    out.write(data)
    counts["bytes"] += len(data)
    return True


def text(data):
    return data.decode("utf-8", "backslashreplace")


def read_bytes(path, regular_only):
    # stat first: opening a device or FIFO may block or have side effects.
    if regular_only and not stat.S_ISREG(os.stat(path).st_mode):
        return None, None
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if regular_only and not stat.S_ISREG(st.st_mode):
            return None, None
        chunks, size = [], 0
        while size <= PER_FILE:
            chunk = os.read(fd, PER_FILE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


def probe(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            os.read(fd, 1)
        finally:
            os.close(fd)
        return "READABLE"
    except PermissionError:
        return "DENIED"
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "DENIED"
        if exc.errno in (errno.ENOENT, errno.ESRCH, errno.ENOTDIR):
            return None
        return "ERROR"


def tell(path, note="", always=False):
    status = probe(path)
    if status is None and always:
        status = "ABSENT"
    if status is not None:
        telling[path] = (status, note)


def is_dump_file(path):
    if not dump_dir:
        return False
    head, name = os.path.split(path.replace(" (deleted)", ""))
    if not DUMP_NAME.match(name):
        return False
    try:
        return os.path.realpath(head) == dump_dir
    except OSError:
        return False


def dump_file(path, header=None, budget=None):
    # A regular file's content (first PER_FILE bytes), unless binary, already dumped or over budget.
    try:
        st = os.stat(path)
    except OSError as exc:
        return classify(exc)
    if not stat.S_ISREG(st.st_mode):
        counts["notRegular"] += 1
        return "SKIP"
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return "SEEN"
    if counts["bytes"] >= TOTAL or (budget is not None and counts["bytes"] >= budget):
        counts["budgetSkipped"] += 1
        return "BUDGET"
    try:
        data, st = read_bytes(path, regular_only=True)
    except OSError as exc:
        return classify(exc)
    if data is None:
        counts["notRegular"] += 1
        return "SKIP"
    seen.add(key)
    if b"\0" in data[:BINARY_PROBE]:
        counts["binary"] += 1
        return "BINARY"
    body = text(data[:PER_FILE])
    if len(data) > PER_FILE:
        counts["truncated"] += 1
        body += "\n[truncated at %d bytes]" % PER_FILE
    emit(header or path, body)
    counts["read"] += 1
    return "READABLE"


def proc_text(pid, leaf, nul):
    path = "/proc/%d/%s" % (pid, leaf)
    try:
        data, _ = read_bytes(path, regular_only=False)
    except OSError as exc:
        return path, classify(exc), None
    counts["read"] += 1
    data = data[:PER_FILE]
    emit(path, text(data.replace(b"\0", nul)))
    return path, "READABLE", data


def proc_status(pid):
    try:
        data, _ = read_bytes("/proc/%d/status" % pid, regular_only=False)
    except OSError:
        return None, None
    fields = {}
    for line in text(data).splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    try:
        ppid = int(fields.get("PPid", "0"))
    except ValueError:
        ppid = 0
    return fields.get("Name", "?"), ppid


def parent_chain():
    chain, pid = [], os.getppid()
    while pid > 0 and len(chain) < 64 and pid not in [p for p, _ in chain]:
        name, ppid = proc_status(pid)
        chain.append((pid, name or "?"))
        if ppid is None:
            break
        pid = ppid
    return chain


def dump_process(pid, note, cwds):
    counts["processes"] += 1
    base = "/proc/%d" % pid
    proc_text(pid, "status", b"\n")
    _, _, cmdline = proc_text(pid, "cmdline", b" ")
    path, status, _ = proc_text(pid, "environ", b"\n")
    label = note
    if cmdline is not None and note == "":
        command = text(cmdline.replace(b"\0", b" "))
        hits = [name for name in PLATFORM_NAMES if name in command]
        if hits:
            label = "platform-like (%s): %s" % (",".join(hits), command[:200])
    if label and status in ("READABLE", "DENIED", "ERROR"):
        telling[path] = (status, label)
    for leaf in ("cwd", "exe", "root"):
        link = "%s/%s" % (base, leaf)
        try:
            target = os.readlink(link)
        except OSError as exc:
            classify(exc)
            continue
        counts["read"] += 1
        emit("readlink " + link, target)
        if leaf == "cwd":
            cwds.append((pid, target))
    if pid == os.getpid():
        return
    try:
        fds = sorted(os.listdir(base + "/fd"), key=lambda n: int(n) if n.isdigit() else 0)
    except OSError as exc:
        classify(exc)
        return
    lines, regular = [], []
    for name in fds[:MAX_FDS]:
        link = "%s/fd/%s" % (base, name)
        try:
            target = os.readlink(link)
        except OSError as exc:
            classify(exc)
            continue
        lines.append("%s -> %s" % (name, target))
        if not target.startswith(("pipe:", "socket:", "anon_inode:", "/dev/")):
            regular.append((link, target))
    counts["read"] += 1
    emit(base + "/fd", "\n".join(lines))
    for link, target in regular:
        if is_dump_file(target):
            continue
        if target.endswith(".env") or target.endswith(".env (deleted)"):
            tell(link, "open fd -> " + target)
        dump_file(link, header="%s -> %s" % (link, target))


def skipped_tree(path):
    return any(path == top or path.startswith(top + "/") for top in SKIP_TREES)


def walk(root, entry_budget, byte_budget, deadline):
    counts["walks"] += 1
    through_proc = root.startswith("/proc/")  # another namespace's cwd, via /proc/<pid>/cwd
    used = 0
    queue = deque([(root, 0)])
    while queue:
        directory, depth = queue.popleft()
        try:
            iterator = os.scandir(directory)
        except OSError as exc:
            classify(exc)
            continue
        with iterator:
            while True:
                try:
                    entry = next(iterator)
                except StopIteration:
                    break
                except OSError as exc:
                    classify(exc)
                    break
                if used >= entry_budget or now() > deadline or counts["bytes"] >= byte_budget:
                    return
                used += 1
                counts["entries"] += 1
                path = entry.path
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False
                if is_dir:
                    if depth + 1 < MAX_DEPTH and (through_proc or not skipped_tree(path)):
                        queue.append((path, depth + 1))
                    continue
                if entry.name.endswith(".env"):
                    tell(path, "*.env")
                if is_dump_file(path):
                    continue
                dump_file(path, budget=byte_budget)


def main():
    global out, dump_dir
    raw = sys.stdin.buffer.read()
    try:
        payload = json.loads(raw or b"{}")
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    variables = payload.get("variables") or {}
    job = payload.get("job") or {}
    job_id = re.sub(r"[^A-Za-z0-9._-]", "_", str(job.get("id") or os.getpid()))
    target_dir = variables.get("dumpDir") or os.getcwd()
    dump_dir = os.path.realpath(target_dir)
    out_path = os.path.join(target_dir, "hostile-%s.txt" % job_id)
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    os.fchmod(fd, 0o644)
    out = os.fdopen(fd, "wb", buffering=1024 * 1024)
    own = os.fstat(fd)
    seen.add((own.st_dev, own.st_ino))

    me = os.getpid()
    emit("self:environ", "\n".join("%s=%s" % item for item in sorted(os.environ.items())))
    emit("self:stdin", text(raw[:PER_FILE]))
    emit(
        "self:identity",
        "pid=%d ppid=%d uid=%d euid=%d gid=%d groups=%s cwd=%s home=%s"
        % (me, os.getppid(), os.getuid(), os.geteuid(), os.getgid(), os.getgroups(),
           os.getcwd(), os.environ.get("HOME", "")),
    )

    chain = parent_chain()
    emit("self:parents", "\n".join("%d %s" % item for item in chain))
    cwds = []
    done = set()
    for depth, (pid, name) in enumerate(chain, 1):
        dump_process(pid, "parent %d: %s" % (depth, name), cwds)
        done.add(pid)
    dump_process(me, None, cwds)
    done.add(me)
    try:
        pids = sorted(int(n) for n in os.listdir("/proc") if n.isdigit())
    except OSError as exc:
        classify(exc)
        pids = []
    for pid in pids[:MAX_PIDS]:
        if pid in done:
            continue
        if now() - T0 > TIME_BUDGET / 3:
            counts["budgetSkipped"] += 1
            break
        dump_process(pid, "", cwds)
    tell("/proc/1/environ", "pid 1", always=True)

    # Walk roots: parents' cwds first, then the given roots, own home/cwd, everyone's cwds, the
    # standard roots. A cwd that is not a folder here (another mount namespace) is walked
    # through /proc/<pid>/cwd itself.
    given = variables.get("roots") or []
    if isinstance(given, str):
        given = [r for r in given.split(os.pathsep) if r]
    parent_pids = {pid for pid, _ in chain}

    def cwd_root(pid, target):
        return target if os.path.isdir(target) else "/proc/%d/cwd" % pid

    roots = [cwd_root(pid, target) for pid, target in cwds if pid in parent_pids]
    roots += [str(r) for r in given]
    roots += [os.environ.get("HOME") or os.path.expanduser("~"), os.getcwd()]
    roots += [cwd_root(pid, target) for pid, target in cwds if pid not in parent_pids]
    roots += list(STANDARD_ROOTS)
    unique, known = [], set()
    for root in roots:
        key = root if root.startswith("/proc/") else os.path.realpath(root)
        if key and key not in known:
            known.add(key)
            unique.append(key)
    emit("self:walk roots", "\n".join(unique))
    for root in unique:
        tell(os.path.join(root, "var", "dev.env"), "var/dev.env below " + root)
    for index, root in enumerate(unique):
        left = len(unique) - index
        entry_budget = max(0, MAX_ENTRIES - counts["entries"]) // left
        byte_budget = counts["bytes"] + max(0, TOTAL - counts["bytes"]) // left
        deadline = now() + max(0.0, TIME_BUDGET - (now() - T0)) / left
        if skipped_tree(root) and not root.startswith("/proc/"):
            continue
        walk(root, entry_budget, byte_budget, deadline)

    counts["seconds"] = round(now() - T0, 2)
    counts["tellingReadable"] = sum(1 for s, _ in telling.values() if s == "READABLE")
    emit(
        "telling paths",
        "\n".join("%s\t%s\t%s" % (s, p, n) for p, (s, n) in sorted(telling.items())),
    )
    emit("summary", json.dumps(counts, sort_keys=True))
    out.flush()
    out.close()


try:
    main()
    summary = counts
except BaseException as exc:  # never fail the job: the dump is the result
    summary = dict(counts, crashed=type(exc).__name__)
    try:
        if out is not None:
            out.close()
    except BaseException:
        pass
print("HOSTILE SUMMARY " + json.dumps(summary, sort_keys=True), flush=True)
sys.exit(0)
"""

# Shorter needles would match by chance (and say nothing about a secret's leaking).
MIN_NEEDLE_CHARS = 8
# A dump below this size read almost nothing: the run proves nothing, the test must fail.
MIN_DUMP_CHARS = 16 * 1024
# Whatever precedes the first header (nothing, in a well-formed dump).
PREAMBLE = "(before any header)"

_HEADER = re.compile(r"^=== (.*) ===$", re.MULTILINE)


def dump_sources(text: str) -> list[str]:
    """Every `=== source ===` header of a dump, in order."""
    return [match.group(1) for match in _HEADER.finditer(text)]


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 characters that encode only `raw`'s bits, for each of the three alignments
    `raw` can have inside a larger encoded value (standard and URL-safe alphabets)."""
    cores = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            encoded = encode(b"\0" * shift + raw).decode("ascii")
            start = -(-8 * shift // 6)  # the first character with no padding bits
            end = 8 * (shift + len(raw)) // 6  # the last one with no bits of what follows
            cores.add(encoded[start:end])
    return cores


def needle_forms(value: str) -> set[str]:
    """The forms a value can take in a dump: plain, JSON-escaped, URL-encoded, base64."""
    if len(value) < MIN_NEEDLE_CHARS:
        raise ValueError(
            f"needle of {len(value)} chars: search for a secret's distinctive core "
            f"(at least {MIN_NEEDLE_CHARS} chars)"
        )
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value, safe=""),
    }
    forms |= _base64_cores(value.encode("utf-8"))
    return {form for form in forms if len(form) >= MIN_NEEDLE_CHARS}


def search_dump(text: str, needles: dict[str, str]) -> dict[str, list[str]]:
    """needle name -> the headers of the sections holding the needle's value in any of its forms
    (in dump order, each once; `PREAMBLE` for text before the first header). Raises ValueError
    for a needle shorter than MIN_NEEDLE_CHARS."""
    forms = {name: needle_forms(value) for name, value in needles.items()}
    headers = [(match.start(), match.group(1)) for match in _HEADER.finditer(text)]
    starts = [start for start, _ in headers]
    found: dict[str, list[str]] = {}
    for name, variants in forms.items():
        sections: set[int] = set()
        for form in variants:
            position = text.find(form)
            while position != -1:
                index = bisect.bisect_right(starts, position) - 1
                sections.add(index)
                if index + 1 >= len(starts):
                    break
                position = text.find(form, starts[index + 1])
        found[name] = [PREAMBLE if i < 0 else headers[i][1] for i in sorted(sections)]
    return found


def telling_paths(text: str) -> dict[str, tuple[str, str]]:
    """The dump's `telling paths` section: path -> (READABLE|DENIED|ERROR|ABSENT, note)."""
    result: dict[str, tuple[str, str]] = {}
    match = re.search(r"^=== telling paths ===\n(.*?)(?=^=== |\Z)", text, re.MULTILINE | re.DOTALL)
    if match:
        for line in match.group(1).splitlines():
            status, _, rest = line.partition("\t")
            path, _, note = rest.partition("\t")
            if path:
                result[path] = (status, note)
    return result


def dump_summary(text: str) -> dict:
    """The dump's own `summary` section (the counts the script printed), or {}."""
    match = re.search(r"^=== summary ===\n(.*)$", text, re.MULTILINE)
    return json.loads(match.group(1)) if match else {}
