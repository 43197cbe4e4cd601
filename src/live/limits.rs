//! Pure decisions about a live stream: the channel type's ingest limits (spec 8, D19) and whether
//! a reconnecting stream may continue the previous recording (spec 5, D10).

use std::time::Duration;

use crate::ingest::live::ProbedStream;
use crate::model::ChannelType;

/// Longest side of an accepted picture.
const MAX_EDGE: u32 = 1920;
/// Most pixels of an accepted picture (1080p).
const MAX_PIXELS: u64 = 1920 * 1080;
/// Most streams merged into one recording.
pub const MAX_MERGED_STREAMS: usize = 20;
/// A recording is not continued past this age.
pub const MAX_RECORDING_AGE: Duration = Duration::from_secs(48 * 3600);

/// What a channel type accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestLimits {
    /// Bits per second.
    pub max_bitrate_bps: u64,
}

impl IngestLimits {
    /// The limits of `channel_type`: 3.5 Mbps on BASIC, 8.5 Mbps otherwise; 1080p on all.
    pub fn for_channel(channel_type: ChannelType) -> Self {
        Self {
            max_bitrate_bps: match channel_type {
                ChannelType::Basic => 3_500_000,
                _ => 8_500_000,
            },
        }
    }
}

/// A limit a stream went over, as the `IVS Limit Breach` detail states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// `Ingest Bitrate` or `Ingest Resolution`.
    pub limit_name: &'static str,
    /// The limit.
    pub limit_value: u64,
    /// How far over it the stream was.
    pub exceeded_by: u64,
    /// `bits per second`, `total pixels` or `pixels per edge`.
    pub limit_unit: &'static str,
}

/// Whether a `width` x `height` picture is over the resolution limit.
pub fn resolution_breach(width: u32, height: u32) -> Option<Breach> {
    let edge = width.max(height);
    if edge > MAX_EDGE {
        return Some(Breach {
            limit_name: "Ingest Resolution",
            limit_value: u64::from(MAX_EDGE),
            exceeded_by: u64::from(edge - MAX_EDGE),
            limit_unit: "pixels per edge",
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    (pixels > MAX_PIXELS).then(|| Breach {
        limit_name: "Ingest Resolution",
        limit_value: MAX_PIXELS,
        exceeded_by: pixels - MAX_PIXELS,
        limit_unit: "total pixels",
    })
}

/// A measured bitrate over `limits`.
pub fn bitrate_breach(limits: IngestLimits, measured_bps: u64) -> Option<Breach> {
    (measured_bps > limits.max_bitrate_bps).then(|| Breach {
        limit_name: "Ingest Bitrate",
        limit_value: limits.max_bitrate_bps,
        exceeded_by: measured_bps - limits.max_bitrate_bps,
        limit_unit: "bits per second",
    })
}

/// The properties of a stream that decide merging.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamProfile {
    /// Width and height.
    pub size: (u32, u32),
    /// Frames per second.
    pub frame_rate: f64,
    /// Video and audio codec strings.
    pub codecs: (String, Option<String>),
    /// Video bitrate, bits per second (0 when unknown).
    pub bitrate_bps: u64,
}

impl StreamProfile {
    /// The profile of a probed stream; `measured_bps` stands in for an undeclared bitrate.
    pub fn of(probed: &ProbedStream, measured_bps: u64) -> Self {
        Self {
            size: (probed.width, probed.height),
            frame_rate: probed.frame_rate,
            codecs: (
                probed.video_codec.clone(),
                probed.audio.as_ref().map(|(codec, _)| codec.clone()),
            ),
            bitrate_bps: probed
                .metadata
                .video_bitrate_kbps
                .map_or(measured_bps, |kbps| u64::from(kbps) * 1000),
        }
    }
}

/// Why a reconnecting stream starts a new recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotMerged {
    /// Different width or height.
    Resolution,
    /// Different frame rate.
    FrameRate,
    /// Different video or audio codec.
    Codecs,
    /// Bitrate more than 50% away from the first stream's.
    Bitrate,
    /// Already 20 streams.
    TooManyStreams,
    /// The recording is 48 hours old.
    TooOld,
}

impl std::fmt::Display for NotMerged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Resolution => "its resolution differs",
            Self::FrameRate => "its frame rate differs",
            Self::Codecs => "its codecs differ",
            Self::Bitrate => "its bitrate is more than 50% away from the first stream's",
            Self::TooManyStreams => "the recording already merges 20 streams",
            Self::TooOld => "the recording is 48 hours old",
        })
    }
}

/// Whether `next` may continue a recording whose first stream was `first`, holding `streams`
/// streams and `age` old (D10).
pub fn merge_eligibility(
    first: &StreamProfile,
    next: &StreamProfile,
    streams: usize,
    age: Duration,
) -> Result<(), NotMerged> {
    if streams >= MAX_MERGED_STREAMS {
        return Err(NotMerged::TooManyStreams);
    }
    if age >= MAX_RECORDING_AGE {
        return Err(NotMerged::TooOld);
    }
    if first.size != next.size {
        return Err(NotMerged::Resolution);
    }
    if (first.frame_rate - next.frame_rate).abs() > 0.01 {
        return Err(NotMerged::FrameRate);
    }
    if first.codecs != next.codecs {
        return Err(NotMerged::Codecs);
    }
    if first.bitrate_bps > 0 && next.bitrate_bps > 0 {
        let difference = first.bitrate_bps.abs_diff(next.bitrate_bps);
        if difference * 2 > first.bitrate_bps {
            return Err(NotMerged::Bitrate);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> StreamProfile {
        StreamProfile {
            size: (1280, 720),
            frame_rate: 30.0,
            codecs: ("avc1.64001F".to_owned(), Some("mp4a.40.2".to_owned())),
            bitrate_bps: 2_000_000,
        }
    }

    #[test]
    fn resolution_limits() {
        assert_eq!(resolution_breach(1920, 1080), None);
        assert_eq!(
            resolution_breach(1080, 1920),
            None,
            "portrait 1080p is fine"
        );
        let edge = resolution_breach(2560, 1080).unwrap();
        assert_eq!(
            (edge.limit_unit, edge.limit_value, edge.exceeded_by),
            ("pixels per edge", 1920, 640)
        );
        let pixels = resolution_breach(1920, 1440).unwrap();
        assert_eq!(
            (pixels.limit_unit, pixels.exceeded_by),
            ("total pixels", 1920 * 360)
        );
    }

    #[test]
    fn bitrate_limits_per_channel_type() {
        let basic = IngestLimits::for_channel(ChannelType::Basic);
        assert_eq!(bitrate_breach(basic, 3_500_000), None);
        let breach = bitrate_breach(basic, 4_000_000).unwrap();
        assert_eq!(
            (breach.limit_name, breach.exceeded_by),
            ("Ingest Bitrate", 500_000)
        );
        let standard = IngestLimits::for_channel(ChannelType::Standard);
        assert_eq!(bitrate_breach(standard, 8_000_000), None);
    }

    #[test]
    fn merge_rules_of_d10() {
        let first = profile();
        let age = Duration::from_secs(60);
        assert_eq!(merge_eligibility(&first, &first, 1, age), Ok(()));
        let within = StreamProfile {
            bitrate_bps: 2_900_000,
            ..profile()
        };
        assert_eq!(merge_eligibility(&first, &within, 1, age), Ok(()));
        let cases = [
            (
                StreamProfile {
                    size: (1920, 1080),
                    ..profile()
                },
                NotMerged::Resolution,
            ),
            (
                StreamProfile {
                    frame_rate: 60.0,
                    ..profile()
                },
                NotMerged::FrameRate,
            ),
            (
                StreamProfile {
                    codecs: ("avc1.64001F".to_owned(), None),
                    ..profile()
                },
                NotMerged::Codecs,
            ),
            (
                StreamProfile {
                    bitrate_bps: 3_100_000,
                    ..profile()
                },
                NotMerged::Bitrate,
            ),
        ];
        for (next, why) in cases {
            assert_eq!(merge_eligibility(&first, &next, 1, age), Err(why));
        }
        assert_eq!(
            merge_eligibility(&first, &first, 20, age),
            Err(NotMerged::TooManyStreams)
        );
        assert_eq!(
            merge_eligibility(&first, &first, 1, MAX_RECORDING_AGE),
            Err(NotMerged::TooOld)
        );
    }
}
