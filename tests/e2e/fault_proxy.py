#!/usr/bin/env python3
"""A loopback TCP proxy that misbehaves on purpose, for the registry fault tests.

Usage: fault_proxy.py LISTEN_PORT TARGET_PORT PLAN

Each accepted connection (the client opens one per request) takes the next action of PLAN, a
comma-separated list; when the list is used up every connection is relayed ("ok"). Actions:
  ok      relay to 127.0.0.1:TARGET_PORT
  drop    read the request, close without answering
  500     answer 500 Internal Server Error
  429     answer 429 Too Many Requests (Retry-After: 0)
  cut     relay, but close after the first 1,000 bytes of the answer
  stall   read the request, then say nothing for 8 seconds
  always500  answer 500 to every connection from here on
  floodblobs  from here on, answer each blob GET with 200 and an endless body (counted in
              BLOBS_ASKED_FILE when given as the 4th argument); relay the rest
  bigmanifests  from here on, answer each manifest GET with 200 and a 40 MB body; relay the rest
Listens on 127.0.0.1 only and prints "ready" once listening.
"""
import socket
import sys
import threading
import time

listen_port, target_port, plan = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
asked_file = sys.argv[4] if len(sys.argv) > 4 else None
lock = threading.Lock()
forever = None


def next_action():
    global forever
    with lock:
        if forever:
            return forever
        if plan and plan[0]:
            action = plan.pop(0)
            if action == "always500":
                forever = "500"
                return "500"
            if action in ("floodblobs", "bigmanifests"):
                forever = action
            return action
        return "ok"


def read_request_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if not data[:1].isalpha():
            break  # not HTTP (a TLS hello): the caller answers or closes at once
    return data


def answer(conn, status, extra=""):
    conn.sendall(("HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n%s\r\n" % (status, extra)).encode())


def pipe(src, dst, limit=None):
    sent = 0
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            if limit is not None and sent + len(chunk) > limit:
                dst.sendall(chunk[: limit - sent])
                break
            dst.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def hostile(conn, action):
    """Answers blob (or manifest) GETs with far more than any descriptor declares; relays the rest."""
    head = read_request_head(conn)
    line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    what = "/blobs/" if action == "floodblobs" else "/manifests/"
    if line.startswith("GET ") and what in line:
        if asked_file and what == "/blobs/":
            with lock, open(asked_file, "a") as f:
                f.write(line + "\n")
        size = 1 << 40 if what == "/blobs/" else 40 << 20
        conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n" % size).encode())
        chunk = b"{" + b" " * 65535
        sent = 0
        while sent < size:
            conn.sendall(chunk)
            sent += len(chunk)
        return
    upstream = socket.create_connection(("127.0.0.1", target_port))
    upstream.sendall(head)
    up = threading.Thread(target=pipe, args=(conn, upstream), daemon=True)
    up.start()
    pipe(upstream, conn)
    up.join(timeout=30)
    upstream.close()


def handle(conn):
    first = conn.recv(1, socket.MSG_PEEK)
    if first and not first.isalpha():
        conn.close()  # a TLS hello to this plain-HTTP proxy: refused at once, and no plan step used
        return
    action = next_action()
    try:
        if action == "ok" or action == "cut":
            upstream = socket.create_connection(("127.0.0.1", target_port))
            up = threading.Thread(target=pipe, args=(conn, upstream), daemon=True)
            up.start()
            pipe(upstream, conn, 1000 if action == "cut" else None)
            up.join(timeout=30)
            upstream.close()
        elif action in ("floodblobs", "bigmanifests"):
            hostile(conn, action)
        else:
            read_request_head(conn)
            if action == "500":
                answer(conn, "500 Internal Server Error")
            elif action == "429":
                answer(conn, "429 Too Many Requests", "Retry-After: 0\r\n")
            elif action == "stall":
                time.sleep(8)
            # drop: nothing
    except OSError:
        pass
    finally:
        conn.close()


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(64)
print("ready", flush=True)
while True:
    c, _ = server.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
