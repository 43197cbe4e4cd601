//! One second of the STANDARD ladder from the bundled 1080p sample through the real pipeline,
//! per x264 preset (veryfast, IVS's default, then faster and medium): decode 30 frames once,
//! scale each to every transcoded rung (each from the next larger one, a thread per rung) and
//! encode with libx264, flushing the encoders at the end. A regression here is a regression of
//! `record` on every transcoded channel.
//!
//! Run: `cargo bench --bench ladder`.

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ffmpeg_next as ffmpeg;
use ivs_recorder::error::Failure;
use ivs_recorder::ingest::FileInput;
use ivs_recorder::ladder::{Ladder, Rendition, SourceVideo, VideoSource};
use ivs_recorder::model::{ChannelType, EncoderSettings};
use ivs_recorder::pipeline::{Pipeline, PipelineSink};
use ivs_recorder::thumbnail::SampledFrame;

const SAMPLE: &str = "sample-media/1080p30-gop2s.mp4";
const FRAMES: usize = 30;

struct Second {
    packets: Vec<ffmpeg::Packet>,
    input: FileInput,
}

fn first_second() -> Second {
    let mut input =
        FileInput::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE), false).unwrap();
    let mut packets = Vec::new();
    while packets.len() < FRAMES {
        packets.push(input.next_video_packet().unwrap().unwrap());
    }
    Second { packets, input }
}

/// Counts the bytes the pipeline makes.
#[derive(Default)]
struct CountingSink {
    bytes: usize,
}

impl PipelineSink for CountingSink {
    fn video(&mut self, _rendition: usize, packet: &ffmpeg::Packet) -> Result<(), Failure> {
        self.bytes += packet.size();
        Ok(())
    }

    fn audio(&mut self, _rendition: usize, packet: &ffmpeg::Packet) -> Result<(), Failure> {
        self.bytes += packet.size();
        Ok(())
    }

    fn thumbnail(&mut self, _frame: SampledFrame) -> Result<(), Failure> {
        Ok(())
    }
}

/// The transcoded rungs of the STANDARD ladder for `input`.
fn transcoded_rungs(input: &FileInput) -> Vec<Rendition> {
    let video = &input.info().video;
    let source = SourceVideo {
        width: video.width,
        height: video.height,
        frame_rate: video.frame_rate,
    };
    Ladder::plan(ChannelType::Standard, None, source)
        .renditions()
        .iter()
        .filter(|r| matches!(r.video, VideoSource::Transcoded { .. }))
        .cloned()
        .collect()
}

fn ladder_second(c: &mut Criterion) {
    let second = first_second();
    let rungs = transcoded_rungs(&second.input);
    let mut group = c.benchmark_group("ladder_second_1080p");
    group.sample_size(10);
    group.throughput(Throughput::Elements(FRAMES as u64));
    for preset in ["veryfast", "faster", "medium"] {
        let settings = EncoderSettings::from_json(&format!(r#"{{"preset":"{preset}"}}"#)).unwrap();
        group.bench_function(
            format!("decode_scale_encode_720_480_360_160/{preset}"),
            |b| {
                b.iter_batched(
                    || {
                        Pipeline::start(&rungs, &settings, second.input.info(), None, "bench")
                            .unwrap()
                    },
                    |mut pipeline| {
                        let mut sink = CountingSink::default();
                        for packet in &second.packets {
                            pipeline.push_video(packet.clone(), &mut sink).unwrap();
                        }
                        pipeline.finish(&mut sink).unwrap();
                        black_box(sink.bytes)
                    },
                    BatchSize::PerIteration,
                );
            },
        );
    }
    group.finish();
}

criterion_group!(benches, ladder_second);
criterion_main!(benches);
