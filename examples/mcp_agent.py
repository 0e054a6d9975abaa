#!/usr/bin/env python3
"""examples/agent.py through the PyPI `mcp` client (1.x): agentrun's broker is an ordinary MCP
server (streamable HTTP, JSON responses) that happens to listen on a Unix socket, so any MCP client
whose HTTP layer can dial one works. Here: httpx with `AsyncHTTPTransport(uds=...)`.

    /usr/bin/python3 -m pip install --break-system-packages 'mcp==1.30.0'
    DEMO_API_KEY=s3cret python3 examples/tool_server.py &
    DEMO_API_KEY=s3cret agentrun --profile examples/profiles/broker-demo.yaml -- /usr/bin/python3 examples/mcp_agent.py

Inside the sandbox the system's Python sees /usr read-only, so packages installed on the host
(/usr/local/lib/python3.*/dist-packages) import as usual. Exit status as examples/agent.py: 0 when
every answer was the expected one, 1 when the demo could not run, 2 when the broker misbehaved.
"""
import asyncio
import contextlib
import os
import sys

try:
    import httpx
    from mcp import ClientSession
    import mcp.client.streamable_http as streamable_http
except ImportError as exc:
    print(f"mcp_agent: {exc}: install the client with `python3 -m pip install 'mcp>=1.8,<2'`", file=sys.stderr)
    sys.exit(1)

# The host part of the URL is never resolved (the transport dials the socket); the broker
# serves MCP at /mcp. Every request to the broker carries AgentRun-Request: 1.
URL = "http://agentrun/mcp"
HEADERS = {"AgentRun-Request": "1"}


def socket_path():
    uri = os.environ.get("AGENTRUN_SOCKET", "")
    if not uri.startswith("unix://"):
        print("mcp_agent: AGENTRUN_SOCKET is not set: run me under agentrun (see the docstring)", file=sys.stderr)
        sys.exit(1)
    return uri[len("unix://"):]


def http_client(path, headers=None, timeout=None, auth=None):
    """An httpx client that talks to the broker's Unix socket (also usable as a client factory)."""
    return httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=path),
        headers={**HEADERS, **(headers or {})},
        timeout=timeout or httpx.Timeout(30.0),
        auth=auth,
    )


@contextlib.asynccontextmanager
async def open_transport(path):
    """The MCP transport streams. Recent mcp 1.x releases take a ready httpx client; older ones
    take a client factory."""
    if hasattr(streamable_http, "streamable_http_client"):
        async with http_client(path) as client:
            async with streamable_http.streamable_http_client(URL, http_client=client) as streams:
                yield streams[0], streams[1]
    else:
        factory = lambda headers=None, timeout=None, auth=None: http_client(path, headers, timeout, auth)
        async with streamable_http.streamablehttp_client(URL, headers=HEADERS, httpx_client_factory=factory) as streams:
            yield streams[0], streams[1]


def text_of(result):
    return " ".join(getattr(c, "text", "") for c in result.content).strip()


def short(s, n=100):
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 1] + "…"


async def run(path):
    expected = unexpected = 0
    setup_problem = False

    def line(ok, text, detail=None):
        nonlocal expected, unexpected
        expected += ok
        unexpected += not ok
        print(f"  {'ok        ' if ok else 'UNEXPECTED'} {text}")
        if detail:
            print(f"             {detail}")

    async with open_transport(path) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            print(f"mcp_agent: MCP server {init.serverInfo.name} {init.serverInfo.version}, protocol {init.protocolVersion}")
            listed = await session.list_tools()
            print()
            print("tools the profile lets me call:")
            for tool in listed.tools:
                print(f"  {tool.name:<12} {short(tool.description or '', 80)}")
            if not {"get_ticket", "word_count"} <= {t.name for t in listed.tools}:
                print("mcp_agent: this profile does not offer get_ticket and word_count: run me with "
                      "--profile examples/profiles/broker-demo.yaml", file=sys.stderr)
                return 1

            print()
            print("tool calls:")
            calls = [
                ("get_ticket", {"id": "DEMO-42"}, "allow", None),
                ("word_count", {"path": "/usr/share/common-licenses/GPL-3"}, "allow", None),
                ("get_ticket", {"id": "DEMO-1"}, "deny", "no-release-ticket"),
                ("word_count", {"path": "/etc/shadow"}, "deny", "default-deny"),
            ]
            for name, arguments, want, rule in calls:
                result = await session.call_tool(name, arguments)
                decision = (result.meta or {}).get("agentrun/decision") or {}
                shown = f"{name} {arguments}"
                if result.isError and decision.get("effect") == "deny":
                    ok = want == "deny" and (rule is None or decision.get("rule_id") == rule)
                    line(ok, f"{shown} -> denied by rule {decision.get('rule_id')}", short(decision.get("reason", "")))
                elif result.isError:
                    line(False, f"{shown} -> allowed, but the tool failed", short(text_of(result)))
                    setup_problem = want == "allow"
                else:
                    line(want == "allow", f"{shown} -> allowed", short(text_of(result)))
    print()
    print(f"mcp_agent: {expected} answers as expected, {unexpected} unexpected")
    if unexpected == 0:
        return 0
    return 1 if setup_problem and unexpected == 1 else 2


def main():
    path = socket_path()
    try:
        return asyncio.run(run(path))
    except Exception as exc:  # the SDK wraps transport failures in exception groups
        print(f"mcp_agent: the MCP session failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
