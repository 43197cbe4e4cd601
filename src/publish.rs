//! `ivs-recorder publish`: a light RTMP(S) publisher. It replays a file's packets (stream copy,
//! no decoding) to an ingest URL at real time, `count` copies at once, optionally looping the
//! file with timestamps that keep rising: offline replay of sample streams into any RTMP server
//! (IVS's own ingest included), and a load generator for `serve` whose publishers cost little CPU.
//!
//! Each copy runs on its own thread with its own input and connection (libavformat's FLV muxer
//! over its `rtmp://` / `rtmps://` protocols).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ffmpeg::util::mathematics::rescale::Rescale as _;
use ffmpeg_next as ffmpeg;

use crate::av::parameters::without_codec_tag;

/// What to publish.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The media file (H.264 and AAC, as an ingest expects them).
    pub input: PathBuf,
    /// The ingest URL; `{n}` is replaced by the copy's number (1, 2, …).
    pub url: String,
    /// Copies published at once.
    pub count: u32,
    /// Start the file again at its end, forever.
    pub looped: bool,
}

/// What one copy did.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyReport {
    /// Where it published.
    pub url: String,
    /// Packets sent.
    pub packets: u64,
    /// Media sent, in seconds.
    pub media_seconds: f64,
    /// How far behind real time it fell at worst, in ms: the connection or the server too slow
    /// (or packets stored out of time order in the file).
    pub max_lag_ms: u64,
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Several copies need a URL that differs per copy.
    #[error(
        "{count} copies need a URL with {{n}} in it (each copy publishes to its own stream key), got {url}"
    )]
    SameUrl {
        /// The copies asked for.
        count: u32,
        /// The URL given.
        url: String,
    },
    /// The input could not be opened.
    #[error("cannot open {} as media", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What libavformat said.
        #[source]
        source: ffmpeg::Error,
    },
    /// The input has no video.
    #[error("{} has no video stream to publish", path.display())]
    NoVideo {
        /// The file.
        path: PathBuf,
    },
    /// The server could not be reached or refused the publish.
    #[error("cannot publish to {url} (unreachable, or the stream key was refused)")]
    Connect {
        /// The URL.
        url: String,
        /// What libavformat said.
        #[source]
        source: ffmpeg::Error,
    },
    /// The connection broke while publishing.
    #[error("publishing to {url} stopped after {at_seconds:.3} s of media")]
    Send {
        /// The URL.
        url: String,
        /// How far it got.
        at_seconds: f64,
        /// What libavformat said.
        #[source]
        source: ffmpeg::Error,
    },
    /// A copy's thread panicked (a bug).
    #[error("the publisher thread for {0} panicked")]
    Panicked(String),
}

/// The URL of each copy: `template` with `{n}` replaced by 1..=count.
pub fn copy_urls(template: &str, count: u32) -> Result<Vec<String>, PublishError> {
    if count > 1 && !template.contains("{n}") {
        return Err(PublishError::SameUrl {
            count,
            url: template.to_owned(),
        });
    }
    Ok((1..=count.max(1))
        .map(|n| template.replace("{n}", &n.to_string()))
        .collect())
}

/// Publishes `options.count` copies at once; returns when every copy has ended (never with
/// `looped`, unless a connection breaks).
pub fn publish(options: &PublishOptions) -> Result<Vec<CopyReport>, PublishError> {
    crate::av::init();
    let urls = copy_urls(&options.url, options.count)?;
    // Refuse an unusable input once, before any connection.
    drop(open_input(&options.input)?);
    let threads: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let (input, looped) = (options.input.clone(), options.looped);
            let name = url.clone();
            (
                name,
                std::thread::Builder::new()
                    .name("publisher".into())
                    .spawn(move || publish_copy(&input, &url, looped)),
            )
        })
        .collect();
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for (url, thread) in threads {
        let outcome = match thread {
            Ok(handle) => handle.join().unwrap_or(Err(PublishError::Panicked(url))),
            Err(_) => Err(PublishError::Panicked(url)),
        };
        match outcome {
            Ok(report) => reports.push(report),
            Err(err) => errors.push(err),
        }
    }
    if reports.is_empty() && !errors.is_empty() {
        return Err(errors.swap_remove(0));
    }
    for err in &errors {
        tracing::warn!("{}", crate::error::error_chain(err));
    }
    Ok(reports)
}

/// The input and the indexes of its video and (first) audio streams.
struct Source {
    input: ffmpeg::format::context::Input,
    video: usize,
    audio: Option<usize>,
}

fn open_input(path: &Path) -> Result<Source, PublishError> {
    let input = ffmpeg::format::input(path).map_err(|source| PublishError::Open {
        path: path.to_owned(),
        source,
    })?;
    let video = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| PublishError::NoVideo {
            path: path.to_owned(),
        })?
        .index();
    let audio = input
        .streams()
        .best(ffmpeg::media::Type::Audio)
        .map(|s| s.index());
    Ok(Source {
        input,
        video,
        audio,
    })
}

/// Microseconds, the unit the pacing and looping offsets are kept in.
const MICROS: ffmpeg::Rational = ffmpeg::Rational(1, 1_000_000);

fn publish_copy(path: &Path, url: &str, looped: bool) -> Result<CopyReport, PublishError> {
    let connect = |source| PublishError::Connect {
        url: url.to_owned(),
        source,
    };
    let mut source = open_input(path)?;
    let mut output = ffmpeg::format::output_as(url, "flv").map_err(connect)?;
    let mut mapping = vec![None; source.input.streams().count()];
    for (slot, index) in [Some(source.video), source.audio]
        .into_iter()
        .flatten()
        .enumerate()
    {
        let parameters = source
            .input
            .stream(index)
            .map(|s| without_codec_tag(&s.parameters()))
            .ok_or(PublishError::NoVideo {
                path: path.to_owned(),
            })?;
        let mut stream = output
            .add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None))
            .map_err(connect)?;
        stream.set_parameters(parameters);
        mapping[index] = Some(slot);
    }
    output.write_header().map_err(connect)?;
    let mut report = CopyReport {
        url: url.to_owned(),
        packets: 0,
        media_seconds: 0.0,
        max_lag_ms: 0,
    };
    let started = Instant::now();
    // Added to every timestamp of the current pass over the file, in µs.
    let mut offset_us = 0_i64;
    loop {
        let mut first_us: Option<i64> = None;
        let mut end_us = offset_us;
        for (stream, mut packet) in source.input.packets() {
            let Some(slot) = mapping.get(stream.index()).copied().flatten() else {
                continue;
            };
            let input_base = stream.time_base();
            let Some(dts) = packet.dts().or(packet.pts()) else {
                continue;
            };
            let at_us = dts.rescale(input_base, MICROS);
            let first = *first_us.get_or_insert(at_us);
            let media_us = offset_us + (at_us - first);
            // Real time: the packet goes out when the clock reaches its media time.
            let due = Duration::from_micros(u64::try_from(media_us).unwrap_or(0));
            match due.checked_sub(started.elapsed()) {
                Some(wait) => std::thread::sleep(wait),
                None => {
                    let lag = started.elapsed().saturating_sub(due).as_millis();
                    report.max_lag_ms = report.max_lag_ms.max(lag as u64);
                }
            }
            let output_base = output
                .stream(slot)
                .map_or(ffmpeg::Rational(1, 1000), |s| s.time_base());
            let shift = (offset_us - first).rescale(MICROS, input_base);
            packet.set_dts(packet.dts().map(|t| t + shift));
            packet.set_pts(packet.pts().map(|t| t + shift));
            packet.rescale_ts(input_base, output_base);
            packet.set_stream(slot);
            packet.set_position(-1);
            let duration_us = packet.duration().rescale(output_base, MICROS).max(1);
            end_us = end_us.max(media_us + duration_us);
            packet
                .write_interleaved(&mut output)
                .map_err(|source| PublishError::Send {
                    url: url.to_owned(),
                    at_seconds: media_us as f64 / 1e6,
                    source,
                })?;
            report.packets += 1;
            report.media_seconds = end_us as f64 / 1e6;
        }
        if !looped {
            break;
        }
        offset_us = end_us;
        source = open_input(path)?;
    }
    output
        .write_trailer()
        .map_err(|source| PublishError::Send {
            url: url.to_owned(),
            at_seconds: report.media_seconds,
            source,
        })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_copy_gets_its_own_url() {
        assert_eq!(
            copy_urls("rtmp://h/app/sk_{n}", 3).unwrap(),
            [
                "rtmp://h/app/sk_1",
                "rtmp://h/app/sk_2",
                "rtmp://h/app/sk_3"
            ]
        );
        assert_eq!(copy_urls("rtmp://h/app/k", 1).unwrap(), ["rtmp://h/app/k"]);
        assert!(
            copy_urls("rtmp://h/app/k", 2)
                .unwrap_err()
                .to_string()
                .contains("need a URL with {n}")
        );
    }
}
