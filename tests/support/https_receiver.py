#!/usr/bin/python3
# An HTTPS webhook receiver on loopback for the e2e tests (jobwarden's HTTP
# client against TLS it must verify). Usage: https_receiver.py CERT KEY.
# Binds 127.0.0.1 on a port the kernel picks and prints "LISTENING <port>"
# once it accepts; then, for each POST, prints "REQUEST <path> <body>" (the
# body on one line) and answers 204.
import http.server
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        text = body.decode("utf-8", "replace").replace("\n", " ")
        print("REQUEST %s %s" % (self.path, text), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print("LISTENING %d" % server.server_address[1], flush=True)
server.serve_forever()
