#!/usr/bin/env python3
"""A tiny host-side ticket API for the broker walk-through (README, "Tools and credentials").
Standard library only. It stands for any internal service that needs an API key: the agent in
the sandbox never holds the key, agentrun's broker adds it to the request on the host.

    DEMO_API_KEY=s3cret python3 examples/tool_server.py [--port 8765]

GET /tickets/<id> answers 200 with the ticket as JSON when the request carries
`Authorization: Bearer $DEMO_API_KEY`, 401 otherwise, 404 for an unknown ticket.
Listens on 127.0.0.1 only.
"""
import argparse
import hmac
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TICKETS = {
    "DEMO-1": {"title": "Build fails on arm64", "status": "open", "assignee": "ci-bot"},
    "DEMO-42": {"title": "Flaky test in the parser", "status": "open", "assignee": None},
    "DEMO-7": {"title": "Update the README", "status": "closed", "assignee": "docs"},
}


class Handler(BaseHTTPRequestHandler):
    server_version = "demo-tickets/1"
    api_key = ""

    def reply(self, status, body):
        data = json.dumps(body, indent=None).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        if not hmac.compare_digest(auth.encode(), f"Bearer {self.api_key}".encode()):
            self.reply(401, {"error": "missing or wrong API key"})
            return
        m = re.fullmatch(r"/tickets/([A-Za-z0-9-]{1,32})", self.path)
        if not m:
            self.reply(404, {"error": f"no route {self.path}"})
            return
        ticket = TICKETS.get(m.group(1))
        if ticket is None:
            self.reply(404, {"error": f"no ticket {m.group(1)}"})
            return
        self.reply(200, {"id": m.group(1), **ticket})

    def log_message(self, fmt, *args):
        # One line per request on stderr, without the Authorization header.
        sys.stderr.write("tool_server: %s %s\n" % (self.address_string(), fmt % args))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    args = parser.parse_args()
    key = os.environ.get("DEMO_API_KEY", "")
    if not key:
        sys.exit("tool_server: set DEMO_API_KEY (the key agentrun's broker will send)")
    Handler.api_key = key
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    # The first line of stdout names the port (scripts wait for it).
    print(f"tool_server: listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
