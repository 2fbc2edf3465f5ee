"""The servers of the query benchmark, each run as its own process.

``python -m bench.servers sources`` starts the demo sources and prints their
URLs as one JSON line; ``gateway`` serves the real gateway app (settings from
``KETENPOORT_*``, as ``ketenpoort serve`` does, but without uvicorn's access
log); ``proxy`` is the bare FastAPI forwarding proxy the gateway is compared
with. Separate processes keep the load generator off the servers' GIL. All
three run on the server stack of ``ketenpoort serve`` (uvicorn on uvloop with
httptools, gateway/httpserver.py; the sources through gateway/demo/serving.py),
so the ratios compare like with like.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

from gateway.demodata.people import DEMO_SOURCE_PARTIES
from gateway.httpserver import server_config


def proxy_app(upstream: str) -> FastAPI:
    """Forwards POST /lookup to ``upstream``/lookup with one pooled client; nothing else."""
    holder: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        holder["client"] = httpx.AsyncClient(
            base_url=upstream, limits=httpx.Limits(max_connections=200)
        )
        yield
        await holder["client"].aclose()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.post("/lookup")
    async def forward(request: Request) -> Response:
        answer = await holder["client"].post(
            "/lookup", content=await request.body(), headers={"content-type": "application/json"}
        )
        return Response(answer.content, answer.status_code, media_type="application/json")

    return app


def run_sources() -> None:
    """Token checks off: source work is then identical for direct and brokered calls."""
    from gateway.demo.runner import start_demo_sources

    sources = start_demo_sources(dict.fromkeys(DEMO_SOURCE_PARTIES, 0), None, delays={})
    print(json.dumps(dict(sources.base_urls)), flush=True)
    sys.stdin.read()
    sources.stop()


# Threads on their own schedule, not driven by the queries: a checkpoint is signed every
# few seconds whatever the load, so its calls moved the per-query figure by ±50 between
# runs of the same code. Counted apart (``out`` + ``.background``).
BACKGROUND_THREADS = frozenset({"audit-checkpointer", "policy-watch"})


def count_calls(out: Path, by_function: bool = False) -> None:
    """Count Python function calls in every thread; SIGUSR2 appends the count to ``out``.

    The calls of :data:`BACKGROUND_THREADS` are left out of that count (and of the
    per-function table) and appended to ``out`` + ``.background`` instead.

    A cost figure that load on a shared machine cannot bend (bench.query_cost):
    the calls one brokered query makes are the same on a quiet and a busy box.
    With ``by_function`` the calls are also counted per (function, caller), and
    each SIGUSR2 writes that table as one JSON line to ``out`` + ``.functions``,
    so ``bench.query_cost --by-function`` can say where a query's calls go.
    """
    import json
    import signal
    import threading
    from collections import Counter
    from types import CodeType, FrameType
    from typing import Any

    counter = [0]
    background = [0]  # calls of BACKGROUND_THREADS, written apart to ``out`` + ``.background``
    pairs: Counter[tuple[CodeType, CodeType | None]] = Counter()

    def hook(_frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            counter[0] += 1

    def detailed(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            counter[0] += 1
            back = frame.f_back
            pairs[frame.f_code, back.f_code if back is not None else None] += 1

    def name(code: CodeType | None) -> str:
        if code is None:
            return "-"
        return f"{code.co_filename}:{code.co_firstlineno}:{code.co_qualname}"

    def dump(_signum: int, _frame: FrameType | None) -> None:
        # The handler runs on the main thread: it does not count its own calls.
        sys.setprofile(None)
        try:
            count = counter[0]
            if by_function:
                table = [[name(c), name(b), n] for (c, b), n in list(pairs.items())]
                with Path(f"{out}.functions").open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(table) + "\n")
            with Path(f"{out}.background").open("a", encoding="utf-8") as handle:
                handle.write(f"{background[0]}\n")
            with out.open("a", encoding="utf-8") as handle:
                handle.write(f"{count}\n")
        finally:
            sys.setprofile(chosen)

    def apart(_frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            background[0] += 1

    def installer(frame: FrameType, event: str, arg: Any) -> None:
        # A new thread's first event: the thread keeps the hook its name calls for.
        own = apart if threading.current_thread().name in BACKGROUND_THREADS else chosen
        sys.setprofile(own)
        own(frame, event, arg)

    chosen = detailed if by_function else hook
    signal.signal(signal.SIGUSR2, dump)
    threading.setprofile(installer)
    sys.setprofile(chosen)


def run_gateway(port: int, profile: Path | None) -> None:
    import os

    from gateway.app import create_app
    from gateway.cli.serve import prepare
    from gateway.settings import Settings

    if os.environ.get("BENCH_COUNT_CALLS"):
        by_function = os.environ.get("BENCH_COUNT_CALLS_BY_FUNCTION") == "1"
        count_calls(Path(os.environ["BENCH_COUNT_CALLS"]), by_function)
    settings = Settings()
    app = create_app(settings, prepare(settings))
    # proxy_headers off as in `ketenpoort serve` (uvicorn's default would add a middleware).
    config = server_config(
        app, port=port, log_level="warning", access_log=False, proxy_headers=False
    )
    if profile is None:
        uvicorn.Server(config).run()
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        uvicorn.Server(config).run()
    finally:
        profiler.stop()
        profile.write_text(profiler.output_text(unicode=False, show_all=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=["sources", "gateway", "proxy"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", default="")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    if args.role == "sources":
        run_sources()
    elif args.role == "gateway":
        run_gateway(args.port, args.profile)
    else:
        proxy = proxy_app(args.upstream)
        config = server_config(
            proxy, port=args.port, log_level="warning", access_log=False, proxy_headers=False
        )
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
