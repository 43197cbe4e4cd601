//! The thumbnail path, stage by stage, on the bundled 1080p sample:
//! decode, scale to each ladder size, JPEG encode (FFmpeg MJPEG vs the `image` crate), and one
//! whole thumbnail (decoded frame → JPEG bytes).
//!
//! Run: `cargo bench --bench thumbnail_path`.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use ivs_recorder::av::decode::VideoDecoder;
use ivs_recorder::ingest::FileInput;
use ivs_recorder::thumbnail::JpegThumbnailer;

const SAMPLE: &str = "sample-media/1080p30-gop2s.mp4";
const LADDER: [(u32, u32); 4] = [(1280, 720), (852, 480), (640, 360), (284, 160)];

fn packets() -> (FileInput, Vec<ffmpeg::Packet>) {
    let mut input =
        FileInput::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE), false).unwrap();
    let mut packets = Vec::new();
    while let Some(packet) = input.next_video_packet().unwrap() {
        packets.push(packet);
    }
    (input, packets)
}

fn decode_all(input: &FileInput, packets: &[ffmpeg::Packet], threads: usize) -> Vec<VideoFrame> {
    let mut decoder = VideoDecoder::open(input.info().video.parameters.clone(), threads).unwrap();
    let mut frames = Vec::new();
    let mut keep =
        |frame: &mut VideoFrame| frames.push(std::mem::replace(frame, VideoFrame::empty()));
    for packet in packets {
        decoder.decode(packet, &mut keep).unwrap();
    }
    decoder.drain(&mut keep).unwrap();
    frames
}

fn decode(c: &mut Criterion) {
    let (input, packets) = packets();
    let mut group = c.benchmark_group("decode_1080p");
    group.sample_size(10);
    group.throughput(Throughput::Elements(packets.len() as u64));
    for threads in [1, 2] {
        group.bench_with_input(
            BenchmarkId::new("all_frames_threads", threads),
            &threads,
            |b, &threads| {
                b.iter(|| black_box(decode_all(&input, &packets, threads).len()));
            },
        );
    }
    let keyframes: Vec<ffmpeg::Packet> = packets.iter().filter(|p| p.is_key()).cloned().collect();
    group.throughput(Throughput::Elements(keyframes.len() as u64));
    group.bench_function("keyframes_only", |b| {
        let mut decoder = VideoDecoder::open(input.info().video.parameters.clone(), 1).unwrap();
        b.iter(|| {
            let mut count = 0;
            for packet in &keyframes {
                decoder.reset();
                decoder.decode(packet, &mut |_| count += 1).unwrap();
                decoder.drain(&mut |_| count += 1).unwrap();
            }
            black_box(count)
        });
    });
    group.finish();
}

fn one_frame() -> VideoFrame {
    let (input, packets) = packets();
    decode_all(&input, &packets[..8], 1).remove(0)
}

fn scale(c: &mut Criterion) {
    let frame = one_frame();
    let mut group = c.benchmark_group("scale_1080p_frame");
    for (width, height) in LADDER {
        let mut context = scaling::Context::get(
            frame.format(),
            frame.width(),
            frame.height(),
            Pixel::YUV420P,
            width,
            height,
            scaling::Flags::BICUBIC,
        )
        .unwrap();
        let mut out = VideoFrame::new(Pixel::YUV420P, width, height);
        group.bench_function(format!("to_{width}x{height}"), |b| {
            b.iter(|| context.run(black_box(&frame), &mut out).unwrap());
        });
    }
    group.finish();
}

fn scaled(frame: &VideoFrame, width: u32, height: u32, format: Pixel) -> VideoFrame {
    let mut context = scaling::Context::get(
        frame.format(),
        frame.width(),
        frame.height(),
        format,
        width,
        height,
        scaling::Flags::BICUBIC,
    )
    .unwrap();
    let mut out = VideoFrame::new(format, width, height);
    context.run(frame, &mut out).unwrap();
    out
}

/// Packed RGB rows without padding, as the `image` encoder wants them.
fn rgb_bytes(frame: &VideoFrame) -> Vec<u8> {
    let row = frame.width() as usize * 3;
    let stride = frame.stride(0);
    frame
        .data(0)
        .chunks(stride)
        .take(frame.height() as usize)
        .flat_map(|line| line[..row].to_vec())
        .collect()
}

fn jpeg_encode(c: &mut Criterion) {
    let frame = one_frame();
    let mut group = c.benchmark_group("jpeg_encode");
    for (width, height) in [(1280, 720), (852, 480)] {
        // FFmpeg MJPEG (what ivs-recorder uses): scale + encode from the decoded frame.
        let source = scaled(&frame, width, height, Pixel::YUV420P);
        let mut thumbnailer = JpegThumbnailer::new(width, height).unwrap();
        group.bench_function(format!("ffmpeg_mjpeg_{width}x{height}"), |b| {
            b.iter(|| black_box(thumbnailer.encode(&source, 0).unwrap().len()));
        });
        // The `image` crate: needs RGB, so YUV→RGB conversion is part of its cost.
        let mut to_rgb = scaling::Context::get(
            Pixel::YUV420P,
            width,
            height,
            Pixel::RGB24,
            width,
            height,
            scaling::Flags::POINT,
        )
        .unwrap();
        let mut rgb = VideoFrame::new(Pixel::RGB24, width, height);
        group.bench_function(format!("image_crate_{width}x{height}"), |b| {
            b.iter(|| {
                to_rgb.run(&source, &mut rgb).unwrap();
                let pixels = rgb_bytes(&rgb);
                let mut out = Vec::with_capacity(256 * 1024);
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                    .encode(&pixels, width, height, image::ExtendedColorType::Rgb8)
                    .unwrap();
                black_box(out.len())
            });
        });
    }
    group.finish();
}

fn whole_thumbnail(c: &mut Criterion) {
    let frame = one_frame();
    let mut group = c.benchmark_group("thumbnail");
    for (width, height) in [(1920, 1080), (1280, 720)] {
        let mut thumbnailer = JpegThumbnailer::new(width, height).unwrap();
        group.bench_function(format!("1080p_frame_to_{width}x{height}_jpeg"), |b| {
            b.iter(|| black_box(thumbnailer.encode(&frame, 0).unwrap().len()));
        });
    }
    group.finish();
}

criterion_group!(benches, decode, scale, jpeg_encode, whole_thumbnail);
criterion_main!(benches);
