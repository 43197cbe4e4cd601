// Drives Debian's Chromium headless (puppeteer-core) against a running `ivs-recorder serve`:
// the web console, the live playbackUrl in hls.js and in the Amazon IVS Player Web SDK from a
// page on another origin, and a finished recording played to its end and seeked. Prints one JSON
// object of measurements; the Rust test (tests/integration/browser.rs) asserts on it.
//
//   node web/tests/players.mjs '{"server":"http://127.0.0.1:PORT","live":"/api/video/v1/….m3u8",
//     "channelArn":"arn:…","scenarios":["console","hls","ivs","recording"],"screenshots":"DIR"}'

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.join(here, "..");
const spec = JSON.parse(process.argv[2]);
const SECOND = 1000;

/** The other origin: the player pages and their scripts, as a user's own site would serve them. */
function startPageServer() {
  const files = {
    "/hls.min.js": path.join(web, "node_modules/hls.js/dist/hls.min.js"),
    "/ivs-player.min.js": path.join(web, "dist/ivs-player.min.js"),
    "/assets/amazon-ivs-wasmworker.min.js": path.join(web, "node_modules/amazon-ivs-player/dist/assets/amazon-ivs-wasmworker.min.js"),
    "/assets/amazon-ivs-wasmworker.min.wasm": path.join(web, "node_modules/amazon-ivs-player/dist/assets/amazon-ivs-wasmworker.min.wasm"),
  };
  const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
  const page = (script) => `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>player</title></head><body style="margin:0;background:#111">
<video id="video" playsinline muted controls style="width:640px"></video>
${script}</body></html>`;
  const pages = {
    "/hls.html": page(`<script src="/hls.min.js"></script><script>
      const video = document.getElementById("video");
      const hls = new Hls({ liveSyncDuration: 3, liveMaxLatencyDuration: 8, maxLiveSyncPlaybackRate: 1.5 });
      hls.loadSource(new URLSearchParams(location.search).get("src"));
      hls.attachMedia(video);
      video.muted = true; video.play().catch(() => {});
      window.latency = () => hls.playingDate ? (Date.now() - hls.playingDate.getTime()) / 1000 : null;
      // hls.js raises its target latency by 1 s per stall (up to a target duration): the stalls
      // explain a run that settles further back.
      window.stalls = 0;
      hls.on(Hls.Events.ERROR, (event, data) => { if (data.details === "bufferStalledError") window.stalls += 1; });
      window.target = () => ({ ownLatency: hls.latency, targetLatency: hls.targetLatency, stalls: window.stalls, playbackRate: video.playbackRate, level: hls.currentLevel });
    </script>`),
    "/ivs.html": page(`<script src="/ivs-player.min.js"></script><script>
      const video = document.getElementById("video");
      const base = location.origin + "/assets/";
      const player = IVSPlayer.create({
        wasmWorker: base + "amazon-ivs-wasmworker.min.js",
        wasmBinary: base + "amazon-ivs-wasmworker.min.wasm",
      });
      player.attachHTMLVideoElement(video);
      player.setMuted(true);
      player.setAutoplay(true);
      window.ivsErrors = [];
      player.addEventListener(IVSPlayer.PlayerEventType.ERROR, (e) => window.ivsErrors.push(JSON.stringify(e)));
      player.load(new URLSearchParams(location.search).get("src"));
      window.latency = () => player.getLiveLatency();
    </script>`),
  };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, "http://x");
    if (pages[url.pathname]) {
      response.writeHead(200, { "content-type": "text/html" });
      response.end(pages[url.pathname]);
    } else if (files[url.pathname]) {
      response.writeHead(200, { "content-type": types[path.extname(url.pathname)] });
      fs.createReadStream(files[url.pathname]).pipe(response);
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// The IVS Player SDK calls home (its config and telemetry hosts under live-video.net), which this
// offline machine cannot reach: those failures are reported apart, not as errors of ours.
const TELEMETRY_HOST = /^https:\/\/[^/]*\.live-video\.net\//;
const TELEMETRY_MESSAGE = /^PoPClient send error|^Failed to load resource: net::ERR_NAME_NOT_RESOLVED$/;

async function newPage(browser, result, name) {
  const errors = result.errors;
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (TELEMETRY_MESSAGE.test(message.text())) (result.telemetry ||= []).push(message.text());
    else errors.push(`${name}: console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`${name}: page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    const failure = request.failure();
    if (TELEMETRY_HOST.test(request.url())) {
      (result.telemetry ||= []).push(`${request.url()} ${failure && failure.errorText}`);
    } else if (failure && !/ERR_ABORTED/.test(failure.errorText)) {
      // A player aborting a request it no longer needs is not a failure.
      errors.push(`${name}: request failed: ${request.url()} ${failure.errorText}`);
    }
  });
  page.on("response", (response) => {
    if (response.status() >= 400) errors.push(`${name}: HTTP ${response.status()} ${response.url()}`);
  });
  return page;
}

/** Waits until `video` (a selector) has played `seconds` beyond where it was first seen playing. */
async function watchPlayback(page, selector, seconds, timeout) {
  await page.waitForFunction(
    (selector) => { const v = document.querySelector(selector); return v && v.currentTime > 0 && v.videoHeight > 0; },
    { timeout, polling: 200 }, selector);
  const first = await page.$eval(selector, (v) => v.currentTime);
  await page.waitForFunction(
    (selector, target) => document.querySelector(selector).currentTime >= target,
    { timeout, polling: 200 }, selector, first + seconds);
  return page.$eval(selector, (v) => ({ currentTime: v.currentTime, height: v.videoHeight, width: v.videoWidth }));
}

/** Latency samples (s) once a second for `count` seconds. */
async function sampleLatency(page, count) {
  const samples = [];
  for (let i = 0; i < count; i += 1) {
    const value = await page.evaluate(() => window.latency());
    if (typeof value === "number" && value > 0) samples.push(Number(value.toFixed(2)));
    await new Promise((resolve) => setTimeout(resolve, SECOND));
  }
  return samples;
}

async function consoleScenario(browser, result) {
  const page = await newPage(browser, result, "console");
  await page.goto(`${spec.server}/`, { waitUntil: "load" });
  await page.waitForFunction(() => document.getElementById("events-state").textContent === "live",
    { timeout: 30 * SECOND, polling: 100 });
  await page.screenshot({ path: path.join(spec.screenshots, "console-offline.png"), fullPage: true });
  // The test starts the publisher now: the page sees the stream's events as they happen.
  process.stderr.write("console ready\n");
  const card = `.channel[data-arn="${spec.channelArn}"]`;
  await page.waitForSelector(`${card}[data-state="LIVE"]`, { timeout: 30 * SECOND });
  await page.waitForFunction(
    (card) => { const img = document.querySelector(`${card} img.thumb`); return img && img.complete && img.naturalWidth > 0; },
    { timeout: 60 * SECOND, polling: 500 }, card);
  const thumbnail = () => page.$eval(`${card} img.thumb`, (img) => ({ width: img.naturalWidth, height: img.naturalHeight, src: img.getAttribute("src") }));
  result.thumbnail = await thumbnail();
  result.playback = await watchPlayback(page, `${card} video.live-player`, 3, 60 * SECOND);
  await page.click(`${card} button.show-key`);
  await page.waitForFunction((card) => document.querySelector(`${card} .stream-key`).textContent !== "hidden",
    { timeout: 10 * SECOND }, card);
  result.streamKey = await page.$eval(`${card} .stream-key`, (node) => node.textContent);
  await page.waitForFunction(() => [...document.querySelectorAll("#events li")].some((li) => /Stream Start/.test(li.textContent)),
    { timeout: 30 * SECOND, polling: 200 });
  result.events = await page.$$eval("#events li", (items) => items.map((li) => li.textContent));
  // The thumbnail refreshes (the page reloads the LATEST object every few seconds).
  await page.waitForFunction((card, first) => document.querySelector(`${card} img.thumb`).getAttribute("src") !== first,
    { timeout: 20 * SECOND, polling: 250 }, card, result.thumbnail.src);
  result.thumbnailLater = await thumbnail();
  await page.screenshot({ path: path.join(spec.screenshots, "console-live.png"), fullPage: true });
  await page.close();
}

async function playerScenario(browser, result, kind, pageServer) {
  const page = await newPage(browser, result, kind);
  const origin = `http://127.0.0.1:${pageServer.address().port}`;
  const src = `${spec.server}${spec.live}`;
  await page.goto(`${origin}/${kind}.html?src=${encodeURIComponent(src)}`, { waitUntil: "load" });
  result.pageOrigin = origin;
  result.playback = await watchPlayback(page, "#video", 4, 60 * SECOND);
  // Playlist reloads while the latency is sampled: blocking ones carry `_HLS_msn`.
  const playlists = { requests: 0, blocking: 0 };
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!url.pathname.endsWith(".m3u8")) return;
    playlists.requests += 1;
    if (url.searchParams.has("_HLS_msn")) playlists.blocking += 1;
  });
  result.latency = await sampleLatency(page, 12);
  result.playlists = playlists;
  if (kind === "ivs") result.ivsErrors = await page.evaluate(() => window.ivsErrors);
  if (kind === "hls") result.target = await page.evaluate(() => window.target());
  result.afterLatency = await page.$eval("#video", (v) => ({ currentTime: v.currentTime, height: v.videoHeight }));
  await page.screenshot({ path: path.join(spec.screenshots, `${kind}-live.png`) });
  await page.close();
}

async function recordingScenario(browser, result) {
  const page = await newPage(browser, result, "recording");
  await page.goto(`${spec.server}/`, { waitUntil: "load" });
  const card = `.recording[data-state="ENDED"]`;
  await page.waitForSelector(`${card} button.play-recording`, { timeout: 30 * SECOND });
  result.thumbnails = await page.$$eval(`${card} .strip img`, (imgs) => imgs.length);
  await page.click(`${card} button.play-recording`);
  const video = `${card} video.recording-player`;
  await page.waitForFunction((video) => { const v = document.querySelector(video); return v && v.duration > 0 && v.videoHeight > 0; },
    { timeout: 30 * SECOND, polling: 200 }, video);
  result.duration = await page.$eval(video, (v) => v.duration);
  await page.waitForFunction((video) => document.querySelector(video).currentTime > 1,
    { timeout: 30 * SECOND, polling: 200 }, video);
  // Seek to 5 s before the end: it plays from there to its end.
  const target = result.duration - 5;
  await page.$eval(video, (v, target) => { v.currentTime = target; }, target);
  await page.waitForFunction((video, target) => document.querySelector(video).currentTime > target + 1,
    { timeout: 30 * SECOND, polling: 100 }, video, target);
  result.afterSeek = await page.$eval(video, (v) => v.currentTime);
  await page.screenshot({ path: path.join(spec.screenshots, "console-recording.png"), fullPage: true });
  await page.waitForFunction((video) => document.querySelector(video).ended,
    { timeout: 30 * SECOND, polling: 250 }, video);
  result.endedAt = await page.$eval(video, (v) => ({ currentTime: v.currentTime, height: v.videoHeight, ended: v.ended }));
  await page.close();
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--disable-dev-shm-usage"],
});
const pageServer = await startPageServer();
const results = {};
try {
  for (const scenario of spec.scenarios) {
    const result = { errors: [] };
    results[scenario] = result;
    try {
      if (scenario === "console") await consoleScenario(browser, result);
      else if (scenario === "hls" || scenario === "ivs") await playerScenario(browser, result, scenario, pageServer);
      else if (scenario === "recording") await recordingScenario(browser, result);
      else throw new Error(`no scenario ${scenario}`);
    } catch (error) {
      result.failed = String(error && error.stack || error);
    }
  }
} finally {
  await browser.close();
  pageServer.close();
}
process.stdout.write(JSON.stringify(results, null, 2) + "\n");
