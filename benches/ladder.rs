//! One second of the STANDARD ladder from the bundled 1080p sample: decode 30 frames, scale each
//! to every transcoded rung (each from the next larger one) and encode with libx264, flushing the
//! encoders at the end. A regression here is a regression of `record` on every transcoded channel.
//!
//! Run: `cargo bench --bench ladder`.

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use ivs_recorder::ingest::FileInput;
use ivs_recorder::ladder::{Ladder, SourceVideo, VideoSource};
use ivs_recorder::model::ChannelType;
use ivs_recorder::pipeline::decode::{VideoDecoder, frame_pts};
use ivs_recorder::transcode::video::RungEncoder;

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

fn encoders(input: &FileInput) -> Vec<RungEncoder> {
    let video = &input.info().video;
    let source = SourceVideo {
        width: video.width,
        height: video.height,
        frame_rate: video.frame_rate,
    };
    Ladder::plan(ChannelType::Standard, None, source)
        .renditions()
        .iter()
        .filter_map(|r| match r.video {
            VideoSource::Transcoded { bitrate } => {
                Some(RungEncoder::new(r, bitrate, video.av_time_base, video.frame_rate).unwrap())
            }
            VideoSource::Passthrough => None,
        })
        .collect()
}

fn encode_through(rungs: &mut [RungEncoder], frame: &VideoFrame, pts: i64, is_key: bool) -> usize {
    let mut bytes = 0;
    for index in 0..rungs.len() {
        let (before, after) = rungs.split_at_mut(index);
        let input = before.last().map_or(frame, RungEncoder::picture);
        after[0]
            .encode(input, pts, is_key, &mut |p| bytes += p.size())
            .unwrap();
    }
    bytes
}

fn ladder_second(c: &mut Criterion) {
    let second = first_second();
    let mut group = c.benchmark_group("ladder_second_1080p");
    group.sample_size(10);
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("decode_scale_encode_720_480_360_160", |b| {
        b.iter_batched(
            || encoders(&second.input),
            |mut rungs| {
                let mut decoder = VideoDecoder::open_frame_threaded(
                    second.input.info().video.parameters.clone(),
                    2,
                )
                .unwrap();
                let mut bytes = 0;
                let mut on_frame = |frame: &mut VideoFrame| {
                    let pts = frame_pts(frame).unwrap_or(0);
                    bytes += encode_through(&mut rungs, frame, pts, frame.is_key());
                };
                for packet in &second.packets {
                    decoder.decode(packet, &mut on_frame).unwrap();
                }
                decoder.drain(&mut on_frame).unwrap();
                for rung in &mut rungs {
                    rung.finish(&mut |p| bytes += p.size()).unwrap();
                }
                black_box(bytes)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, ladder_second);
criterion_main!(benches);
