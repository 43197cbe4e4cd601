//! Property-based fuzzing of every parser that reads what a stranger sends (stable Rust,
//! `proptest`): the FLV tag bodies of a publish, the RTMP handshake and chunk layer (the patched
//! `rml_rtmp`, driven as `serve` drives it), the recording-configuration and channels files, and
//! a spool's manifest. The property is always the same: any input gives `Ok` or an error, never
//! a panic (the test harness turns a panic into a failure with the input that caused it).
//!
//! CI runs a bounded number of cases (proptest's default, 256 per target, or `PROPTEST_CASES`).
//! The long run (README, "Fuzzing"): `PROPTEST_CASES=1000000 cargo test --release --test fuzz`.

use proptest::prelude::*;
use rml_rtmp::handshake::{Handshake, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionResult, PublishRequestType, ServerSession,
    ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};

use ivs_recorder::ingest::flv;
use ivs_recorder::live::channels::parse_channels;
use ivs_recorder::model::CreateRecordingConfigurationRequest;
use ivs_recorder::storage::spool::Spool;

/// Bytes of an FLV tag body: mostly well-formed headers (so the parsers get past the first
/// byte), with arbitrary lengths and contents.
fn tag_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (
            prop_oneof![
                Just(0x17_u8),
                Just(0x27),
                Just(0x1C),
                Just(0xAF),
                Just(0x2F),
                any::<u8>()
            ],
            0_u8..3,
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(first, packet_type, rest)| {
                let mut body = vec![first, packet_type];
                body.extend(rest);
                body
            }),
    ]
}

proptest! {
    #[test]
    fn flv_tag_readers_never_panic(body in tag_body()) {
        let _ = flv::parse_video(&body);
        let _ = flv::parse_audio(&body);
        let _ = flv::parse_aac_config(&body);
        if body.len() > 2 {
            let _ = flv::parse_aac_config(&body[2..]);
        }
    }
}

/// One RTMP chunk with a header of any format on a small set of chunk streams, a declared
/// length that may disagree with its payload, and any message type.
fn chunk() -> impl Strategy<Value = Vec<u8>> {
    (
        0_u8..4,
        prop_oneof![2_u8..8, Just(0), Just(1), any::<u8>()],
        any::<u32>(),
        prop_oneof![0_u32..300, any::<u32>()],
        prop_oneof![1_u8..23, any::<u8>()],
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(format, csid, timestamp, length, type_id, payload)| {
            let mut bytes = vec![(format << 6) | (csid & 0x3F)];
            if csid & 0x3F == 0 {
                bytes.push(csid);
            } else if csid & 0x3F == 1 {
                bytes.extend_from_slice(&[csid, 0]);
            }
            if format < 3 {
                bytes.extend_from_slice(&timestamp.to_be_bytes()[1..]);
            }
            if format < 2 {
                bytes.extend_from_slice(&(length & 0xFF_FFFF).to_be_bytes()[1..]);
                bytes.push(type_id);
            }
            if format == 0 {
                bytes.extend_from_slice(&1_u32.to_le_bytes());
            }
            bytes.extend(payload);
            bytes
        })
}

/// The bytes a real publisher sends after the handshake up to an accepted publish (connect,
/// createStream, publish), from `rml_rtmp`'s client session.
fn publish_preamble() -> Vec<u8> {
    let (mut client, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
    let mut bytes = Vec::new();
    let mut take = |result: ClientSessionResult| {
        if let ClientSessionResult::OutboundResponse(packet) = result {
            bytes.extend(packet.bytes);
        }
    };
    take(client.request_connection("app".to_owned()).unwrap());
    bytes
}

/// Feeds `input` in `splits`-sized pieces to a server session as `serve` drives one: requests
/// are accepted, messages are bounded to 64 KiB until a publish, as in `live::rtmp`.
fn drive_server(input: &[u8], split: usize) {
    let (mut session, _) = ServerSession::new(ServerSessionConfig::new()).unwrap();
    session.set_max_message_length(64 * 1024);
    for piece in input.chunks(split.max(1)) {
        let Ok(results) = session.handle_input(piece) else {
            return;
        };
        for result in results {
            if let ServerSessionResult::RaisedEvent(
                ServerSessionEvent::ConnectionRequested { request_id, .. }
                | ServerSessionEvent::PublishStreamRequested { request_id, .. },
            ) = result
                && session.accept_request(request_id).is_err()
            {
                return;
            }
        }
    }
}

proptest! {
    #[test]
    fn rtmp_chunk_layer_never_panics(
        chunks in proptest::collection::vec(chunk(), 0..12),
        after_connect in any::<bool>(),
        split in 1_usize..400,
    ) {
        let mut input = if after_connect { publish_preamble() } else { Vec::new() };
        input.extend(chunks.concat());
        drive_server(&input, split);
    }

    #[test]
    fn rtmp_sessions_never_panic_on_raw_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drive_server(&bytes, 512);
        let mut handshake = Handshake::new(PeerType::Server);
        let _ = handshake.process_bytes(&bytes);
        let (mut client, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
        let _ = client.handle_input(&bytes);
        let _ = client.request_publishing("k".to_owned(), PublishRequestType::Live);
    }
}

/// JSON text: mostly JSON values near the shapes the parsers expect, some arbitrary text.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[a-zA-Z0-9._/-]{0,80}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("BASIC"),
            Just("STANDARD"),
            Just("SEQUENTIAL"),
            Just("LATEST"),
            Just("INTERVAL"),
            Just("ALL"),
            Just("CUSTOM"),
            Just("HD"),
            Just("ivs-recordings"),
        ]
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("destinationConfiguration"),
        Just("s3"),
        Just("bucketName"),
        Just("name"),
        Just("tags"),
        Just("thumbnailConfiguration"),
        Just("recordingMode"),
        Just("targetIntervalSeconds"),
        Just("storage"),
        Just("resolution"),
        Just("renditionConfiguration"),
        Just("renditionSelection"),
        Just("renditions"),
        Just("recordingReconnectWindowSeconds"),
        Just("type"),
        Just("preset"),
        Just("streamKey"),
        Just("recordingConfiguration"),
        Just("other"),
    ];
    let value = leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|map| {
                serde_json::Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    });
    prop_oneof![
        4 => value.prop_map(|v| v.to_string()),
        1 => ".{0,200}",
    ]
}

proptest! {
    #[test]
    fn configuration_and_channels_parsers_never_panic(text in json_text()) {
        if let Ok(request) = CreateRecordingConfigurationRequest::from_json(&text) {
            let _ = request.into_configuration("arn:aws:ivs:us-west-2:123456789012:recording-configuration/x".to_owned());
        }
        let _ = parse_channels(&text, "us-west-2");
        let _ = parse_channels(&format!("[{text}]"), "us-west-2");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn spool_manifest_reader_never_panics(
        info in json_text(),
        lines in proptest::collection::vec(
            prop_oneof![
                json_text(),
                ("[0-9]{1,3}", "[a-z./]{0,40}", 0_u64..10).prop_map(|(seq, key, size)| {
                    format!(r#"{{"seq":{seq},"key":"{key}","content_type":"video/MP2T","size":{size}}}"#)
                }),
            ],
            0..4,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spool.json"), info).unwrap();
        std::fs::write(dir.path().join("manifest.jsonl"), lines.join("\n")).unwrap();
        std::fs::write(dir.path().join("0.bin"), b"x").unwrap();
        let _ = Spool::open(dir.path());
    }
}
