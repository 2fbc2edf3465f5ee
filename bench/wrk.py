"""Drive ``wrk`` (Debian package, C) and read each server's CPU from ``/proc``.

The Python load generator (:mod:`bench.load`) costs as much CPU as the servers
it measures; on a 2-core box that hides what the gateway costs. ``wrk`` with
one thread takes a fraction of a core. A Lua script posts the fixed body,
counts answers that are not the expected ones (non-200, or for the gateway a
result whose status is not ``ok``) and prints one JSON line with requests,
duration, errors, p50 and p99. CPU per request is the growth of utime + stime
(``/proc/<pid>/stat``, the server and every descendant) over the run, divided
by the requests answered in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")

_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
local check_results = {check}
local ok_min = {ok_min}
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end
bad = 0
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  elseif check_results or ok_min > 0 then
    local _, all = string.gsub(body, '"status":"', '')
    local _, ok = string.gsub(body, '"status":"ok"', '')
    if check_results and (all == 0 or all ~= ok) then bad = bad + 1
    elseif ok < ok_min then bad = bad + 1 end
  end
end
function done(summary, latency, requests)
  local wrong = 0
  for _, t in ipairs(threads) do wrong = wrong + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests": %d, "duration_us": %d, "socket_errors": %d, "wrong": %d, '
    .. '"p50_us": %d, "p99_us": %d, "mean_us": %f}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, wrong,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True)
class WrkTarget:
    name: str
    url: str
    body: bytes
    headers: Mapping[str, str]
    check_results: bool = False  # every result in the answer must be ``ok``
    check_ok_min: int = 0  # at least this many results ``ok`` (a multi-source query)


@dataclass
class WrkResult:
    target: str
    clients: int
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_ms: dict[str, float]  # server name -> CPU ms per request

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def script(target: WrkTarget) -> str:
    headers = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in target.headers.items()
    )
    return _LUA.format(
        body=_lua_string(target.body.decode()),
        headers=headers,
        check="true" if target.check_results else "false",
        ok_min=target.check_ok_min,
    )


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime + stime ticks) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree_ticks(root: int) -> int:
    """CPU ticks of ``root`` and all its live descendants (uvicorn workers, spawn children)."""
    stats: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                stats[int(entry.name)] = stat
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return sum(stats[pid][1] for pid in members if pid in stats)


def run(
    target: WrkTarget,
    clients: int,
    seconds: float,
    servers: Mapping[str, int],
    *,
    threads: int = 1,
    warmup_s: float = 1.0,
) -> WrkResult:
    """Warm up, then one measured ``wrk`` run; ``servers`` maps a name to a pid to account."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script(target))
        lua = handle.name
    try:
        if warmup_s > 0:
            _wrk(lua, target.url, clients, warmup_s, threads)
        before = {name: tree_ticks(pid) for name, pid in servers.items()}
        out = _wrk(lua, target.url, clients, seconds, threads)
        after = {name: tree_ticks(pid) for name, pid in servers.items()}
    finally:
        os.unlink(lua)
    requests = max(int(out["requests"]), 1)
    return WrkResult(
        target=target.name,
        clients=clients,
        requests=int(out["requests"]),
        seconds=out["duration_us"] / 1e6,
        errors=int(out["socket_errors"]) + int(out["wrong"]),
        p50_ms=out["p50_us"] / 1000,
        p99_ms=out["p99_us"] / 1000,
        cpu_ms={name: (after[name] - before[name]) * TICK_S * 1000 / requests for name in servers},
    )


def _wrk(lua: str, url: str, clients: int, seconds: float, threads: int) -> dict[str, float]:
    args: Sequence[str] = [
        "wrk",
        f"-t{min(threads, clients)}",
        f"-c{clients}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        lua,
        url,
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            parsed: dict[str, float] = json.loads(line[len("WRKJSON ") :])
            return parsed
    raise RuntimeError(f"wrk printed no summary: {done.stdout[-400:]} {done.stderr[-400:]}")
