#!/usr/bin/env python3
"""A small HTTP file server for the ADD-of-URL tests, on 127.0.0.1 only.

Usage: file_server.py PORT DIR LOG

Serves the files of DIR with an ETag (sha256 of the bytes) and a fixed Last-Modified, answers
If-None-Match with 304, and appends "STATUS PATH" to LOG for every answer, so a test can see
what was downloaded. Besides the files:
  /redirect/PATH     302 to /PATH
  /slow/PATH         the file in small pieces, 50 ms apart
  /?name=NAME        the file NAME, served with Content-Disposition: filename="NAME" (a URL whose
                     path names no file)
Also serves DIR's Git repositories by git's dumb HTTP protocol (after `git update-server-info`).
Prints "ready" once listening.
"""
import hashlib
import http.server
import os
import sys
import time
import urllib.parse

port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
LAST_MODIFIED = "Tue, 15 Nov 1994 08:12:31 GMT"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def note(self, status):
        with open(log, "a") as f:
            f.write("%d %s\n" % (status, self.path))

    def fail(self, status):
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        path, slow, disposition = url.path, False, None
        if path.startswith("/redirect/"):
            self.note(302)
            self.send_response(302)
            self.send_header("Location", path[len("/redirect"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/slow/"):
            path, slow = path[len("/slow"):], True
        if path == "/" and url.query:
            name = urllib.parse.parse_qs(url.query)["name"][0]
            path, disposition = "/" + name, name
        full = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if not full.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(full):
            return self.fail(404)
        data = open(full, "rb").read()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.note(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.note(200)
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        if disposition:
            self.send_header("Content-Disposition", 'attachment; filename="%s"' % disposition)
        self.end_headers()
        if slow:
            for i in range(0, len(data), 64):
                self.wfile.write(data[i:i + 64])
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("ready", flush=True)
server.serve_forever()
