#!/usr/bin/env python3
"""A tiny read-only registry behind the Bearer token flow, for the authentication tests.

Usage: token_registry.py PORT USER PASSWORD

Serves one image, test/img:1 (a gzip layer holding /hello.txt), on 127.0.0.1:PORT. Every /v2/
request needs "Authorization: Bearer <token>"; without it the answer is 401 with
WWW-Authenticate: Bearer realm="http://127.0.0.1:PORT/token",service="token-test",scope="...".
GET /token checks Basic USER:PASSWORD and the scope asked for, and hands out the token.
Prints "ready" once listening.
"""
import base64
import gzip
import hashlib
import http.server
import io
import json
import sys
import tarfile
import urllib.parse

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
TOKEN = "tok-" + hashlib.sha256(password.encode()).hexdigest()[:16]

tar_bytes = io.BytesIO()
with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as t:
    data = b"hello through a bearer token\n"
    info = tarfile.TarInfo("hello.txt")
    info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
    t.addfile(info, io.BytesIO(data))
layer_tar = tar_bytes.getvalue()
layer = gzip.compress(layer_tar, mtime=0)
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
                     "config": {"Cmd": ["/hello.txt"]}}).encode()


def desc(media_type, blob):
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(blob).hexdigest(), "size": len(blob)}


manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": desc("application/vnd.oci.image.config.v1+json", config),
                       "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", layer)]}).encode()
blobs = {"sha256:" + hashlib.sha256(b).hexdigest(): b for b in (config, layer)}
manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.path.startswith("/token"):
            want = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.send(401)
            # Percent-escapes are case-insensitive (RFC 3986): the decoded scope is what counts.
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            if "repository:test/img:pull" not in query.get("scope", []) or query.get("service") != ["token-test"]:
                return self.send(403)
            return self.send(200, json.dumps({"token": TOKEN}).encode(), [("Content-Type", "application/json")])
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="token-test",scope="repository:test/img:pull"' % port
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                             [("WWW-Authenticate", challenge)])
        if self.path == "/v2/":
            return self.send(200, b"{}")
        if self.path in ("/v2/test/img/manifests/1", "/v2/test/img/manifests/" + manifest_digest):
            return self.send(200, manifest, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                                             ("Docker-Content-Digest", manifest_digest)])
        if self.path.startswith("/v2/test/img/blobs/"):
            blob = blobs.get(self.path.rsplit("/", 1)[1])
            if blob is not None:
                return self.send(200, blob, [("Content-Type", "application/octet-stream")])
        return self.send(404, b'{"errors":[{"code":"NOT_FOUND","message":"not found"}]}')


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("ready", flush=True)
server.serve_forever()
