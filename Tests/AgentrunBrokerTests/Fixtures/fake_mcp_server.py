"""A fake upstream MCP server for the backend tests: newline-delimited JSON-RPC on stdin/stdout,
Python standard library only.

Tools: `echo` (returns its `text`), `env` (returns the environment variable named by `name`,
to prove a secret reaches the host-side server), `sleep` (sleeps `seconds`, then answers),
`crash` (exits at once), `fail` (a JSON-RPC error), `big` (a response of `size` bytes),
`ask` (sends the client a `ping` and a `roots/list` request, waits for both answers, then
answers). Behaviour switches through argv: `--no-init` never answers `initialize`, `--paged`
lists the tools over two pages, `--stderr TEXT` writes TEXT to stderr at start-up.
"""
import json
import os
import sys
import time

args = sys.argv[1:]
no_init = "--no-init" in args
paged = "--paged" in args
if "--stderr" in args:
    sys.stderr.write(args[args.index("--stderr") + 1] + "\n")
    sys.stderr.flush()

TOOLS = [
    {"name": "echo", "description": "Echo text", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
    {"name": "env", "description": "Read an environment variable", "inputSchema": {"type": "object"}},
    {"name": "sleep", "description": "Sleep", "inputSchema": {"type": "object"}},
    {"name": "crash", "description": "Exit", "inputSchema": {"type": "object"}},
    {"name": "fail", "description": "JSON-RPC error", "inputSchema": {"type": "object"}},
    {"name": "big", "description": "A big response", "inputSchema": {"type": "object"}},
    {"name": "ask", "description": "Ask the client", "inputSchema": {"type": "object"}},
    {"name": "bad name!", "description": "Not a valid MCP tool name", "inputSchema": {"type": "object"}},
]


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def read_message():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def text(value):
    return {"content": [{"type": "text", "text": value}]}


def call(name, arguments):
    if name == "echo":
        return text(arguments.get("text", ""))
    if name == "env":
        return {"content": [{"type": "text", "text": os.environ.get(arguments["name"], "<unset>")}],
                "structuredContent": {"value": os.environ.get(arguments["name"], "<unset>")}}
    if name == "sleep":
        time.sleep(float(arguments.get("seconds", 1)))
        return text("slept")
    if name == "crash":
        sys.stderr.write("crashing on purpose\n")
        sys.stderr.flush()
        os._exit(3)
    if name == "big":
        return text("x" * int(arguments["size"]))
    if name == "ask":
        send({"jsonrpc": "2.0", "id": "s1", "method": "ping"})
        send({"jsonrpc": "2.0", "id": "s2", "method": "roots/list"})
        send({"jsonrpc": "2.0", "id": "s3", "method": "sampling/createMessage", "params": {}})
        answers = {}
        while len(answers) < 3:
            message = read_message()
            if message.get("id") in ("s1", "s2", "s3"):
                answers[message["id"]] = message
        return {"content": [{"type": "text", "text": json.dumps(answers, sort_keys=True)}], "isError": False}
    return None


while True:
    message = read_message()
    method = message.get("method")
    if "id" not in message:
        continue  # notifications (initialized, cancelled)
    mid = message["id"]
    if method == "initialize":
        if no_init:
            continue
        send({"jsonrpc": "2.0", "id": mid, "result": {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "fake", "version": "0"}}})
        # A server notification the client must ignore.
        send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hello"}})
    elif method == "tools/list":
        cursor = (message.get("params") or {}).get("cursor")
        if paged and cursor is None:
            send({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS[:3], "nextCursor": "page2"}})
        elif paged:
            send({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS[3:]}})
        else:
            send({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS}})
    elif method == "tools/call":
        params = message["params"]
        if params["name"] == "fail":
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32000, "message": "failing on purpose"}})
            continue
        result = call(params["name"], params.get("arguments") or {})
        if result is None:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "unknown tool"}})
        else:
            send({"jsonrpc": "2.0", "id": mid, "result": result})
    else:
        send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "method not found"}})
