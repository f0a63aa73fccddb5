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
Listens on 127.0.0.1 only and prints "ready" once listening.
"""
import socket
import sys
import threading
import time

listen_port, target_port, plan = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
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
