#!/usr/bin/env python3
"""A minimal lond.handler: copy it and put your own commands in answer().

Run it (as a user that can create the socket and that lond can reach):

    python3 examples/handler.py /var/lib/lonlink/handler.sock

and point lond at it in lonlink.yaml (then `loncontrol reload`):

    lond: { handler: /var/lib/lonlink/handler.sock }

The handler protocol (proto/PROTOCOL.md, "Handler requests"): lond connects to the socket,
writes one request per line, `<peer-id>:<request>`, and reads exactly one reply line per
request, in the order of the requests on that connection. lond keeps a few connections open
(lond.handler_connections) and pipelines requests on them, so this server reads lines in a
loop on each connection and serves several connections at once (one thread each). A reply
must not contain a newline; escape fields LON-CAPA style (%XX). A handler that answers one
line and closes the connection also works, at the cost of one connection per request.
"""
import os
import socket
import sys
import threading


def answer(peer, request):
    """The reply line (without newline) to `request` from host `peer`."""
    command, _, argument = request.partition(":")
    if command == "reverse":
        return argument[::-1]
    if command == "hello":
        return "hello:" + peer
    return "unknown_cmd"


def serve(conn):
    with conn, conn.makefile("rb") as lines:
        for raw in lines:
            if not raw.endswith(b"\n"):
                return  # lond went away in the middle of a line
            peer, _, request = raw[:-1].decode("utf-8", "replace").partition(":")
            try:
                reply = answer(peer, request)
            except Exception:  # one bad request must not cost the others their replies
                reply = "error:handler_failed"
            try:
                conn.sendall(reply.replace("\n", "%0A").encode() + b"\n")
            except OSError:
                return  # lond closed this connection


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: handler.py SOCKET")
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)  # a stale socket from an earlier run
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
