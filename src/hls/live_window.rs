//! Live playback of one stream, served from memory: the last GOPs of every rendition, each GOP a
//! live segment of its own (it starts with PAT, PMT, its ID3 tag and an IDR, so it decodes
//! alone), a sliding-window media playlist per rendition (no ENDLIST while live) and the
//! multivariant playlist over them. The recording's [`super::output::HlsOutput`] feeds it as GOPs
//! close; `serve` answers the channel's `playbackUrl` from it.
//!
//! Viewers: every fetch of the multivariant playlist hands out a new player token, carried in the
//! variant URIs (`?player=…`); a player counts while it fetched a media playlist within
//! [`VIEWER_TIMEOUT`].

use std::collections::{HashMap, VecDeque};
use std::fmt::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use time::OffsetDateTime;

use super::playlist::{Variant, multivariant_lines, program_date_time, wall_clock_at};

/// GOPs listed in a live media playlist.
pub const WINDOW_GOPS: usize = 5;
/// GOPs kept in memory per rendition (a few more than listed, for players a little behind).
const KEPT_GOPS: usize = WINDOW_GOPS + 3;
/// A player stops counting as a viewer when it has not fetched a playlist for this long.
pub const VIEWER_TIMEOUT: Duration = Duration::from_secs(10);

/// One closed GOP of a rendition, as a live segment.
#[derive(Debug, Clone)]
pub struct LiveGop {
    /// Running GOP number of the recording (the media sequence number).
    pub index: u64,
    /// Start on the recording's media timeline, in ms.
    pub start_ms: u64,
    /// Duration in ms.
    pub duration_ms: u64,
    /// Wall-clock time of its first frame (`#EXT-X-PROGRAM-DATE-TIME`).
    pub at: OffsetDateTime,
    /// Its transport-stream bytes.
    pub bytes: Bytes,
    /// `avc1.…` of its SPS, when it carries one.
    pub video_codec: Option<String>,
}

impl LiveGop {
    /// A GOP starting at `start_ms` on the media timeline of a recording whose first frame was
    /// at `first_frame_at` and that lost `gap_ms` of wall clock between merged streams.
    pub fn new(
        index: u64,
        (start_ms, duration_ms): (u64, u64),
        (first_frame_at, gap_ms): (OffsetDateTime, u64),
        bytes: Vec<u8>,
        video_codec: Option<String>,
    ) -> Self {
        Self {
            index,
            start_ms,
            duration_ms,
            at: wall_clock_at(first_frame_at, start_ms, gap_ms),
            bytes: Bytes::from(bytes),
            video_codec,
        }
    }
}

/// A rendition of the live stream.
#[derive(Debug)]
struct LiveRendition {
    variant: Variant,
    audio_codec: Option<String>,
    video_codec: Option<String>,
    gops: VecDeque<LiveGop>,
    /// Bytes and ms of every GOP so far (the measured bandwidth).
    bytes: u64,
    millis: u64,
}

#[derive(Debug, Default)]
struct WindowState {
    content_id: String,
    customer_id: String,
    renditions: Vec<LiveRendition>,
    viewers: HashMap<String, Instant>,
    next_player: u64,
    /// The bucket and prefix the stream is recorded at.
    recorded_at: Option<(String, String)>,
}

impl WindowState {
    fn is_playable(&self) -> bool {
        !self.renditions.is_empty() && self.renditions.iter().all(|r| !r.gops.is_empty())
    }
}

/// The live renditions of one stream.
#[derive(Debug, Default)]
pub struct LiveWindow {
    state: Mutex<WindowState>,
    /// Woken at every new GOP (blocking playlist reloads wait on it).
    changed: tokio::sync::Notify,
}

/// A blocking reload asked for a GOP too far ahead (more than two past the newest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooFarAhead;

impl LiveWindow {
    /// A window with no rendition yet (not playable until [`Self::start`] and the first GOPs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the renditions (highest first) and the ids the multivariant playlist carries; a
    /// stream merged after a reconnect starts them anew.
    pub fn start(
        &self,
        renditions: Vec<(Variant, Option<String>)>,
        content_id: &str,
        customer_id: &str,
    ) {
        let mut state = self.lock();
        state.content_id = content_id.to_owned();
        state.customer_id = customer_id.to_owned();
        state.renditions = renditions
            .into_iter()
            .map(|(variant, audio_codec)| LiveRendition {
                variant,
                audio_codec,
                video_codec: None,
                gops: VecDeque::new(),
                bytes: 0,
                millis: 0,
            })
            .collect();
    }

    /// Notes where the stream is recorded (bucket, prefix): its latest thumbnail is there.
    pub fn set_recorded_at(&self, bucket: &str, prefix: &str) {
        self.lock().recorded_at = Some((bucket.to_owned(), prefix.to_owned()));
    }

    /// The bucket and prefix the stream is recorded at.
    pub fn recorded_at(&self) -> Option<(String, String)> {
        self.lock().recorded_at.clone()
    }

    /// Adds a closed GOP of rendition number `rendition`.
    pub fn push(&self, rendition: usize, gop: LiveGop) {
        let mut state = self.lock();
        let Some(live) = state.renditions.get_mut(rendition) else {
            return;
        };
        if live.video_codec.is_none() {
            live.video_codec.clone_from(&gop.video_codec);
        }
        live.bytes += gop.bytes.len() as u64;
        live.millis += gop.duration_ms;
        live.gops.push_back(gop);
        while live.gops.len() > KEPT_GOPS {
            live.gops.pop_front();
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// A blocking playlist reload (`_HLS_msn=msn`): waits until rendition `name` has GOP `msn`,
    /// at most `timeout`; `Err` when `msn` is more than two GOPs past the newest.
    pub async fn wait_for_gop(
        &self,
        name: &str,
        msn: u64,
        timeout: Duration,
    ) -> Result<(), TooFarAhead> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let newest = {
                let state = self.lock();
                let Some(live) = state.renditions.iter().find(|r| r.variant.name == name) else {
                    return Ok(());
                };
                live.gops.back().map(|gop| gop.index)
            };
            match newest {
                Some(newest) if newest >= msn => return Ok(()),
                Some(newest) if msn > newest + 2 => return Err(TooFarAhead),
                _ => {}
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(());
            }
        }
    }

    /// Whether every rendition has a GOP (the multivariant playlist is served).
    pub fn is_playable(&self) -> bool {
        self.lock().is_playable()
    }

    /// The multivariant playlist, variant URIs relative to it (`<stem>/<rendition>.m3u8`) and
    /// carrying a new player token; `None` until every rendition has a GOP.
    pub fn multivariant(&self, stem: &str) -> Option<String> {
        let mut state = self.lock();
        if !state.is_playable() {
            return None;
        }
        state.next_player += 1;
        let player = format!("{:x}{:08x}", state.next_player, rand::random::<u32>());
        let variants: Vec<Variant> = state
            .renditions
            .iter()
            .map(|live| Variant {
                bandwidth: (live.bytes * 8 * 1000)
                    .checked_div(live.millis)
                    .unwrap_or(0),
                codecs: std::iter::once(
                    live.video_codec
                        .clone()
                        .unwrap_or_else(|| "avc1.4D401F".to_owned()),
                )
                .chain(live.audio_codec.clone())
                .collect::<Vec<_>>()
                .join(","),
                ..live.variant.clone()
            })
            .collect();
        let lines = multivariant_lines(&variants, &state.content_id, &state.customer_id, |v| {
            format!("{stem}/{}.m3u8?player={player}", v.name)
        });
        Some(lines.join("\n") + "\n")
    }

    /// The live media playlist of rendition `name`: the last [`WINDOW_GOPS`] GOPs, segment URIs
    /// relative to it (`<rendition>/<index>.ts`). Counts `player` as watching.
    pub fn media_playlist(&self, name: &str, player: Option<&str>) -> Option<String> {
        let mut state = self.lock();
        if let Some(player) = player.filter(|p| !p.is_empty() && p.len() <= 64) {
            state.viewers.insert(player.to_owned(), Instant::now());
        }
        let live = state.renditions.iter().find(|r| r.variant.name == name)?;
        let skip = live.gops.len().saturating_sub(WINDOW_GOPS);
        let listed: Vec<&LiveGop> = live.gops.iter().skip(skip).collect();
        let first = listed.first()?;
        let target = listed
            .iter()
            .map(|gop| gop.duration_ms)
            .max()
            .unwrap_or(1000)
            .div_ceil(1000)
            .max(1);
        let mut out = String::new();
        let _ = writeln!(out, "#EXTM3U");
        let _ = writeln!(out, "#EXT-X-VERSION:3");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
        let _ = writeln!(out, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES");
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", first.index);
        for gop in listed {
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}",
                program_date_time(gop.at)
            );
            let _ = writeln!(
                out,
                "#EXTINF:{}.{:03},",
                gop.duration_ms / 1000,
                gop.duration_ms % 1000
            );
            let _ = writeln!(out, "{name}/{}.ts", gop.index);
        }
        Some(out)
    }

    /// The bytes of GOP `index` of rendition `name`, while it is kept.
    pub fn segment(&self, name: &str, index: u64) -> Option<Bytes> {
        let state = self.lock();
        let live = state.renditions.iter().find(|r| r.variant.name == name)?;
        live.gops
            .iter()
            .find(|gop| gop.index == index)
            .map(|gop| gop.bytes.clone())
    }

    /// Players that fetched a media playlist within [`VIEWER_TIMEOUT`].
    pub fn viewer_count(&self) -> usize {
        let mut state = self.lock();
        state
            .viewers
            .retain(|_, seen| seen.elapsed() < VIEWER_TIMEOUT);
        state.viewers.len()
    }

    /// Names of the renditions, highest first.
    pub fn rendition_names(&self) -> Vec<String> {
        self.lock()
            .renditions
            .iter()
            .map(|live| live.variant.name.clone())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, WindowState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn variant(name: &str, height: u32) -> Variant {
        Variant {
            name: name.into(),
            bandwidth: 0,
            codecs: String::new(),
            width: height * 16 / 9,
            height,
        }
    }

    fn gop(index: u64) -> LiveGop {
        LiveGop::new(
            index,
            (index * 2000, 2000),
            (datetime!(2026-12-02 10:00:00 UTC), 0),
            vec![0x47; 188 * 10],
            Some("avc1.42C01E".into()),
        )
    }

    fn window() -> LiveWindow {
        let window = LiveWindow::new();
        window.start(
            vec![
                (variant("480p30", 480), Some("mp4a.40.2".into())),
                (variant("160p30", 160), Some("mp4a.40.2".into())),
            ],
            "abc",
            "123456789012",
        );
        window
    }

    #[test]
    fn is_not_playable_until_every_rendition_has_a_gop() {
        let window = window();
        assert!(window.multivariant("x").is_none());
        window.push(0, gop(0));
        assert!(window.multivariant("x").is_none());
        window.push(1, gop(0));
        let master = window.multivariant("us-west-2.1.channel.abc").unwrap();
        assert!(master.contains("RESOLUTION=853x480"), "{master}");
        assert!(
            master.contains("BANDWIDTH=7520,CODECS=\"avc1.42C01E,mp4a.40.2\""),
            "{master}"
        );
        assert!(master.contains("\nus-west-2.1.channel.abc/480p30.m3u8?player="));
        assert!(master.contains("\nus-west-2.1.channel.abc/160p30.m3u8?player="));
    }

    #[test]
    fn slides_over_the_last_gops_without_an_endlist() {
        let window = window();
        for index in 0..9 {
            window.push(0, gop(index));
        }
        let playlist = window.media_playlist("480p30", None).unwrap();
        assert!(playlist.contains("#EXT-X-MEDIA-SEQUENCE:4\n"), "{playlist}");
        assert!(playlist.contains("#EXT-X-TARGETDURATION:2\n"));
        assert_eq!(playlist.matches("#EXTINF:2.000,").count(), WINDOW_GOPS);
        assert!(playlist.contains("480p30/4.ts\n") && playlist.contains("480p30/8.ts\n"));
        assert!(playlist.contains("#EXT-X-PROGRAM-DATE-TIME:2026-12-02T10:00:08.000Z"));
        assert!(!playlist.contains("ENDLIST"));
        assert_eq!(window.segment("480p30", 8).unwrap().len(), 1880);
        assert!(window.segment("480p30", 0).is_none(), "dropped from memory");
        assert!(
            window.segment("480p30", 1).is_some(),
            "kept a little longer"
        );
        assert!(window.media_playlist("720p30", None).is_none());
    }

    #[tokio::test]
    async fn a_blocking_reload_waits_for_the_gop_it_names() {
        let window = std::sync::Arc::new(window());
        window.push(0, gop(0));
        let long = Duration::from_secs(5);
        assert_eq!(window.wait_for_gop("480p30", 0, long).await, Ok(()));
        assert_eq!(
            window.wait_for_gop("480p30", 3, long).await,
            Err(TooFarAhead)
        );
        let pusher = {
            let window = window.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                window.push(0, gop(1));
            })
        };
        let started = Instant::now();
        assert_eq!(window.wait_for_gop("480p30", 1, long).await, Ok(()));
        assert!(started.elapsed() < long, "woken by the new GOP");
        pusher.await.unwrap();
        assert!(
            window
                .media_playlist("480p30", None)
                .unwrap()
                .contains("480p30/1.ts")
        );
        // Nothing new: answered after the timeout with what there is.
        let short = Duration::from_millis(30);
        assert_eq!(window.wait_for_gop("480p30", 2, short).await, Ok(()));
    }

    #[test]
    fn counts_distinct_players() {
        let window = window();
        window.push(0, gop(0));
        window.media_playlist("480p30", Some("a"));
        window.media_playlist("480p30", Some("a"));
        window.media_playlist("160p30", Some("b"));
        window.media_playlist("160p30", None);
        assert_eq!(window.viewer_count(), 2);
    }
}
