// The ivs-recorder web console: channels and their live streams (thumbnail, player), the IVS
// events as they happen, and the recordings of every bucket with their thumbnails and playback.
// Plain DOM, no framework; hls.js plays where the browser has no native HLS.
"use strict";

/** The players on the page, by name ("live:<channel arn>", "recording:<prefix>"), for tests. */
window.consolePlayers = {};

// Live: 3 s behind the live edge, caught up to by playing up to 1.5x after a slow start.
const LIVE_HLS_CONFIG = { liveSyncDuration: 3, liveMaxLatencyDuration: 8, maxLiveSyncPlaybackRate: 1.5 };

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function definitions(pairs) {
  const list = element("dl");
  for (const [term, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    list.append(element("dt", {}, term), element("dd", {}, value));
  }
  return list;
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Plays `url` in `video` with hls.js (or natively); registered under `name`. */
function play(name, video, url, config) {
  stop(name);
  const player = { video, hls: null, url };
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls(config || {});
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (data.fatal) {
        console.warn(`${name}: ${data.type} ${data.details}`);
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    player.hls = hls;
  } else {
    video.src = url;
  }
  video.muted = true;
  video.play().catch(() => {});
  window.consolePlayers[name] = player;
  return player;
}

function stop(name) {
  const player = window.consolePlayers[name];
  if (!player) return;
  if (player.hls) player.hls.destroy();
  player.video.removeAttribute("src");
  delete window.consolePlayers[name];
}

// ---- channels ----

const channelCards = new Map();

function renderChannel(channel) {
  let card = channelCards.get(channel.arn);
  if (!card) {
    card = {
      root: element("div", { class: "card channel", "data-arn": channel.arn }),
      title: element("h3"),
      facts: element("div"),
      live: element("div", { class: "live" }),
      key: element("dd", { class: "stream-key" }, "hidden"),
      streamId: null,
    };
    const showKey = element("button", {
      class: "show-key",
      onclick: async () => {
        try {
          const answer = await getJson(`/console/api/channels/key?arn=${encodeURIComponent(channel.arn)}`);
          card.key.textContent = answer.streamKey;
        } catch (err) {
          card.key.textContent = String(err.message);
        }
      },
    }, "Show stream key");
    card.root.append(card.title, card.facts,
      element("dl", {}, element("dt", {}, "Stream key"), card.key), showKey, card.live);
    channelCards.set(channel.arn, card);
  }
  card.root.dataset.state = channel.state;
  card.title.replaceChildren(channel.name || "(unnamed)",
    element("span", { class: `badge ${channel.state}` }, channel.state),
    element("span", { class: "muted" }, channel.type));
  const playback = location.origin + channel.playbackPath;
  const stream = channel.stream;
  card.facts.replaceChildren(definitions([
    ["ARN", channel.arn],
    ["Ingest", channel.ingestUrls.join("  ")],
    ["Playback", playback],
    ["Recording", channel.recordingConfigurationArn || "not recorded"],
    ["Stream", stream && `${stream.streamId} · ${stream.health} · ${stream.viewerCount} viewer(s) · ${stream.renditions.join(" ")}`],
  ]));
  const name = `live:${channel.arn}`;
  if (!stream) {
    stop(name);
    card.live.replaceChildren();
    card.streamId = null;
    return card.root;
  }
  // The player starts once every rendition has its first GOP (until then playback answers 404).
  if (card.streamId !== stream.streamId && stream.playable) {
    card.streamId = stream.streamId;
    const thumb = element("img", { class: "thumb", alt: "latest thumbnail", title: "latest thumbnail" });
    const video = element("video", { class: "live-player", "data-channel": channel.arn, controls: "", muted: "", playsinline: "" });
    card.live.replaceChildren(thumb, video);
    play(name, video, playback, LIVE_HLS_CONFIG);
  }
  const thumb = card.live.querySelector("img.thumb");
  if (stream.latestThumbnail && thumb) {
    thumb.src = `${stream.latestThumbnail}?t=${Date.now()}`;
  }
  return card.root;
}

async function refreshChannels() {
  try {
    const { channels } = await getJson("/console/api/channels");
    const container = document.getElementById("channels");
    const cards = channels.map(renderChannel);
    container.replaceChildren(...cards);
    if (channels.length === 0) container.append(element("p", { class: "muted" }, "No channels yet: create one with the API or --channels."));
    const ingest = channels.length ? channels[0].ingestUrls.join(", ") : "";
    document.getElementById("ingest").textContent = ingest && `ingest: ${ingest}`;
  } catch (err) {
    console.warn(`channels: ${err.message}`);
  }
}

// ---- events ----

function watchEvents() {
  const state = document.getElementById("events-state");
  const list = document.getElementById("events");
  const source = new EventSource("/console/api/events");
  source.onopen = () => { state.textContent = "live"; };
  source.onerror = () => { state.textContent = "reconnecting…"; };
  source.addEventListener("ivs", (message) => {
    const event = JSON.parse(message.data);
    const detail = event.detail || {};
    const name = detail.event_name || detail.recording_status || event["detail-type"];
    const channel = detail.channel_name || (event.resources || [""])[0];
    const item = element("li", { class: /failure|failed/i.test(name) ? "error" : "" },
      `${event.time}  ${event["detail-type"]}: ${name}  ${channel}  ${detail.stream_id || ""}`);
    list.prepend(item);
    refreshChannels();
    if (event["detail-type"] === "IVS Recording State Change") refreshRecordings();
  });
  source.addEventListener("missed", (message) => {
    list.prepend(element("li", { class: "error" }, `${message.data} events missed`));
  });
}

// ---- recordings ----

const shownRecordings = new Map();

function renderRecording(bucket, recording) {
  const key = `${bucket}/${recording.prefix}`;
  const hls = recording.metadata && recording.metadata.media && recording.metadata.media.hls;
  const duration = hls ? `${(hls.duration_ms / 1000).toFixed(1)} s` : "";
  const renditions = hls ? hls.renditions.map((r) => `${r.path} (${r.resolution_width}x${r.resolution_height})`).join(", ") : "";
  const existing = shownRecordings.get(key);
  if (existing && existing.dataset.state === recording.state) return existing;
  const playerSlot = element("div");
  const root = element("div", { class: "card recording", "data-prefix": recording.prefix, "data-state": recording.state },
    element("h3", {}, element("span", { class: `badge ${recording.state}` }, recording.state), recording.startedAt || ""),
    definitions([
      ["Prefix", recording.prefix],
      ["Channel", recording.channelArn],
      ["Duration", duration],
      ["Renditions", renditions],
    ]),
    element("div", { class: "strip" }, ...recording.thumbnails.map((src) => element("img", { src, alt: "thumbnail", loading: "lazy" }))),
    recording.state === "RECORDING" ? null : element("button", {
      class: "play-recording",
      onclick: () => {
        const video = element("video", { class: "recording-player", controls: "", muted: "", playsinline: "" });
        playerSlot.replaceChildren(video);
        play(`recording:${recording.prefix}`, video, recording.playback, {});
      },
    }, "Play"),
    playerSlot);
  shownRecordings.set(key, root);
  return root;
}

async function refreshRecordings() {
  try {
    const { buckets } = await getJson("/console/api/recordings");
    const container = document.getElementById("recordings");
    container.replaceChildren(...buckets.map((bucket) => element("div", { class: "bucket" },
      element("h3", {}, `s3://${bucket.bucket}`, bucket.error ? element("span", { class: "muted" }, `  ${bucket.error}`) : null),
      element("div", { class: "cards" }, ...bucket.recordings.map((r) => renderRecording(bucket.bucket, r))))));
    if (buckets.length === 0) container.append(element("p", { class: "muted" }, "No recording configurations yet."));
  } catch (err) {
    console.warn(`recordings: ${err.message}`);
  }
}

refreshChannels();
refreshRecordings();
watchEvents();
setInterval(refreshChannels, 3000);
setInterval(refreshRecordings, 15000);
