//! The quality measurement `bench` does per frame: PSNR and SSIM of a decoded 720p frame of the
//! bundled sample against its neighbour (the three planes, FFmpeg's arithmetic), and of the 160p
//! rung's size.
//!
//! Run: `cargo bench --bench quality`.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use ivs_recorder::av::decode::VideoDecoder;
use ivs_recorder::ingest::FileInput;
use ivs_recorder::quality::compare::frame_planes;
use ivs_recorder::quality::metrics::score_frame;

const SAMPLE: &str = "sample-media/720p30-gop2s.mp4";

/// The first two decoded frames of the sample.
fn two_frames() -> (VideoFrame, VideoFrame) {
    let mut input =
        FileInput::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE), false).unwrap();
    let mut decoder = VideoDecoder::open(input.info().video.parameters.clone(), 1).unwrap();
    let mut frames = Vec::new();
    while frames.len() < 2 {
        let Some(packet) = input.next_video_packet().unwrap() else {
            break;
        };
        decoder
            .decode(&packet, &mut |slot| {
                frames.push(std::mem::replace(slot, VideoFrame::empty()))
            })
            .unwrap();
    }
    decoder
        .drain(&mut |slot| frames.push(std::mem::replace(slot, VideoFrame::empty())))
        .unwrap();
    let second = frames.swap_remove(1);
    (frames.swap_remove(0), second)
}

fn scaled(frame: &VideoFrame, width: u32, height: u32) -> VideoFrame {
    let mut context = scaling::Context::get(
        frame.format(),
        frame.width(),
        frame.height(),
        Pixel::YUV420P,
        width,
        height,
        scaling::Flags::LANCZOS,
    )
    .unwrap();
    let mut out = VideoFrame::new(Pixel::YUV420P, width, height);
    context.run(frame, &mut out).unwrap();
    out
}

fn quality(c: &mut Criterion) {
    let (first, second) = two_frames();
    let mut group = c.benchmark_group("quality_per_frame");
    for (width, height) in [(1280, 720), (284, 160)] {
        let (a, b) = (
            scaled(&first, width, height),
            scaled(&second, width, height),
        );
        group.throughput(Throughput::Elements(u64::from(width * height)));
        group.bench_with_input(
            BenchmarkId::new("psnr_and_ssim", format!("{height}p")),
            &(a, b),
            |bench, (a, b)| bench.iter(|| black_box(score_frame(frame_planes(a), frame_planes(b)))),
        );
    }
    group.finish();
}

criterion_group!(benches, quality);
criterion_main!(benches);
