#!/usr/bin/env python3
"""Live load on this machine with `ivs-recorder publish` as the publisher (stream copy at 1x,
little CPU per copy), in two modes:

  capacity  N BASIC 1080p30 publishers at once, for each N given: whether they stay real time,
            serve's CPU per stream (user+system seconds over the run / media seconds / N) and
            the memory each stream adds (serve's RSS at the end of the run minus idle, / N).
  soak      one BASIC 1080p30 publisher looped for SECONDS: serve's RSS sampled every 10 s,
            "flat" when the mean of the last tenth is within 5 % of the mean of the second tenth
            (the first is warm-up), and every segment of the recording present and listed.

Usage: python3 benches/live_load.py capacity [N ...] [--seconds S]   (default 1 4 8 16, 30 s)
       python3 benches/live_load.py soak [--seconds S]                 (default 3600)
Binary: RECORDER=path (default target/release/ivs-recorder, built first); THUMBNAILS=off records
without thumbnails (to see what they cost). Standard library only.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def binary():
    path = os.environ.get("RECORDER")
    if path:
        return path
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "ivs-recorder")


def make_input(work, seconds):
    """A 1080p30, 3.5 Mbps, 2 s GOP clip with AAC, as the capacity bench uses."""
    path = os.path.join(work, "1080p30-3500k.mp4")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-stream_loop", "-1", "-i",
         os.path.join(ROOT, "sample-media", "1080p30-gop2s.mp4"), "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3500k", "-maxrate", "3500k",
         "-bufsize", "3500k", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
         "-c:a", "aac", "-b:a", "128k", path], check=True)
    return path


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Server:
    def __init__(self, recorder, work, count):
        self.work = work
        channels = [{
            "name": f"c{n}", "type": "BASIC", "streamKey": f"sk_{n}",
            "recordingConfiguration": {
                "destinationConfiguration": {"s3": {"bucketName": "load"}},
                "thumbnailConfiguration": (
                    {"recordingMode": "DISABLED"} if os.environ.get("THUMBNAILS") == "off"
                    else {"targetIntervalSeconds": 10, "storage": ["SEQUENTIAL", "LATEST"]})}}
            for n in range(1, count + 1)]
        with open(os.path.join(work, "channels.json"), "w") as out:
            json.dump(channels, out)
        self.events = os.path.join(work, "events.jsonl")
        self.process = subprocess.Popen(
            [recorder, "serve", "--channels", os.path.join(work, "channels.json"),
             "--rtmp-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0",
             "--store", os.path.join(work, "store"), "--spool", os.path.join(work, "spool"),
             "--events", self.events],
            stdout=subprocess.PIPE, stderr=open(os.path.join(work, "server.log"), "w"), text=True)
        for line in self.process.stdout:
            if line.startswith("ivs-recorder: RTMP ingest listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                break
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()
        time.sleep(1)

    def ended(self):
        try:
            with open(self.events) as events:
                return sum(1 for line in events if '"Recording End"' in line)
        except FileNotFoundError:
            return 0

    def stop(self):
        self.process.send_signal(2)
        self.process.wait(timeout=120)


def publish(recorder, source, port, count, looped=False):
    args = [recorder, "publish", source, "--url", f"rtmp://127.0.0.1:{port}/app/sk_{{n}}",
            "--count", str(count)]
    if looped:
        args.append("--loop")
    return subprocess.Popen(args, stderr=subprocess.PIPE, text=True)


def capacity(recorder, counts, seconds):
    rows = []
    with tempfile.TemporaryDirectory() as work:
        source = make_input(work, seconds)
        for count in counts:
            run = os.path.join(work, f"basic-{count}")
            os.makedirs(run)
            server = Server(recorder, run, count)
            pid = server.process.pid
            idle_rss = proc_status(pid, "VmRSS")
            cpu_before = cpu_seconds(pid)
            started = time.monotonic()
            publisher = publish(recorder, source, server.port, count)
            samples = []
            while publisher.poll() is None:
                samples.append(proc_status(pid, "VmRSS"))
                time.sleep(1)
            wall = time.monotonic() - started
            said = publisher.stderr.read()
            lags = [int(line.split(" at worst ")[1].split()[0])
                    for line in said.splitlines() if " at worst " in line]
            cpu = cpu_seconds(pid) - cpu_before
            loaded_rss = sorted(samples)[len(samples) // 2] if samples else idle_rss
            peak = proc_status(pid, "VmHWM")
            deadline = time.monotonic() + 120
            while server.ended() < count and time.monotonic() < deadline:
                time.sleep(0.2)
            ended = server.ended()
            server.stop()
            real_time = wall <= seconds * 1.05 + 1 and len(lags) == count
            row = {
                "streams": count, "media_s": seconds, "publish_wall_s": round(wall, 1),
                "worst_publisher_lag_ms": max(lags) if lags else None,
                "recordings_ended": ended, "real_time": real_time,
                "serve_cpu_s": round(cpu, 2),
                "serve_cpu_percent_of_a_core_per_stream": round(100 * cpu / seconds / count, 2),
                "serve_idle_rss_mb": round(idle_rss / 2**20, 1),
                "serve_rss_during_mb": round(loaded_rss / 2**20, 1),
                "serve_peak_rss_mb": round(peak / 2**20, 1),
                "added_mb_per_stream": round((loaded_rss - idle_rss) / 2**20 / count, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def soak(recorder, seconds):
    with tempfile.TemporaryDirectory() as work:
        source = make_input(work, 30)
        server = Server(recorder, work, 1)
        pid = server.process.pid
        publisher = publish(recorder, source, server.port, 1, looped=True)
        samples, started = [], time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(10)
            samples.append((round(time.monotonic() - started), proc_status(pid, "VmRSS")))
        publisher.terminate()
        publisher.wait()
        deadline = time.monotonic() + 120
        while server.ended() < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        server.stop()
        tenth = max(1, len(samples) // 10)
        early = sum(r for _, r in samples[tenth:2 * tenth]) / tenth
        late = sum(r for _, r in samples[-tenth:]) / tenth
        store = os.path.join(work, "store", "load")
        playlists = [os.path.join(d, f) for d, _, fs in os.walk(store) for f in fs
                     if f == "playlist.m3u8"]
        with open(playlists[0]) as text:
            lines = text.read().splitlines()
        listed = [l for l in lines if l.endswith(".ts")]
        folder = os.path.dirname(playlists[0])
        present = sorted(f for f in os.listdir(folder) if f.endswith(".ts"))
        media = sum(float(l.split(":")[1].rstrip(",")) for l in lines if l.startswith("#EXTINF:"))
        numbered = [int(l.split(".")[0]) for l in listed]
        with open(server.events) as events:
            ended = [json.loads(l) for l in events if '"Recording End' in l]
        result = {
            "soak_s": seconds, "rss_samples": len(samples),
            "rss_early_mb": round(early / 2**20, 1), "rss_late_mb": round(late / 2**20, 1),
            "rss_change_percent": round(100 * (late - early) / early, 2),
            "rss_min_mb": round(min(r for _, r in samples) / 2**20, 1),
            "rss_max_mb": round(max(r for _, r in samples) / 2**20, 1),
            "segments_listed": len(listed), "segments_stored": len(present),
            "segments_numbered_without_gaps": numbered == list(range(len(numbered))),
            "every_listed_segment_stored": set(listed) == set(present),
            "endlist": "#EXT-X-ENDLIST" in lines, "media_listed_s": round(media, 1),
            "recording_events": [e["detail"].get("recording_status") for e in ended],
        }
        result["flat_within_5_percent"] = abs(result["rss_change_percent"]) <= 5
        print(json.dumps(result), flush=True)
        with open(os.path.join(ROOT, "target", "soak-rss.json"), "w") as out:
            json.dump({"result": result, "samples": samples}, out)
        return result


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("capacity", "soak"):
        print(__doc__)
        sys.exit(2)
    seconds = None
    if "--seconds" in args:
        at = args.index("--seconds")
        seconds = int(args[at + 1])
        del args[at:at + 2]
    recorder = binary()
    if args[0] == "capacity":
        counts = [int(a) for a in args[1:]] or [1, 4, 8, 16]
        capacity(recorder, counts, seconds or 30)
    else:
        soak(recorder, seconds or 3600)


if __name__ == "__main__":
    main()
