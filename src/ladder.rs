//! The rendition ladder: which renditions a channel type makes from an input (spec 3.3), which of
//! them a recording configuration selects (D3–D5), and the thumbnail size (D8). Pure.

use crate::model::{
    ChannelType, Preset, RenditionConfiguration, RenditionSelection, ResolutionClass,
};

mod conform;
pub use conform::{Conformed, SOURCE_AUDIO_BITRATE, SourceCodecs, conform};

/// The input video the ladder is built from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceVideo {
    /// Coded width in pixels.
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
    /// Frames per second.
    pub frame_rate: f64,
}

impl SourceVideo {
    /// Above 30 fps, IVS uses its 60 fps rungs.
    fn is_high_frame_rate(&self) -> bool {
        self.frame_rate > 30.5
    }

    /// The width of a rung `height` pixels tall with the source's aspect ratio, rounded down to
    /// even (1920x1080 gives 284, 640, 852 and 1280, IVS's widths).
    fn width_at(&self, height: u32) -> u32 {
        let exact = u64::from(height) * u64::from(self.width) / u64::from(self.height.max(1));
        u32::try_from(exact).unwrap_or(u32::MAX) & !1
    }
}

/// Where a rendition's video comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSource {
    /// The source packets, untouched.
    Passthrough,
    /// Decoded, scaled and re-encoded at `bitrate` bits per second.
    Transcoded {
        /// Target video bitrate.
        bitrate: u32,
    },
}

/// Whether any of `renditions` is transcoded: the ladder then decodes every source frame (and
/// thumbnails take theirs from it).
pub fn decodes_every_frame(renditions: &[Rendition]) -> bool {
    renditions
        .iter()
        .any(|r| matches!(r.video, VideoSource::Transcoded { .. }))
}

/// What a rendition does with the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioSource {
    /// The source audio, untouched.
    Passthrough,
    /// Re-encoded to AAC at `bitrate` bits per second.
    Transcoded {
        /// Target audio bitrate.
        bitrate: u32,
    },
}

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    /// Folder name, e.g. `720p30` (D1 for the source rendition).
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Output frame rate (never above the source's).
    pub frame_rate: f64,
    /// Passthrough or transcoded video.
    pub video: VideoSource,
    /// Passthrough or transcoded audio.
    pub audio: AudioSource,
}

/// The renditions a channel produces from one input, highest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Ladder {
    renditions: Vec<Rendition>,
}

impl Ladder {
    /// The ladder `channel_type` (with `preset` on ADVANCED types) makes from `source`.
    ///
    /// ```
    /// use ivs_recorder::ladder::{Ladder, SourceVideo};
    /// use ivs_recorder::model::ChannelType;
    /// let source = SourceVideo { width: 1280, height: 720, frame_rate: 30.0 };
    /// let ladder = Ladder::plan(ChannelType::Standard, None, source);
    /// let names: Vec<&str> = ladder.renditions().iter().map(|r| r.name.as_str()).collect();
    /// assert_eq!(names, ["720p30", "480p30", "360p30", "160p30"]);
    /// ```
    pub fn plan(channel_type: ChannelType, preset: Option<Preset>, source: SourceVideo) -> Self {
        let constrained = preset == Some(Preset::ConstrainedBandwidthDelivery);
        let renditions = match channel_type {
            ChannelType::Basic => vec![passthrough(source)],
            ChannelType::Standard => standard(source),
            ChannelType::AdvancedHd => advanced_hd(source, constrained),
            ChannelType::AdvancedSd => advanced_sd(source, constrained),
        };
        Self { renditions }
    }

    /// Every rendition, highest first.
    pub fn renditions(&self) -> &[Rendition] {
        &self.renditions
    }

    /// The renditions a recording configuration records (D3–D5), highest first.
    pub fn select(
        &self,
        channel_type: ChannelType,
        config: &RenditionConfiguration,
    ) -> Vec<Rendition> {
        if channel_type == ChannelType::Basic {
            // D5: CUSTOM has no effect on BASIC; NONE still records nothing.
            return match config.rendition_selection {
                RenditionSelection::None => Vec::new(),
                _ => self.renditions.clone(),
            };
        }
        match config.rendition_selection {
            RenditionSelection::All => self.renditions.clone(),
            RenditionSelection::None => Vec::new(),
            RenditionSelection::Custom => {
                let mut chosen: Vec<&Rendition> = Vec::new();
                for class in &config.renditions {
                    for rendition in self.best_available(*class) {
                        if !chosen.iter().any(|r| r.name == rendition.name) {
                            chosen.push(rendition);
                        }
                    }
                }
                // Keep ladder order: highest first.
                self.renditions
                    .iter()
                    .filter(|r| chosen.iter().any(|c| c.name == r.name))
                    .cloned()
                    .collect()
            }
        }
    }

    /// D3: the renditions of `class`; else the highest below it; else the lowest above it.
    /// `LOWEST_RESOLUTION` is the single lowest rung.
    fn best_available(&self, class: ResolutionClass) -> Vec<&Rendition> {
        if class == ResolutionClass::LowestResolution {
            return self.renditions.last().into_iter().collect();
        }
        let in_class: Vec<&Rendition> = self
            .renditions
            .iter()
            .filter(|r| class.contains(r.height))
            .collect();
        if !in_class.is_empty() {
            return in_class;
        }
        let range = class.height_range();
        let below = self.renditions.iter().find(|r| r.height < *range.start());
        let above = self
            .renditions
            .iter()
            .rev()
            .find(|r| r.height > *range.end());
        below.or(above).into_iter().collect()
    }

    /// D8: the thumbnail size: the rendition of the selected class when the ladder has one
    /// (the lowest rung for `LOWEST_RESOLUTION`, else the highest in the class), otherwise the
    /// source size.
    pub fn thumbnail_size(
        &self,
        resolution: Option<ResolutionClass>,
        source: SourceVideo,
    ) -> (u32, u32) {
        let in_class = |class: ResolutionClass| {
            self.renditions
                .iter()
                .filter(move |r| class.contains(r.height))
        };
        let rendition = match resolution {
            None => None,
            Some(ResolutionClass::LowestResolution) => {
                in_class(ResolutionClass::LowestResolution).next_back()
            }
            Some(class) => in_class(class).next(),
        };
        rendition.map_or((source.width, source.height), |r| (r.width, r.height))
    }
}

/// D1: the source rendition is named `<height>p<round(fps)>`.
fn passthrough(source: SourceVideo) -> Rendition {
    Rendition {
        name: format!("{}p{}", source.height, source.frame_rate.round() as u32),
        width: source.width,
        height: source.height,
        frame_rate: source.frame_rate,
        video: VideoSource::Passthrough,
        audio: AudioSource::Passthrough,
    }
}

/// A transcoded rung `height` tall at `fps` (capped at the source's), named `<height>p<fps>`.
fn rung(
    source: SourceVideo,
    height: u32,
    fps: u32,
    video_kbps: u32,
    audio: AudioSource,
) -> Rendition {
    Rendition {
        name: format!("{height}p{fps}"),
        width: source.width_at(height),
        height,
        frame_rate: f64::from(fps).min(source.frame_rate),
        video: VideoSource::Transcoded {
            bitrate: video_kbps * 1000,
        },
        audio,
    }
}

fn aac(kbps: u32) -> AudioSource {
    AudioSource::Transcoded {
        bitrate: kbps * 1000,
    }
}

/// Keeps the rungs no taller than the source; with none left, the source itself.
fn capped_at_source(source: SourceVideo, rungs: Vec<Rendition>) -> Vec<Rendition> {
    let kept: Vec<Rendition> = rungs
        .into_iter()
        .filter(|r| r.height <= source.height)
        .collect();
    if kept.is_empty() {
        vec![passthrough(source)]
    } else {
        kept
    }
}

/// STANDARD: source passthrough above 720p; 720p at the source's frame-rate class; 480p, 360p,
/// 160p. Audio passes through above 360p and is AAC at and below.
fn standard(source: SourceVideo) -> Vec<Rendition> {
    let high = source.is_high_frame_rate();
    let hd = if high {
        rung(source, 720, 60, 3400, AudioSource::Passthrough)
    } else {
        rung(source, 720, 30, 2400, AudioSource::Passthrough)
    };
    let lower = || {
        vec![
            rung(source, 480, 30, 1400, AudioSource::Passthrough),
            rung(source, 360, 30, 630, aac(64)),
            rung(source, 160, 30, 230, aac(48)),
        ]
    };
    let mut renditions = Vec::new();
    if source.height > 720 {
        renditions.push(passthrough(source));
    }
    if source.height >= 720 {
        renditions.push(hd);
    }
    renditions.extend(lower());
    capped_at_source(source, renditions)
}

/// ADVANCED_HD: 720p (or the source transcoded between 480p and 720p), 480p, 360p, 160p; audio
/// always transcoded.
fn advanced_hd(source: SourceVideo, constrained: bool) -> Vec<Rendition> {
    let kbps = |higher: u32, lower: u32| if constrained { lower } else { higher };
    let mut renditions = Vec::new();
    if source.height >= 720 {
        renditions.push(if source.is_high_frame_rate() {
            rung(source, 720, 60, kbps(3000, 2200), aac(128))
        } else {
            rung(source, 720, 30, kbps(2300, 1900), aac(128))
        });
    } else if source.height > 480 {
        let fps = source.frame_rate.round() as u32;
        renditions.push(rung(
            source,
            source.height & !1,
            fps,
            kbps(2300, 1900),
            aac(128),
        ));
    }
    renditions.extend(advanced_sd(source, constrained));
    capped_at_source(source, renditions)
}

/// ADVANCED_SD: 480p, 360p, 160p, never above the input; audio always transcoded.
fn advanced_sd(source: SourceVideo, constrained: bool) -> Vec<Rendition> {
    let kbps = |higher: u32, lower: u32| if constrained { lower } else { higher };
    capped_at_source(
        source,
        vec![
            rung(source, 480, 30, kbps(1300, 800), aac(128)),
            rung(source, 360, 30, kbps(700, 400), aac(64)),
            rung(source, 160, 30, kbps(270, 220), aac(48)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChannelType::*;
    use ResolutionClass::*;

    fn source(width: u32, height: u32, frame_rate: f64) -> SourceVideo {
        SourceVideo {
            width,
            height,
            frame_rate,
        }
    }

    /// `name@kbps` per rung (`src` for passthrough), highest first.
    fn summary(ladder: &Ladder) -> Vec<String> {
        ladder
            .renditions()
            .iter()
            .map(|r| match r.video {
                VideoSource::Passthrough => format!("{}@src", r.name),
                VideoSource::Transcoded { bitrate } => format!("{}@{}", r.name, bitrate / 1000),
            })
            .collect()
    }

    fn plan(channel_type: ChannelType, preset: Option<Preset>, s: SourceVideo) -> Vec<String> {
        summary(&Ladder::plan(channel_type, preset, s))
    }

    #[test]
    fn standard_rows_of_the_spec_table() {
        let rows: [(SourceVideo, &[&str]); 7] = [
            (
                source(1920, 1080, 60.0),
                &[
                    "1080p60@src",
                    "720p60@3400",
                    "480p30@1400",
                    "360p30@630",
                    "160p30@230",
                ],
            ),
            (
                source(1920, 1080, 30.0),
                &[
                    "1080p30@src",
                    "720p30@2400",
                    "480p30@1400",
                    "360p30@630",
                    "160p30@230",
                ],
            ),
            (
                source(1600, 900, 60.0),
                &[
                    "900p60@src",
                    "720p60@3400",
                    "480p30@1400",
                    "360p30@630",
                    "160p30@230",
                ],
            ),
            (
                source(1600, 900, 30.0),
                &[
                    "900p30@src",
                    "720p30@2400",
                    "480p30@1400",
                    "360p30@630",
                    "160p30@230",
                ],
            ),
            (
                source(1280, 720, 60.0),
                &["720p60@3400", "480p30@1400", "360p30@630", "160p30@230"],
            ),
            (
                source(1280, 720, 30.0),
                &["720p30@2400", "480p30@1400", "360p30@630", "160p30@230"],
            ),
            (
                source(854, 480, 30.0),
                &["480p30@1400", "360p30@630", "160p30@230"],
            ),
        ];
        for (input, expected) in rows {
            assert_eq!(plan(Standard, None, input), expected, "{input:?}");
        }
        // >=480p and <720p, and 60 fps at 480p: the same three rungs.
        assert_eq!(
            plan(Standard, None, source(1024, 576, 30.0)),
            ["480p30@1400", "360p30@630", "160p30@230"]
        );
        assert_eq!(
            plan(Standard, None, source(854, 480, 60.0)),
            ["480p30@1400", "360p30@630", "160p30@230"]
        );
    }

    #[test]
    fn standard_widths_and_audio_match_ivs() {
        let ladder = Ladder::plan(Standard, None, source(1280, 720, 30.0));
        let sizes: Vec<(u32, u32)> = ladder
            .renditions()
            .iter()
            .map(|r| (r.width, r.height))
            .collect();
        assert_eq!(sizes, [(1280, 720), (852, 480), (640, 360), (284, 160)]);
        let audio: Vec<AudioSource> = ladder.renditions().iter().map(|r| r.audio).collect();
        assert_eq!(
            audio,
            [
                AudioSource::Passthrough,
                AudioSource::Passthrough,
                aac(64),
                aac(48)
            ]
        );
        let full_hd = Ladder::plan(Standard, None, source(1920, 1080, 30.0));
        let source_rung = &full_hd.renditions()[0];
        assert_eq!((source_rung.width, source_rung.height), (1920, 1080));
        assert_eq!(source_rung.video, VideoSource::Passthrough);
    }

    #[test]
    fn advanced_hd_rows_of_the_spec_table() {
        let higher = Some(Preset::HigherBandwidthDelivery);
        let constrained = Some(Preset::ConstrainedBandwidthDelivery);
        let cases: [(SourceVideo, Option<Preset>, &[&str]); 8] = [
            (
                source(1920, 1080, 60.0),
                higher,
                &["720p60@3000", "480p30@1300", "360p30@700", "160p30@270"],
            ),
            (
                source(1280, 720, 60.0),
                constrained,
                &["720p60@2200", "480p30@800", "360p30@400", "160p30@220"],
            ),
            (
                source(1920, 1080, 30.0),
                higher,
                &["720p30@2300", "480p30@1300", "360p30@700", "160p30@270"],
            ),
            (
                source(1280, 720, 30.0),
                constrained,
                &["720p30@1900", "480p30@800", "360p30@400", "160p30@220"],
            ),
            (
                source(1024, 576, 30.0),
                higher,
                &["576p30@2300", "480p30@1300", "360p30@700", "160p30@270"],
            ),
            (
                source(1024, 576, 30.0),
                constrained,
                &["576p30@1900", "480p30@800", "360p30@400", "160p30@220"],
            ),
            (
                source(854, 480, 30.0),
                higher,
                &["480p30@1300", "360p30@700", "160p30@270"],
            ),
            (
                source(854, 480, 60.0),
                constrained,
                &["480p30@800", "360p30@400", "160p30@220"],
            ),
        ];
        for (input, preset, expected) in cases {
            assert_eq!(
                plan(AdvancedHd, preset, input),
                expected,
                "{input:?} {preset:?}"
            );
        }
        // Audio is always transcoded on ADVANCED types.
        let ladder = Ladder::plan(AdvancedHd, higher, source(1920, 1080, 30.0));
        let audio: Vec<AudioSource> = ladder.renditions().iter().map(|r| r.audio).collect();
        assert_eq!(audio, [aac(128), aac(128), aac(64), aac(48)]);
    }

    #[test]
    fn advanced_sd_caps_at_480p_and_at_the_input() {
        for input in [
            source(1920, 1080, 60.0),
            source(1280, 720, 30.0),
            source(854, 480, 30.0),
        ] {
            assert_eq!(
                plan(AdvancedSd, None, input),
                ["480p30@1300", "360p30@700", "160p30@270"]
            );
            assert_eq!(
                plan(
                    AdvancedSd,
                    Some(Preset::ConstrainedBandwidthDelivery),
                    input
                ),
                ["480p30@800", "360p30@400", "160p30@220"]
            );
        }
        assert_eq!(
            plan(AdvancedSd, None, source(640, 360, 30.0)),
            ["360p30@700", "160p30@270"]
        );
    }

    #[test]
    fn basic_is_one_passthrough_rendition_named_by_d1() {
        assert_eq!(plan(Basic, None, source(1920, 1080, 30.0)), ["1080p30@src"]);
        assert_eq!(
            plan(Basic, None, source(1920, 1080, 59.94)),
            ["1080p60@src"]
        );
        assert_eq!(plan(Basic, None, source(854, 480, 30.0)), ["480p30@src"]);
        assert_eq!(plan(Basic, None, source(1280, 720, 29.97)), ["720p30@src"]);
    }

    #[test]
    fn small_inputs_are_never_upscaled() {
        assert_eq!(
            plan(Standard, None, source(640, 360, 30.0)),
            ["360p30@630", "160p30@230"]
        );
        assert_eq!(plan(Standard, None, source(160, 120, 30.0)), ["120p30@src"]);
    }

    fn custom(classes: &[ResolutionClass]) -> RenditionConfiguration {
        RenditionConfiguration {
            rendition_selection: RenditionSelection::Custom,
            renditions: classes.to_vec(),
        }
    }

    fn names(renditions: &[Rendition]) -> Vec<&str> {
        renditions.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn selection_all_none_and_custom() {
        let ladder = Ladder::plan(Standard, None, source(1920, 1080, 30.0));
        let all = RenditionConfiguration {
            rendition_selection: RenditionSelection::All,
            renditions: vec![],
        };
        assert_eq!(
            names(&ladder.select(Standard, &all)),
            ["1080p30", "720p30", "480p30", "360p30", "160p30"]
        );
        let none = RenditionConfiguration {
            rendition_selection: RenditionSelection::None,
            renditions: vec![],
        };
        assert!(ladder.select(Standard, &none).is_empty());
        assert_eq!(
            names(&ladder.select(Standard, &custom(&[Hd, Sd]))),
            ["720p30", "480p30"]
        );
        assert_eq!(
            names(&ladder.select(Standard, &custom(&[FullHd]))),
            ["1080p30"]
        );
        // D3: LOWEST_RESOLUTION is the single lowest rung, not 360p too.
        assert_eq!(
            names(&ladder.select(Standard, &custom(&[LowestResolution, FullHd]))),
            ["1080p30", "160p30"]
        );
    }

    #[test]
    fn custom_falls_back_below_then_above() {
        // 720p30 input: no FULL_HD rung, so the highest below (720p30).
        let hd_input = Ladder::plan(Standard, None, source(1280, 720, 30.0));
        assert_eq!(
            names(&hd_input.select(Standard, &custom(&[FullHd]))),
            ["720p30"]
        );
        // FULL_HD and HD fall back to the same rung: de-duplicated.
        assert_eq!(
            names(&hd_input.select(Standard, &custom(&[FullHd, Hd]))),
            ["720p30"]
        );
        // ADVANCED_SD has nothing above 480p: HD falls back to 480p30.
        let sd = Ladder::plan(AdvancedSd, None, source(1920, 1080, 30.0));
        assert_eq!(names(&sd.select(AdvancedSd, &custom(&[Hd]))), ["480p30"]);
        // A 360p input has no SD rung and nothing below 361 but 360p/160p: highest below wins.
        let small = Ladder::plan(Standard, None, source(640, 360, 30.0));
        assert_eq!(names(&small.select(Standard, &custom(&[Sd]))), ["360p30"]);
        // Nothing below: the lowest above.
        let tiny = Ladder {
            renditions: vec![rung(source(1920, 1080, 30.0), 720, 30, 1, aac(1))],
        };
        assert_eq!(names(&tiny.select(Standard, &custom(&[Sd]))), ["720p30"]);
    }

    #[test]
    fn custom_has_no_effect_on_basic() {
        let ladder = Ladder::plan(Basic, None, source(1920, 1080, 30.0));
        assert_eq!(
            names(&ladder.select(Basic, &custom(&[LowestResolution]))),
            ["1080p30"]
        );
    }

    #[test]
    fn thumbnail_size_follows_d8() {
        let s = source(1920, 1080, 30.0);
        let ladder = Ladder::plan(Standard, None, s);
        assert_eq!(ladder.thumbnail_size(None, s), (1920, 1080));
        assert_eq!(ladder.thumbnail_size(Some(Hd), s), (1280, 720));
        assert_eq!(ladder.thumbnail_size(Some(Sd), s), (852, 480));
        assert_eq!(ladder.thumbnail_size(Some(LowestResolution), s), (284, 160));
        assert_eq!(ladder.thumbnail_size(Some(FullHd), s), (1920, 1080));
        // No rendition of the class: source size, not "best available".
        let hd = source(1280, 720, 30.0);
        assert_eq!(
            Ladder::plan(Standard, None, hd).thumbnail_size(Some(FullHd), hd),
            (1280, 720)
        );
        let basic = Ladder::plan(Basic, None, s);
        assert_eq!(basic.thumbnail_size(Some(Sd), s), (1920, 1080));
        let sd = Ladder::plan(AdvancedSd, None, s);
        assert_eq!(sd.thumbnail_size(Some(Hd), s), (1920, 1080));
        assert_eq!(sd.thumbnail_size(Some(Sd), s), (852, 480));
    }
}
