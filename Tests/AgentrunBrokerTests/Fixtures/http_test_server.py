"""A local HTTP(S) server for the http backend tests (Python standard library only).

Prints its port on the first line of stdout, then serves on 127.0.0.1 until killed:
  /echo...      200, JSON: method, raw request target, headers, body, and `token_ok` (whether
                the X-Token header equals "Bearer " + $EXPECTED_TOKEN)
  /status/<n>   status n with a small text body
  /slow         sleeps 5 s before answering
  /big/<n>      n bytes of "x"
  /leak         text/plain body that contains $EXPECTED_TOKEN
  /redirect     302 to /echo
argv: [--tls CERT KEY]
"""
import http.server
import json
import os
import ssl
import sys
import time

EXPECTED = os.environ.get("EXPECTED_TOKEN", "")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, content_type="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path = self.path
        if path.startswith("/echo"):
            self.reply(200, json.dumps({
                "method": self.command,
                "target": path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "token_ok": self.headers.get("X-Token") == "Bearer " + EXPECTED,
            }), "application/json; charset=utf-8")
        elif path.startswith("/status/"):
            self.reply(int(path.split("/")[2]), "status body")
        elif path == "/slow":
            time.sleep(5)
            self.reply(200, "late")
        elif path.startswith("/big/"):
            self.reply(200, "x" * int(path.split("/")[2]))
        elif path == "/leak":
            self.reply(200, "the token is " + EXPECTED + "!")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.reply(404, "no such path")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if "--tls" in sys.argv:
    i = sys.argv.index("--tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[i + 1], sys.argv[i + 2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
