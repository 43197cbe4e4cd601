//! The real IVS 720p30 segments (../shared/reference) as input: real camera content, real
//! MPEG-TS timestamps. The recording must look like the one IVS made from the same stream.

use serde_json::Value;

use crate::util::{Recording, config_file, real_ivs_720p30_input, reference_recording};

#[test]
fn recording_the_real_720p30_segments_matches_the_ivs_metadata() {
    let reference = reference_recording();
    let store = tempfile::tempdir().unwrap();
    let input = real_ivs_720p30_input(&reference, store.path());
    let config = config_file(
        store.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"targetIntervalSeconds":5,"storage":["SEQUENTIAL","LATEST"]}}"#,
    );
    let arn = "arn:aws:ivs:us-east-1:098435415742:channel/2rrcA103rn67";
    let recording = Recording::make(
        store.path(),
        &input,
        &["--config", config.to_str().unwrap(), "--channel-arn", arn],
        0,
    );

    let ours = recording.json("events/recording-ended.json");
    let theirs: Value = serde_json::from_slice(
        &std::fs::read(reference.join("events/recording-ended.json")).unwrap(),
    )
    .unwrap();
    // Same renditions, highest first, as IVS recorded from this 720p30 stream.
    assert_eq!(
        ours["media"]["hls"]["renditions"],
        theirs["media"]["hls"]["renditions"]
    );
    assert_eq!(ours["channel_arn"], theirs["channel_arn"]);
    // Two segments of 10.267 s and 10.000 s in the IVS playlist.
    assert_eq!(ours["media"]["hls"]["duration_ms"], 20_267);
    // Thumbnails at 0, 5, 10, 15, 20 s of media, 1280x720 like IVS's.
    let thumbnails = recording.thumbnails();
    assert_eq!(thumbnails.len(), 5);
    for jpeg in &thumbnails {
        let image = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((image.width(), image.height()), (1280, 720));
    }
    // Each thumbnail is exactly frame 150 x N of the stream: of the frames around it (decoded and
    // scaled independently by the ffmpeg CLI), the nearest picture is that one. Neighbouring
    // frames of this camera content differ by about 1 grey level; JPEG noise is about 0.6.
    let frames = gray_frames(&input);
    for (n, jpeg) in thumbnails.iter().enumerate() {
        let ours = gray_frames_of_jpeg(store.path(), jpeg);
        let expected = 150 * n;
        let nearest = (expected.saturating_sub(2)..=(expected + 2).min(frames.len() - 1))
            .min_by(|&a, &b| {
                mean_difference(&ours, &frames[a]).total_cmp(&mean_difference(&ours, &frames[b]))
            })
            .unwrap();
        assert_eq!(nearest, expected, "thumb{n}");
    }
}

/// Small greyscale pictures, scaled by the ffmpeg CLI so both sides go through the same scaler.
const PROBE_WIDTH: usize = 160;
const PROBE_HEIGHT: usize = 90;

fn gray_frames(input: &std::path::Path) -> Vec<Vec<u8>> {
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(input)
        .args(["-vf", "scale=160:90,format=gray", "-f", "rawvideo", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(output.status.success());
    output
        .stdout
        .chunks_exact(PROBE_WIDTH * PROBE_HEIGHT)
        .map(<[u8]>::to_vec)
        .collect()
}

fn gray_frames_of_jpeg(dir: &std::path::Path, jpeg: &[u8]) -> Vec<u8> {
    let path = dir.join("probe.jpg");
    std::fs::write(&path, jpeg).unwrap();
    gray_frames(&path).remove(0)
}

fn mean_difference(a: &[u8], b: &[u8]) -> f64 {
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| u64::from(p.abs_diff(*q)))
        .sum();
    total as f64 / a.len() as f64
}
