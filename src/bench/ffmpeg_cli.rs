//! The `ffmpeg` CLI command that does one setting's ladder the way `record` does it (for
//! `--compare-ffmpeg`): one process decoding once; the rungs scaled in a chain, each from the next
//! larger one, with the same scaler; libx264 with the same private options, bitrate and IDR
//! placement; the audio of each rendition copied or made AAC at its bitrate; the passthrough
//! rendition copied. Each rendition goes to one MPEG-TS file. Building the command is pure.

use std::path::{Path, PathBuf};

use crate::ladder::{AudioSource, Rendition, VideoSource};
use crate::model::{EncoderSettings, Keyframes, RateControl};

/// The GOP length `record` gives x264 (IDRs are only ever forced).
const NO_NATURAL_KEYFRAMES: &str = "1073741823";

/// One transcoded rung's output file.
#[derive(Debug, Clone, PartialEq)]
pub struct CliOutput {
    /// The rendition.
    pub rendition: String,
    /// Where the CLI writes it.
    pub path: PathBuf,
}

/// The command (without the program name) and the transcoded rungs' outputs.
pub fn ladder_command(
    input: &Path,
    source_frame_rate: f64,
    renditions: &[Rendition],
    settings: &EncoderSettings,
    out_dir: &Path,
) -> (Vec<String>, Vec<CliOutput>) {
    let transcoded: Vec<(&Rendition, u32)> = renditions
        .iter()
        .filter_map(|r| match r.video {
            VideoSource::Transcoded { bitrate } => Some((r, bitrate)),
            VideoSource::Passthrough => None,
        })
        .collect();
    let mut graph = Vec::new();
    let mut upstream = "0:v".to_owned();
    for (index, (rendition, _)) in transcoded.iter().enumerate() {
        let encoding = settings.for_rung(&rendition.name);
        let mut chain = format!(
            "[{upstream}]scale={}:{}:flags={}",
            rendition.width, rendition.height, encoding.scaler
        );
        let output = format!("v{index}");
        let capped = source_frame_rate > rendition.frame_rate.round() + 0.5;
        let fps = if capped {
            format!(",fps={}", rendition.frame_rate.round())
        } else {
            String::new()
        };
        if index + 1 < transcoded.len() {
            let next = format!("c{index}");
            if capped {
                chain.push_str(&format!(
                    ",split=2[s{index}][{next}];[s{index}]{}[{output}]",
                    &fps[1..]
                ));
            } else {
                chain.push_str(&format!(",split=2[{output}][{next}]"));
            }
            upstream = next;
        } else {
            chain.push_str(&format!("{fps}[{output}]"));
        }
        graph.push(chain);
    }
    let mut args: Vec<String> = ["-hide_banner", "-nostats", "-y", "-i"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.push(input.display().to_string());
    if !graph.is_empty() {
        args.push("-filter_complex".into());
        args.push(graph.join(";"));
    }
    let mut outputs = Vec::new();
    let mut transcoded_index = 0;
    for rendition in renditions {
        let path = out_dir.join(format!("{}.ts", rendition.name));
        match rendition.video {
            VideoSource::Passthrough => {
                args.extend(
                    ["-map", "0:v", "-map", "0:a?", "-c", "copy"]
                        .iter()
                        .map(|s| (*s).to_owned()),
                );
            }
            VideoSource::Transcoded { bitrate } => {
                let encoding = settings.for_rung(&rendition.name);
                let fps = rendition.frame_rate.round().max(1.0) as u32;
                args.extend([
                    "-map".to_owned(),
                    format!("[v{transcoded_index}]"),
                    "-c:v".to_owned(),
                    "libx264".to_owned(),
                    "-pix_fmt:v".to_owned(),
                    "yuv420p".to_owned(),
                    "-fps_mode:v".to_owned(),
                    "passthrough".to_owned(),
                    "-g:v".to_owned(),
                    NO_NATURAL_KEYFRAMES.to_owned(),
                ]);
                transcoded_index += 1;
                if !matches!(encoding.rate_control, RateControl::Crf(_)) {
                    args.push("-b:v".into());
                    args.push(
                        ((f64::from(bitrate) * encoding.bitrate_scale).round() as u64).to_string(),
                    );
                }
                args.push("-force_key_frames:v".into());
                args.push(match encoding.keyframes {
                    Keyframes::FollowSource => "source".to_owned(),
                    Keyframes::EverySeconds(seconds) => format!("expr:gte(t,n_forced*{seconds})"),
                });
                let instruction_sets = crate::x264_cpu::x264_instruction_sets();
                for (name, value) in
                    encoding.x264_options(rendition.height, fps, bitrate, instruction_sets)
                {
                    args.push(format!("-{name}:v"));
                    args.push(value);
                }
                args.push("-map".into());
                args.push("0:a?".into());
                match rendition.audio {
                    AudioSource::Passthrough => {
                        args.extend(["-c:a".to_owned(), "copy".to_owned()]);
                    }
                    AudioSource::Transcoded { bitrate } => args.extend([
                        "-c:a".to_owned(),
                        "aac".to_owned(),
                        "-b:a".to_owned(),
                        bitrate.to_string(),
                    ]),
                }
                outputs.push(CliOutput {
                    rendition: rendition.name.clone(),
                    path: path.clone(),
                });
            }
        }
        args.extend(["-f".to_owned(), "mpegts".to_owned()]);
        args.push(path.display().to_string());
    }
    (args, outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::{Ladder, SourceVideo};
    use crate::model::ChannelType;

    fn standard_1080p30() -> Vec<Rendition> {
        Ladder::plan(
            ChannelType::Standard,
            None,
            SourceVideo {
                width: 1920,
                height: 1080,
                frame_rate: 30.0,
            },
        )
        .renditions()
        .to_vec()
    }

    #[test]
    fn the_ladder_is_a_chain_of_scalers_and_the_pipelines_x264_options() {
        let settings = EncoderSettings::from_json(
            r#"{"preset":"faster","rungs":{"160p30":{"scaler":"lanczos","keyframes":{"mode":"FIXED","seconds":2}}}}"#,
        )
        .unwrap();
        let (args, outputs) = ladder_command(
            Path::new("in.mp4"),
            30.0,
            &standard_1080p30(),
            &settings,
            Path::new("/out"),
        );
        let graph = &args[args.iter().position(|a| a == "-filter_complex").unwrap() + 1];
        assert_eq!(
            graph,
            "[0:v]scale=1280:720:flags=bicubic,split=2[v0][c0];\
             [c0]scale=852:480:flags=bicubic,split=2[v1][c1];\
             [c1]scale=640:360:flags=bicubic,split=2[v2][c2];\
             [c2]scale=284:160:flags=lanczos[v3]"
        );
        let names: Vec<&str> = outputs.iter().map(|o| o.rendition.as_str()).collect();
        assert_eq!(names, ["720p30", "480p30", "360p30", "160p30"]);
        let line = args.join(" ");
        assert!(
            line.contains("-map 0:v -map 0:a? -c copy -f mpegts /out/1080p30.ts"),
            "{line}"
        );
        // The same instruction sets as the pipeline's x264 (none named but on AVX-512 CPUs).
        let asm = crate::x264_cpu::x264_instruction_sets()
            .map(|sets| format!(":asm={sets}"))
            .unwrap_or_default();
        assert!(
            line.contains(&format!(
                "-map [v0] -c:v libx264 -pix_fmt:v yuv420p -fps_mode:v passthrough -g:v 1073741823 \
                 -b:v 2400000 -force_key_frames:v source -preset:v faster -profile:v main \
                 -level:v 3.1 -forced-idr:v 1 -threads:v 1 -x264-params:v scenecut=0:open-gop=0{asm} \
                 -map 0:a? -c:a copy -f mpegts /out/720p30.ts"
            )),
            "{line}"
        );
        assert!(
            line.contains("-force_key_frames:v expr:gte(t,n_forced*2)"),
            "{line}"
        );
        assert!(
            line.contains("-c:a aac -b:a 48000 -f mpegts /out/160p30.ts"),
            "{line}"
        );
    }

    #[test]
    fn crf_sets_no_bitrate_and_a_faster_source_is_capped() {
        let settings =
            EncoderSettings::from_json(r#"{"rateControl":{"mode":"CRF","crf":23}}"#).unwrap();
        let renditions = Ladder::plan(
            ChannelType::AdvancedSd,
            None,
            SourceVideo {
                width: 1280,
                height: 720,
                frame_rate: 60.0,
            },
        )
        .renditions()
        .to_vec();
        let (args, _) = ladder_command(
            Path::new("in.mp4"),
            60.0,
            &renditions,
            &settings,
            Path::new("/o"),
        );
        let line = args.join(" ");
        assert!(!line.contains("-b:v"), "{line}");
        assert!(line.contains("-crf:v 23"), "{line}");
        assert!(line.contains("split=2[s0][c0];[s0]fps=30[v0]"), "{line}");
    }
}
