//! HLS output end to end, checked with independent readers: `m3u8-rs` for every playlist,
//! ffprobe / the ffmpeg CLI for segments and byte-range chunks, the barcode for frame indices.

use std::path::Path;

use m3u8_rs::{MasterPlaylist, MediaPlaylist, Playlist};

use crate::util::{
    Recording, config_file, ffmpeg, read_thumbnail, real_ivs_720p30_input, reference_recording,
    sample,
};

pub fn media_playlist(bytes: &[u8]) -> MediaPlaylist {
    match m3u8_rs::parse_playlist_res(bytes).expect("a valid playlist") {
        Playlist::MediaPlaylist(playlist) => playlist,
        Playlist::MasterPlaylist(_) => panic!("expected a media playlist"),
    }
}

pub fn master_playlist(bytes: &[u8]) -> MasterPlaylist {
    match m3u8_rs::parse_playlist_res(bytes).expect("a valid playlist") {
        Playlist::MasterPlaylist(playlist) => playlist,
        Playlist::MediaPlaylist(_) => panic!("expected a multivariant playlist"),
    }
}

pub fn millis(seconds: f32) -> u64 {
    (f64::from(seconds) * 1000.0).round() as u64
}

/// ffprobe's view of a segment: (codec, width, height, first frame is a keyframe, duration s,
/// average frame rate).
pub fn probe_video(path: &Path) -> (String, u32, u32, bool, f64, String) {
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,avg_frame_rate:format=duration",
        ])
        .args([
            "-show_entries",
            "frame=key_frame",
            "-read_intervals",
            "%+#1",
            "-of",
            "default=nw=1",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .to_owned()
    };
    (
        field("codec_name"),
        field("width").parse().unwrap(),
        field("height").parse().unwrap(),
        field("key_frame") == "1",
        field("duration").parse().unwrap(),
        field("avg_frame_rate"),
    )
}

/// PIDs of the elementary streams of a segment, as ffprobe reports them.
fn stream_pids(path: &Path) -> Vec<String> {
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,id",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The barcode frame index of the first frame of a segment.
pub fn first_frame_index(dir: &Path, segment: &Path) -> u32 {
    let jpeg = dir.join("first-frame.jpg");
    let os = std::ffi::OsStr::new;
    ffmpeg(&[
        os("-i"),
        segment.as_os_str(),
        os("-frames:v"),
        os("1"),
        os("-q:v"),
        os("2"),
        jpeg.as_os_str(),
    ]);
    read_thumbnail(&std::fs::read(jpeg).unwrap()).frame
}

/// Checks one rendition: playlists against each other and the files, each segment and each GOP
/// chunk with ffprobe. Returns (EXTINF ms per segment, EXTINF ms per GOP).
pub fn check_rendition(
    recording: &Recording,
    name: &str,
    size: (u32, u32),
) -> (Vec<u64>, Vec<u64>) {
    let objects = recording.objects();
    let playlist = media_playlist(&objects[&format!("media/hls/{name}/playlist.m3u8")]);
    let byte_range = media_playlist(&objects[&format!("media/hls/{name}/byte-range-variant.m3u8")]);
    assert!(playlist.end_list && byte_range.end_list);
    assert_eq!(playlist.version, Some(3));
    assert_eq!(byte_range.version, Some(4));
    assert_eq!(
        byte_range.playlist_type,
        Some(m3u8_rs::MediaPlaylistType::Vod)
    );
    assert_eq!(
        playlist.playlist_type,
        Some(m3u8_rs::MediaPlaylistType::Event)
    );
    let segment_ms: Vec<u64> = playlist
        .segments
        .iter()
        .map(|s| millis(s.duration))
        .collect();
    let longest = *segment_ms.iter().max().unwrap();
    assert_eq!(playlist.target_duration, longest.div_ceil(1000));
    assert_eq!(byte_range.target_duration, playlist.target_duration);
    for (n, segment) in playlist.segments.iter().enumerate() {
        assert_eq!(segment.uri, format!("{n}.ts"));
        assert!(
            segment.program_date_time.is_some(),
            "PDT before every segment"
        );
    }
    // Byte ranges tile each .ts exactly, and every chunk decodes on its own.
    let mut gop_ms = Vec::new();
    let mut expected_offset = std::collections::HashMap::<String, u64>::new();
    for gop in &byte_range.segments {
        let range = gop
            .byte_range
            .as_ref()
            .expect("every entry has a byte range");
        let offset = range.offset.expect("explicit offsets");
        let next = expected_offset.entry(gop.uri.clone()).or_insert(0);
        assert_eq!(offset, *next, "{} ranges are contiguous", gop.uri);
        *next += range.length;
        gop_ms.push(millis(gop.duration));
        let bytes = &objects[&format!("media/hls/{name}/{}", gop.uri)];
        let chunk = &bytes[offset as usize..(offset + range.length) as usize];
        assert_eq!(chunk[0], 0x47, "chunk starts on a TS packet");
        let chunk_path = recording.dir.join("chunk.ts");
        std::fs::write(&chunk_path, chunk).unwrap();
        let (codec, width, height, key, _, _) = probe_video(&chunk_path);
        assert_eq!(
            (codec.as_str(), width, height, key),
            ("h264", size.0, size.1, true),
            "{} @{offset}",
            gop.uri
        );
        std::fs::remove_file(chunk_path).unwrap();
    }
    for (uri, end) in expected_offset {
        assert_eq!(
            end,
            objects[&format!("media/hls/{name}/{uri}")].len() as u64,
            "{uri} fully covered"
        );
    }
    assert_eq!(gop_ms.iter().sum::<u64>(), segment_ms.iter().sum::<u64>());
    // Each segment: H.264 of the rendition's size, starting on a keyframe, PIDs as IVS's.
    for (n, ms) in segment_ms.iter().enumerate() {
        let path = recording.dir.join(format!("media/hls/{name}/{n}.ts"));
        let (codec, width, height, key, duration, frame_rate) = probe_video(&path);
        assert_eq!(frame_rate, "30/1", "{n}.ts frame rate");
        assert_eq!(
            (codec.as_str(), width, height, key),
            ("h264", size.0, size.1, true)
        );
        assert!(
            (duration - *ms as f64 / 1000.0).abs() < 0.1,
            "{n}.ts lasts {duration} s, EXTINF {ms} ms"
        );
        let pids = stream_pids(&path);
        assert!(pids.contains(&"h264,0x101".to_owned()), "{pids:?}");
        if pids.len() > 1 {
            assert!(pids.contains(&"aac,0x100".to_owned()), "{pids:?}");
        }
    }
    (segment_ms, gop_ms)
}

#[test]
fn basic_transmuxes_the_source_into_ivs_hls() {
    let store = tempfile::tempdir().unwrap();
    let recording = Recording::make(
        store.path(),
        &sample("1080p30-gop2s.mp4"),
        &["--channel-type", "BASIC"],
        0,
    );
    let keys = recording.keys();
    for key in [
        "media/hls/master.m3u8",
        "media/hls/byte-range-multivariant.m3u8",
        "media/hls/1080p30/playlist.m3u8",
        "media/hls/1080p30/byte-range-variant.m3u8",
        "media/hls/1080p30/0.ts",
        "media/hls/1080p30/1.ts",
    ] {
        assert!(keys.contains(&key.to_owned()), "{key} in {keys:?}");
    }
    assert_eq!(keys.iter().filter(|k| k.ends_with(".ts")).count(), 2);
    let (segments, gops) = check_rendition(&recording, "1080p30", (1920, 1080));
    assert_eq!(
        segments,
        [10_000, 2_000],
        "cut at the first keyframe at or after 10 s"
    );
    assert_eq!(gops, [2_000; 6]);
    let ended = recording.json("events/recording-ended.json");
    assert_eq!(
        ended["media"]["hls"]["duration_ms"],
        segments.iter().sum::<u64>()
    );

    // Segments start on the frames the cuts name: 0 and 300.
    let dir = recording.dir.join("media/hls/1080p30");
    assert_eq!(first_frame_index(store.path(), &dir.join("0.ts")), 0);
    assert_eq!(first_frame_index(store.path(), &dir.join("1.ts")), 300);

    let objects = recording.objects();
    let master = master_playlist(&objects["media/hls/master.m3u8"]);
    assert_eq!(master.variants.len(), 1);
    let variant = &master.variants[0];
    assert_eq!(variant.uri, "1080p30/playlist.m3u8");
    assert_eq!(
        variant.codecs.as_deref(),
        Some("avc1.640028,mp4a.40.2"),
        "High@4.0 source, AAC-LC"
    );
    let resolution = variant.resolution.unwrap();
    assert_eq!((resolution.width, resolution.height), (1920, 1080));
    // BANDWIDTH within 25% of the measured bitrate of the segments.
    let bytes: usize = (0..2)
        .map(|n| objects[&format!("media/hls/1080p30/{n}.ts")].len())
        .sum();
    let measured = bytes as f64 * 8.0 / 12.0;
    let bandwidth = variant.bandwidth as f64;
    assert!(
        (bandwidth / measured - 1.0).abs() < 0.25,
        "{bandwidth} vs {measured}"
    );
    let byte_range_master = master_playlist(&objects["media/hls/byte-range-multivariant.m3u8"]);
    assert_eq!(
        byte_range_master.variants[0].uri,
        "1080p30/byte-range-variant.m3u8"
    );

    // The recording plays.
    let os = std::ffi::OsStr::new;
    let master_path = recording.dir.join("media/hls/master.m3u8");
    ffmpeg(&[
        os("-i"),
        master_path.as_os_str(),
        os("-f"),
        os("null"),
        os("-"),
    ]);
}

#[test]
fn basic_long_gop_cuts_on_ten_second_keyframes() {
    let store = tempfile::tempdir().unwrap();
    let config = config_file(
        store.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"recordingMode":"DISABLED"}}"#,
    );
    let recording = Recording::make(
        store.path(),
        &sample("480p30-gop10s.mp4"),
        &[
            "--channel-type",
            "BASIC",
            "--config",
            config.to_str().unwrap(),
        ],
        0,
    );
    let (segments, gops) = check_rendition(&recording, "480p30", (854, 480));
    assert_eq!(segments, [10_000, 10_000, 2_000]);
    assert_eq!(gops, segments, "one GOP per segment");
}

#[test]
fn real_ivs_segments_are_cut_where_ivs_cut_them() {
    let reference = reference_recording();
    let store = tempfile::tempdir().unwrap();
    let input = real_ivs_720p30_input(&reference, store.path());
    let recording = Recording::make(store.path(), &input, &["--channel-type", "BASIC"], 0);
    let (segments, gops) = check_rendition(&recording, "720p30", (1280, 720));

    // IVS's own playlists for these two segments.
    let theirs =
        media_playlist(&std::fs::read(reference.join("media/hls/720p30/playlist.m3u8")).unwrap());
    let their_segments: Vec<u64> = theirs
        .segments
        .iter()
        .take(2)
        .map(|s| millis(s.duration))
        .collect();
    assert_eq!(
        segments, their_segments,
        "same cuts as IVS: 10.267 s and 10.000 s"
    );
    let their_byte_range = media_playlist(
        &std::fs::read(reference.join("media/hls/720p30/byte-range-variant.m3u8")).unwrap(),
    );
    let their_gops: Vec<u64> = their_byte_range
        .segments
        .iter()
        .filter(|s| s.uri == "0.ts" || s.uri == "1.ts")
        .map(|s| millis(s.duration))
        .collect();
    assert_eq!(
        gops, their_gops,
        "same GOP entries as IVS's byte-range playlist"
    );
}
