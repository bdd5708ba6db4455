#!/usr/bin/env python3
"""A Hugging Face Hub on loopback, for `lowbit download` tests: the Hub's URL shapes, served from a folder.

  fake_hub.py --root REPOS --ports-file FILE --log FILE [--token T] [--gated owner/name]
              [--rate BYTES_PER_S] [--drop-once PATH] [--corrupt-once PATH]

REPOS/owner/name/... are the repositories. Two servers start on 127.0.0.1: the hub (API and /resolve/) and a "CDN"
that the hub redirects every LFS file (> 1 MiB, or *.safetensors, *.gguf) to, addressed as localhost so that it is
another host. FILE gets "HUB_PORT CDN_PORT" once both listen. Every request is logged as one JSON line: server,
path, Range, and whether an Authorization header came (never its value).

As the real Hub: GET /api/models/{repo}/revision/{rev}?blobs=true lists "sha" and "siblings" (rfilename, size,
blobId, lfs {sha256, size, pointerSize}); GET /{repo}/resolve/{rev}/{path} serves or redirects (302); a gated repo
answers 401 with X-Error-Code GatedRepo without a token and 403 with a wrong one; an unknown repo 401 RepoNotFound.
The CDN honours Range (206), sends at --rate, drops the connection half-way through --drop-once the first time, and
flips one byte of --corrupt-once the first time.
"""
import argparse
import hashlib
import json
import os
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_THRESHOLD = 1 << 20


def is_lfs(path, size):
    return size > LFS_THRESHOLD or path.endswith((".safetensors", ".gguf", ".bin"))


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Hub:
    def __init__(self, args):
        self.args = args
        self.log_lock = threading.Lock()
        self.dropped = set()
        self.corrupted = set()
        self.cdn_port = 0

    def log(self, **entry):
        with self.log_lock, open(self.args.log, "a") as out:
            out.write(json.dumps(entry) + "\n")

    def repo_dir(self, repo):
        return os.path.join(self.args.root, repo)

    def commit(self, repo):
        return hashlib.sha1(repo.encode()).hexdigest()

    def files(self, repo):
        root = self.repo_dir(repo)
        found = []
        for folder, _, names in os.walk(root):
            for name in sorted(names):
                full = os.path.join(folder, name)
                found.append(os.path.relpath(full, root).replace(os.sep, "/"))
        return sorted(found)

    def sibling(self, repo, path):
        with open(os.path.join(self.repo_dir(repo), path), "rb") as f:
            data = f.read()
        entry = {"rfilename": path, "size": len(data)}
        if is_lfs(path, len(data)):
            sha256 = hashlib.sha256(data).hexdigest()
            pointer = ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha256, len(data))).encode()
            entry["blobId"] = git_blob_sha1(pointer)
            entry["lfs"] = {"sha256": sha256, "size": len(data), "pointerSize": len(pointer)}
        else:
            entry["blobId"] = git_blob_sha1(data)
        return entry


def make_handler(hub, server_name):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_json(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def refuse(self, repo):
            """The Hub's answers for a repo this request may not see, or None when it may."""
            authorization = self.headers.get("Authorization", "")
            if not os.path.isdir(hub.repo_dir(repo)):
                return 401 if not authorization else 404, "RepoNotFound", "Repository Not Found for url: " + self.path
            if repo in (hub.args.gated or []):
                if not authorization:
                    return 401, "GatedRepo", ("Access to model %s is restricted. You must have access to it and be "
                                              "authenticated to access it. Please log in." % repo)
                if authorization != "Bearer " + (hub.args.token or ""):
                    return 403, "GatedRepo", "Access to model %s is restricted and you are not in the authorized list." % repo
            return None

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(url.path)
            hub.log(server=server_name, path=path, range=self.headers.get("Range"),
                    authorization=bool(self.headers.get("Authorization")))
            if server_name == "cdn":
                return self.serve_cdn(path, urllib.parse.parse_qs(url.query))
            parts = path.strip("/").split("/")
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
                repo = parts[2] + "/" + parts[3]
                refused = self.refuse(repo)
                if refused:
                    status, code, message = refused
                    return self.send_json(status, {"error": message}, [("X-Error-Code", code), ("X-Error-Message", message)])
                return self.send_json(200, {"id": repo, "sha": hub.commit(repo),
                                            "siblings": [hub.sibling(repo, f) for f in hub.files(repo)]})
            if len(parts) >= 5 and parts[2] == "resolve":
                repo = parts[0] + "/" + parts[1]
                file_path = "/".join(parts[4:])
                refused = self.refuse(repo)
                if refused:
                    status, code, message = refused
                    return self.send_json(status, {"error": message}, [("X-Error-Code", code), ("X-Error-Message", message)])
                full = os.path.join(hub.repo_dir(repo), file_path)
                if not os.path.isfile(full):
                    return self.send_json(404, {"error": "Entry not found"}, [("X-Error-Code", "EntryNotFound")])
                size = os.path.getsize(full)
                if is_lfs(file_path, size):
                    query = urllib.parse.urlencode({"repo": repo, "path": file_path})
                    self.send_response(302)
                    self.send_header("Location", "http://localhost:%d/lfs/%s?%s" % (hub.cdn_port, hub.sibling(repo, file_path)["lfs"]["sha256"], query))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                return self.send_file(full, file_path)
            self.send_json(404, {"error": "not a Hub URL: " + path})

        def serve_cdn(self, path, query):
            repo, file_path = query.get("repo", [""])[0], query.get("path", [""])[0]
            full = os.path.join(hub.repo_dir(repo), file_path)
            if not path.startswith("/lfs/") or not os.path.isfile(full):
                return self.send_json(404, {"error": "no such object"})
            self.send_file(full, file_path)

        def send_file(self, full, file_path):
            with open(full, "rb") as f:
                data = bytearray(f.read())
            if file_path == hub.args.corrupt_once and file_path not in hub.corrupted:
                hub.corrupted.add(file_path)
                data[len(data) // 2] ^= 0xFF
            start = 0
            requested = self.headers.get("Range")
            if requested and requested.startswith("bytes=") and requested.endswith("-"):
                start = int(requested[len("bytes="):-1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % len(data))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
            else:
                self.send_response(200)
            body = bytes(data[start:])
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            drop_at = None
            if file_path == hub.args.drop_once and file_path not in hub.dropped:
                hub.dropped.add(file_path)
                drop_at = len(body) // 2
            chunk = 64 * 1024
            sent = 0
            began = time.monotonic()
            while sent < len(body):
                piece = body[sent:sent + chunk]
                if drop_at is not None and sent + len(piece) > drop_at:
                    self.wfile.write(piece[:drop_at - sent])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                try:
                    self.wfile.write(piece)
                except (BrokenPipeError, ConnectionResetError):
                    return
                sent += len(piece)
                if hub.args.rate:
                    ahead = sent / hub.args.rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True)
    parser.add_argument("--ports-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--token")
    parser.add_argument("--gated", action="append")
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--drop-once")
    parser.add_argument("--corrupt-once")
    args = parser.parse_args()
    hub = Hub(args)
    hub_server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(hub, "hub"))
    cdn_server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(hub, "cdn"))
    hub.cdn_port = cdn_server.server_address[1]
    threading.Thread(target=cdn_server.serve_forever, daemon=True).start()
    with open(args.ports_file + ".tmp", "w") as out:
        out.write("%d %d\n" % (hub_server.server_address[1], hub.cdn_port))
    os.replace(args.ports_file + ".tmp", args.ports_file)
    hub_server.serve_forever()


if __name__ == "__main__":
    main()
