"""A closed-loop HTTP load generator: N async clients, each sending as soon as answered.

Runs in the benchmark's own process, apart from every server, so the figures
measure the servers rather than a shared GIL. A request counts as an error
unless ``accept`` says the answer is the expected one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    body: bytes
    headers: Mapping[str, str]
    accept: Callable[[httpx.Response], bool]


async def _load(target: Target, concurrency: int, seconds: float, warmup_s: float) -> LoadResult:
    """One client (one keep-alive connection) per worker: httpx's shared pool slows at 64."""
    headers = {"content-type": "application/json", **target.headers}
    result = LoadResult(concurrency, seconds)
    start = time.perf_counter()
    measure_from = start + warmup_s
    stop_at = measure_from + seconds

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
            post = client.post
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                try:
                    answer = await post(target.url, content=target.body, headers=headers)
                    ok = target.accept(answer)
                except httpx.HTTPError:
                    ok = False
                done = time.perf_counter()
                if sent < measure_from:
                    continue
                if ok:
                    result.latencies.append(done - sent)
                else:
                    result.errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return result


def run_load(target: Target, concurrency: int, seconds: float, warmup_s: float = 1.0) -> LoadResult:
    return asyncio.run(_load(target, concurrency, seconds, warmup_s))


def json_ok(answer: httpx.Response) -> bool:
    return answer.status_code == 200


def gateway_ok(answer: httpx.Response) -> bool:
    """A 200 whose every (source, category) result is ``ok``: a real disclosure."""
    if answer.status_code != 200:
        return False
    body: dict[str, Any] = answer.json()
    return all(result.get("status") == "ok" for result in body.get("results", []))
