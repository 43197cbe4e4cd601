#!/usr/bin/env python3
"""API load on this machine: requests per second and latency (p50, p99) of CreateChannel (1 000
channels), GetChannel and ListChannels (first page of 100, over those 1 000 channels), sent by
CONCURRENCY keep-alive connections; while GetChannel runs, a 1080p STANDARD publish at 1x (ffmpeg
-re) checks that ingest keeps real time under that load.

Usage: python3 benches/api_load.py [path/to/ivs-recorder]   (default: target/release/ivs-recorder,
built first). Uses only the standard library; requests carry a SigV4-shaped Authorization header,
which the server accepts without --api-credentials.
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDBENCH/20261202/us-west-2/ivs/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64)


def start_server(binary, work):
    server = subprocess.Popen(
        [binary, "serve", "--rtmp-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0",
         "--store", os.path.join(work, "store")],
        stdout=subprocess.PIPE, stderr=open(os.path.join(work, "server.log"), "w"), text=True)
    rtmp = api = key = None
    for line in server.stdout:
        if line.startswith("ivs-recorder: RTMP ingest listening on "):
            rtmp = line.rsplit(":", 1)[1].strip()
        if "/app/" in line:
            key = line.strip().rsplit("/", 1)[1]
        if line.startswith("ivs-recorder: IVS API listening on http://"):
            api = line.split("http://", 1)[1].split()[0].rsplit(":", 1)[1]
            break
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    return server, int(rtmp), int(api), key


def load(port, operation, bodies):
    """Sends every body of `bodies` to POST /operation over CONCURRENCY connections."""
    latencies, answers, lock = [], [], threading.Lock()
    queue = list(enumerate(bodies))

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop()
            started = time.perf_counter()
            connection.request("POST", "/" + operation, json.dumps(body),
                               {"Authorization": AUTH, "Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise SystemExit(f"{operation}: {response.status} {data[:200]}")
            with lock:
                latencies.append(elapsed)
                answers.append(data)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"{operation:14} {len(latencies):6d} requests  {len(latencies) / wall:8.0f} req/s  "
          f"p50 {pick(0.50):6.2f} ms  p99 {pick(0.99):6.2f} ms")
    return answers


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/ivs-recorder"
    if len(sys.argv) == 1:
        subprocess.run(["cargo", "build", "--release", "--quiet"], check=True)
    with tempfile.TemporaryDirectory() as work:
        server, rtmp, api, key = start_server(binary, work)
        try:
            print(f"{CONCURRENCY} connections, {os.cpu_count()} cores")
            created = load(api, "CreateChannel", [{"name": f"bench-{n}"} for n in range(1000)])
            arns = [json.loads(answer)["channel"]["arn"] for answer in created]
            load(api, "ListChannels", [{"maxResults": 100}] * 1000)
            publish = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i",
                       "sample-media/1080p30-gop2s.mp4", "-c", "copy", "-f", "flv",
                       f"rtmp://127.0.0.1:{rtmp}/app/{key}"]
            media = 12.0
            quiet = time.perf_counter()
            subprocess.run(publish, check=True)
            quiet = time.perf_counter() - quiet
            print(f"1080p STANDARD publish of {media:.0f} s at 1x with the API idle: {quiet:.1f} s")
            time.sleep(2)
            publisher = subprocess.Popen(publish)
            published = time.perf_counter()
            gets = []
            while publisher.poll() is None:
                gets += load(api, "GetChannel", [{"arn": arns[n % len(arns)]} for n in range(4000)])
            took = time.perf_counter() - published
            print(f"1080p STANDARD publish of {media:.0f} s at 1x under GetChannel load: "
                  f"{took:.1f} s ({media / took:.2f}x real time), {len(gets)} GetChannel answered meanwhile")
        finally:
            server.terminate()
            server.wait(timeout=60)
        log = open(os.path.join(work, "server.log")).read()
        for line in log.splitlines():
            if "recording finalised" in line:
                print("recording:", line.split("recording finalised", 1)[1].strip())


if __name__ == "__main__":
    main()
