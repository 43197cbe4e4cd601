//! Renditions made true to their codec: every rendition IVS records is H.264 video with AAC audio,
//! so a file whose video is not H.264 (HEVC, VP9, AV1, MPEG-2, MJPEG, …) is transcoded at its
//! own size wherever the ladder would pass it through, and audio that is not AAC (MP3, Opus,
//! PCM, MP2, …) is transcoded to AAC wherever it would pass through. Each change comes with a
//! sentence saying so. Pure.

use super::{AudioSource, Rendition, VideoSource};

/// The codecs of a source, by their libavcodec names (`h264`, `hevc`, `aac`, `mp3`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceCodecs<'a> {
    /// The video codec.
    pub video: &'a str,
    /// The audio codec, when there is audio.
    pub audio: Option<&'a str>,
}

/// AAC bitrate for audio transcoded where the source's would have passed through.
pub const SOURCE_AUDIO_BITRATE: u32 = 160_000;

/// The renditions after conforming them to H.264 / AAC, and one note per change.
#[derive(Debug, Clone, PartialEq)]
pub struct Conformed {
    /// The renditions, highest first (their names unchanged).
    pub renditions: Vec<Rendition>,
    /// What was changed, for a warning.
    pub notes: Vec<String>,
}

/// `renditions` with passthrough video transcoded when `codecs.video` is not H.264, and
/// passthrough audio transcoded when `codecs.audio` is not AAC.
pub fn conform(renditions: &[Rendition], codecs: SourceCodecs<'_>) -> Conformed {
    let video_ok = codecs.video == "h264";
    let audio_ok = codecs.audio.is_none_or(|audio| audio == "aac");
    let mut notes = Vec::new();
    let renditions = renditions
        .iter()
        .map(|rendition| {
            let mut rendition = rendition.clone();
            if !video_ok && rendition.video == VideoSource::Passthrough {
                let bitrate = source_size_bitrate(rendition.height, rendition.frame_rate);
                rendition.width &= !1;
                rendition.height &= !1;
                rendition.video = VideoSource::Transcoded { bitrate };
                notes.push(format!(
                    "the source video is {}, not H.264: rendition {} is transcoded to H.264 at {}x{}, {} kbps",
                    codecs.video,
                    rendition.name,
                    rendition.width,
                    rendition.height,
                    bitrate / 1000
                ));
            }
            if !audio_ok && rendition.audio == AudioSource::Passthrough {
                rendition.audio = AudioSource::Transcoded {
                    bitrate: SOURCE_AUDIO_BITRATE,
                };
                notes.push(format!(
                    "the source audio is {}, not AAC: rendition {} has it transcoded to AAC at {} kbps",
                    codecs.audio.unwrap_or_default(),
                    rendition.name,
                    SOURCE_AUDIO_BITRATE / 1000
                ));
            }
            rendition
        })
        .collect();
    Conformed { renditions, notes }
}

/// The H.264 bitrate for a source transcoded at its own size: IVS's rung bitrates where they
/// exist, and its ingest limit (8.5 Mbps) at the top.
fn source_size_bitrate(height: u32, frame_rate: f64) -> u32 {
    let high_rate = frame_rate > 30.5;
    let kbps = match height {
        0..=200 => 230,
        201..=360 => 630,
        361..=480 => 1400,
        481..=720 if high_rate => 3400,
        481..=720 => 2400,
        721..=1080 if high_rate => 6000,
        721..=1080 => 4500,
        _ => 8500,
    };
    kbps * 1000
}

#[cfg(test)]
mod tests {
    use super::super::{Ladder, SourceVideo};
    use super::*;
    use crate::model::ChannelType;

    fn ladder(channel_type: ChannelType, width: u32, height: u32, fps: f64) -> Vec<Rendition> {
        let source = SourceVideo {
            width,
            height,
            frame_rate: fps,
        };
        Ladder::plan(channel_type, None, source)
            .renditions()
            .to_vec()
    }

    fn summary(conformed: &Conformed) -> Vec<String> {
        conformed
            .renditions
            .iter()
            .map(|r| {
                let video = match r.video {
                    VideoSource::Passthrough => "src".to_owned(),
                    VideoSource::Transcoded { bitrate } => format!("{}", bitrate / 1000),
                };
                let audio = match r.audio {
                    AudioSource::Passthrough => "src".to_owned(),
                    AudioSource::Transcoded { bitrate } => format!("{}", bitrate / 1000),
                };
                format!("{} {}x{} v{video} a{audio}", r.name, r.width, r.height)
            })
            .collect()
    }

    #[test]
    fn h264_and_aac_are_left_alone() {
        let renditions = ladder(ChannelType::Standard, 1920, 1080, 30.0);
        let codecs = SourceCodecs {
            video: "h264",
            audio: Some("aac"),
        };
        let conformed = conform(&renditions, codecs);
        assert_eq!(conformed.renditions, renditions);
        assert!(conformed.notes.is_empty());
        let silent = conform(
            &renditions,
            SourceCodecs {
                video: "h264",
                audio: None,
            },
        );
        assert!(silent.notes.is_empty());
    }

    #[test]
    fn basic_hevc_is_transcoded_at_the_source_size() {
        let renditions = ladder(ChannelType::Basic, 1920, 1080, 30.0);
        let conformed = conform(
            &renditions,
            SourceCodecs {
                video: "hevc",
                audio: Some("aac"),
            },
        );
        assert_eq!(summary(&conformed), ["1080p30 1920x1080 v4500 asrc"]);
        assert_eq!(conformed.notes.len(), 1);
        assert!(
            conformed.notes[0].contains("hevc, not H.264"),
            "{:?}",
            conformed.notes
        );
    }

    #[test]
    fn standard_transcodes_only_its_passthrough_rung_and_audio() {
        let renditions = ladder(ChannelType::Standard, 1920, 1080, 60.0);
        let conformed = conform(
            &renditions,
            SourceCodecs {
                video: "vp9",
                audio: Some("mp3"),
            },
        );
        assert_eq!(
            summary(&conformed),
            [
                "1080p60 1920x1080 v6000 a160",
                "720p60 1280x720 v3400 a160",
                "480p30 852x480 v1400 a160",
                "360p30 640x360 v630 a64",
                "160p30 284x160 v230 a48",
            ]
        );
        // One note for the video, one per rendition whose audio passed through.
        assert_eq!(conformed.notes.len(), 4, "{:?}", conformed.notes);
    }

    #[test]
    fn odd_sizes_become_even_for_the_encoder() {
        let renditions = ladder(ChannelType::Basic, 641, 481, 25.0);
        let conformed = conform(
            &renditions,
            SourceCodecs {
                video: "mjpeg",
                audio: Some("pcm_s16le"),
            },
        );
        assert_eq!(summary(&conformed), ["481p25 640x480 v2400 a160"]);
    }
}
