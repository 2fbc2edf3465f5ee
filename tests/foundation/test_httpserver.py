"""Every gateway process names its server stack instead of leaving it to uvicorn's "auto"."""

from __future__ import annotations

from gateway.httpserver import BoundedHttpToolsProtocol, server_config, server_stack


def test_the_stack_is_uvloop_and_bounded_httptools() -> None:
    config = server_config(object())
    assert config.loop == "uvloop"
    assert config.http is BoundedHttpToolsProtocol
    assert server_stack() == {"loop": "uvloop", "http": BoundedHttpToolsProtocol}
