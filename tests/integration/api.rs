//! The IVS control plane driven by a real AWS SDK (boto3): the whole flow from recording
//! configuration to a recording in S3 with timed metadata, the documented error conditions,
//! pagination, state across a restart, signature verification, the events webhook, and a
//! conformance walk over every operation of the model.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use ivs_recorder::api::model::ServiceModel;
use serde_json::{Value, json};

use crate::live_rig::{LiveServer, finish, sample_head, wait_until};
use crate::sdk::{SOME_SIGNATURE, Sdk, raw_request};
use crate::util::http_get;

/// A `--channels` file with one unrecorded channel (the API makes the rest).
const NO_CHANNELS: &str = r#"[{"name":"seeded","type":"BASIC","streamKey":"sk_seeded"}]"#;

fn wait_active(sdk: &mut Sdk, arn: &str) {
    let active = wait_until(Duration::from_secs(10), || {
        sdk.ok("GetRecordingConfiguration", json!({"arn": arn}))["recordingConfiguration"]["state"]
            == "ACTIVE"
    });
    assert!(active, "the recording configuration became ACTIVE");
}

fn wait_live(sdk: &mut Sdk, channel: &str) -> Value {
    let mut stream = Value::Null;
    let live = wait_until(Duration::from_secs(20), || {
        match sdk.call("GetStream", json!({"channelArn": channel})) {
            Ok(answer) => {
                stream = answer["stream"].clone();
                true
            }
            Err(err) => {
                assert_eq!(err.code, "ChannelNotBroadcasting");
                false
            }
        }
    });
    assert!(live, "the channel went live");
    stream
}

fn create_channel(sdk: &mut Sdk, params: Value) -> (String, String) {
    let created = sdk.ok("CreateChannel", params);
    (
        created["channel"]["arn"].as_str().unwrap().to_owned(),
        created["streamKey"]["value"].as_str().unwrap().to_owned(),
    )
}

/// The whole flow against SeaweedFS: configuration → ACTIVE → channel → publish with the returned
/// key → LIVE → PutMetadata → StopStream → the session's events → the recording in S3, its
/// segments carrying the metadata.
#[test]
fn the_sdk_records_a_channel_it_created_into_s3_with_its_metadata() {
    let (endpoint, access_key, secret_key) = crate::seaweedfs::seaweedfs();
    let server = LiveServer::start_binary_with_env(
        NO_CHANNELS,
        &["--store", "s3", "--s3-endpoint", &endpoint],
        &[
            ("AWS_ACCESS_KEY_ID", &access_key),
            ("AWS_SECRET_ACCESS_KEY", &secret_key),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let mut sdk = Sdk::new(server.api_port);
    let created = sdk.ok(
        "CreateRecordingConfiguration",
        json!({"name": "flow", "destinationConfiguration": {"s3": {"bucketName": "ivs-recordings"}},
               "thumbnailConfiguration": {"recordingMode": "INTERVAL", "targetIntervalSeconds": 2}}),
    );
    assert_eq!(created["recordingConfiguration"]["state"], "CREATING");
    let configuration = created["recordingConfiguration"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_active(&mut sdk, &configuration);
    let (channel, key) = create_channel(
        &mut sdk,
        json!({"name": "flow", "type": "BASIC", "recordingConfigurationArn": configuration}),
    );
    // The 12 s sample three times over: StopStream ends it well before, however slow the calls
    // in between are under load.
    let sample = crate::util::sample("720p30-gop2s.mp4");
    let publisher = server.publish_with(
        &key,
        &[
            "-re",
            "-stream_loop",
            "2",
            "-i",
            sample.to_str().unwrap(),
            "-c",
            "copy",
        ],
    );
    let stream = wait_live(&mut sdk, &channel);
    assert_eq!(stream["state"], "LIVE");
    assert_eq!(stream["health"], "HEALTHY");
    assert!(stream["streamId"].as_str().unwrap().starts_with("st-"));
    assert!(stream["startTime"].as_str().unwrap().starts_with("20"));
    // Live channels can be neither updated nor deleted.
    sdk.fails(
        "UpdateChannel",
        json!({"arn": channel, "name": "x"}),
        "ConflictException",
        409,
    );
    sdk.fails(
        "DeleteChannel",
        json!({"arn": channel}),
        "ConflictException",
        409,
    );
    std::thread::sleep(Duration::from_secs(3));
    let payload = r#"{"question":"Which way?","answers":["left","right"]}"#;
    sdk.ok(
        "PutMetadata",
        json!({"channelArn": channel, "metadata": payload}),
    );
    // A burst from parallel connections (an SDK client alone may be too slow under load to
    // send six calls within one second).
    let api_port = server.api_port;
    let burst: Vec<_> = (0..12)
        .map(|_| {
            let body = json!({"channelArn": channel, "metadata": "burst"}).to_string();
            std::thread::spawn(move || {
                let headers = [
                    ("Authorization", SOME_SIGNATURE),
                    ("Content-Type", "application/json"),
                ];
                raw_request(api_port, "POST", "/PutMetadata", &headers, &body)
            })
        })
        .collect();
    let statuses: Vec<u16> = burst.into_iter().map(|t| t.join().unwrap().0).collect();
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 429),
        "{statuses:?}"
    );
    let throttled = statuses.contains(&429);
    assert!(throttled, "more than 5 calls a second are throttled");
    std::thread::sleep(Duration::from_secs(3));
    sdk.ok("StopStream", json!({"channelArn": channel}));
    let (_, _) = finish(publisher, Duration::from_secs(20));
    let offline = wait_until(Duration::from_secs(10), || {
        sdk.call("GetStream", json!({"channelArn": channel}))
            .is_err_and(|err| err.code == "ChannelNotBroadcasting" && err.status == 404)
    });
    assert!(offline, "a stopped channel is offline");
    let recording_end = server.wait_for_events("Recording End", 1, Duration::from_secs(30));
    let prefix = recording_end[0]["detail"]["recording_s3_key_prefix"]
        .as_str()
        .unwrap()
        .to_owned();

    let session =
        sdk.ok("GetStreamSession", json!({"channelArn": channel}))["streamSession"].clone();
    assert_eq!(session["streamId"], stream["streamId"]);
    assert!(session["endTime"].is_string(), "{session}");
    assert_eq!(session["channel"]["arn"], channel);
    assert_eq!(session["recordingConfiguration"]["arn"], configuration);
    let video = &session["ingestConfigurations"]["videoConfigurations"][0];
    assert_eq!(
        (video["videoWidth"].as_u64(), video["videoHeight"].as_u64()),
        (Some(1280), Some(720))
    );
    let names: Vec<&str> = session["truncatedEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["name"].as_str().unwrap())
        .collect();
    for name in [
        "Session Created",
        "Stream Start",
        "Recording Start",
        "Session Ended",
        "Stream End",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(
        names.last(),
        Some(&"Session Created"),
        "newest first: {names:?}"
    );
    let sessions =
        sdk.ok("ListStreamSessions", json!({"channelArn": channel}))["streamSessions"].clone();
    assert_eq!(sessions[0]["streamId"], stream["streamId"]);
    assert_eq!(sessions[0]["hasErrorEvent"], false);

    let objects = crate::seaweedfs::stored_objects(&prefix);
    let segments: Vec<&Vec<u8>> = objects
        .iter()
        .filter(|(key, _)| key.ends_with(".ts"))
        .map(|(_, (bytes, _))| bytes)
        .collect();
    assert!(!segments.is_empty(), "segments in S3: {:?}", objects.keys());
    let carrying = segments
        .iter()
        .filter(|bytes| {
            bytes
                .windows(payload.len())
                .any(|w| w == payload.as_bytes())
        })
        .count();
    assert_eq!(carrying, 1, "exactly one segment carries the metadata");
    assert!(
        objects
            .keys()
            .any(|key| key.ends_with("events/recording-ended.json"))
    );

    // The web console lists the recording from S3, and serves its objects with ranges.
    let (status, _, listing) = http_get(api_port, "/console/api/recordings", &[]);
    assert_eq!(status, 200);
    let listing: Value = serde_json::from_slice(&listing).unwrap();
    let bucket = &listing["buckets"][0];
    assert_eq!(bucket["bucket"], "ivs-recordings", "{listing:#}");
    let recording = bucket["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prefix"] == prefix.as_str())
        .unwrap_or_else(|| panic!("{prefix} in {listing:#}"));
    assert_eq!(recording["state"], "ENDED");
    assert!(recording["metadata"]["media"]["hls"]["duration_ms"].as_u64() > Some(5_000));
    let thumbnails = recording["thumbnails"].as_array().unwrap();
    let thumbnail_objects = objects
        .keys()
        .filter(|key| key.contains("/media/thumbnails/"))
        .count();
    assert_eq!(thumbnails.len(), thumbnail_objects, "{recording:#}");
    let master = format!("{prefix}/media/hls/byte-range-multivariant.m3u8");
    assert_eq!(
        recording["playback"],
        format!("/recordings/ivs-recordings/{master}")
    );
    let (status, _, body) = http_get(api_port, recording["playback"].as_str().unwrap(), &[]);
    assert_eq!((status, &body), (200, &objects[&master].0));
    let (status, _, part) = http_get(
        api_port,
        thumbnails[0].as_str().unwrap(),
        &[("Range", "bytes=0-1")],
    );
    assert_eq!(
        (status, part),
        (206, vec![0xFF, 0xD8]),
        "a JPEG's first bytes"
    );
}

/// The documented error conditions, each with IVS's error shape and a message naming the cause.
#[test]
fn errors_are_answered_as_ivs_answers_them() {
    let server = LiveServer::start(NO_CHANNELS, &[]);
    let mut sdk = Sdk::new(server.api_port);
    let message = sdk.fails(
        "CreateChannel",
        json!({"name": "no spaces allowed"}),
        "ValidationException",
        400,
    );
    assert!(message.contains("name"), "{message}");
    let message = sdk.fails(
        "ListChannels",
        json!({"maxResults": 101}),
        "ValidationException",
        400,
    );
    assert!(
        message.contains("maxResults") && message.contains("100"),
        "{message}"
    );
    sdk.fails(
        "CreateRecordingConfiguration",
        json!({}),
        "ValidationException",
        400,
    );
    sdk.fails(
        "CreateChannel",
        json!({"type": "STANDARD", "preset": "HIGHER_BANDWIDTH_DELIVERY"}),
        "ValidationException",
        400,
    );
    let missing_channel = "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCD1234";
    sdk.fails(
        "GetChannel",
        json!({"arn": missing_channel}),
        "ResourceNotFoundException",
        404,
    );
    sdk.fails("CreateChannel", json!({"recordingConfigurationArn": "arn:aws:ivs:us-west-2:123456789012:recording-configuration/abcdABCD1234"}), "ResourceNotFoundException", 404);
    sdk.fails(
        "ListChannels",
        json!({"nextToken": "%%%"}),
        "ValidationException",
        400,
    );

    let configuration = sdk.ok(
        "CreateRecordingConfiguration",
        json!({"destinationConfiguration": {"s3": {"bucketName": "ivs-recordings"}}}),
    )["recordingConfiguration"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_active(&mut sdk, &configuration);
    let (channel, key) = create_channel(
        &mut sdk,
        json!({"name": "e", "type": "BASIC", "recordingConfigurationArn": configuration}),
    );
    let message = sdk.fails(
        "DeleteRecordingConfiguration",
        json!({"arn": configuration}),
        "ConflictException",
        409,
    );
    assert!(message.contains(&channel), "{message}");
    sdk.fails(
        "ListChannels",
        json!({"filterByName": "e", "filterByRecordingConfigurationArn": configuration}),
        "ConflictException",
        409,
    );
    sdk.fails(
        "CreateStreamKey",
        json!({"channelArn": channel}),
        "ServiceQuotaExceededException",
        402,
    );
    sdk.fails(
        "GetStream",
        json!({"channelArn": channel}),
        "ChannelNotBroadcasting",
        404,
    );
    sdk.fails(
        "StopStream",
        json!({"channelArn": channel}),
        "ChannelNotBroadcasting",
        404,
    );
    sdk.fails(
        "PutMetadata",
        json!({"channelArn": channel, "metadata": "x"}),
        "ChannelNotBroadcasting",
        404,
    );
    sdk.fails(
        "PutMetadata",
        json!({"channelArn": channel, "metadata": "x".repeat(1025)}),
        "ValidationException",
        400,
    );
    sdk.fails(
        "GetStreamSession",
        json!({"channelArn": channel}),
        "ResourceNotFoundException",
        404,
    );
    let tags: serde_json::Map<String, Value> =
        (0..51).map(|n| (format!("k{n}"), json!("v"))).collect();
    sdk.fails(
        "TagResource",
        json!({"resourceArn": channel, "tags": tags}),
        "ValidationException",
        400,
    );

    // Recording switched off with "", then the configuration can go.
    let updated = sdk.ok(
        "UpdateChannel",
        json!({"arn": channel, "recordingConfigurationArn": ""}),
    );
    assert_eq!(updated["channel"]["recordingConfigurationArn"], "");
    sdk.ok(
        "DeleteRecordingConfiguration",
        json!({"arn": configuration}),
    );

    // A deleted key is refused at the next publish.
    let keys = sdk.ok("ListStreamKeys", json!({"channelArn": channel}))["streamKeys"].clone();
    sdk.ok("DeleteStreamKey", json!({"arn": keys[0]["arn"]}));
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 2);
    let (status, _) = finish(server.publish(&key, &input), Duration::from_secs(20));
    assert!(!status.success(), "a deleted key cannot publish");
    sdk.fails(
        "GetStream",
        json!({"channelArn": channel}),
        "ChannelNotBroadcasting",
        404,
    );

    // What no SDK sends: an unknown operation, malformed JSON, no signature.
    let signed = [
        ("Authorization", SOME_SIGNATURE),
        ("Content-Type", "application/json"),
    ];
    let (status, head, body) = raw_request(server.api_port, "POST", "/MakeCoffee", &signed, "{}");
    assert_eq!(status, 404);
    assert!(
        head.contains("x-amzn-errortype: unknownoperationexception"),
        "{head}"
    );
    assert!(body.contains("MakeCoffee"), "{body}");
    let (status, head, body) = raw_request(
        server.api_port,
        "POST",
        "/GetChannel",
        &signed,
        "{\"arn\": ",
    );
    assert_eq!(status, 400);
    assert!(
        head.contains("x-amzn-errortype: validationexception"),
        "{head}"
    );
    assert!(body.contains("not valid JSON"), "{body}");
    let (status, head, _) = raw_request(server.api_port, "POST", "/ListChannels", &[], "{}");
    assert_eq!(status, 403);
    assert!(
        head.contains("x-amzn-errortype: accessdeniedexception"),
        "{head}"
    );
}

/// `maxResults` and `nextToken` walk every item once.
#[test]
fn lists_page_through_every_resource() {
    let server = LiveServer::start(NO_CHANNELS, &[]);
    let mut sdk = Sdk::new(server.api_port);
    let mut created: Vec<String> = (0..24)
        .map(|n| create_channel(&mut sdk, json!({"name": format!("page-{n}")})).0)
        .collect();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = json!({"maxResults": 10});
        if let Some(token) = &token {
            params["nextToken"] = json!(token);
        }
        let page = sdk.ok("ListChannels", params);
        pages += 1;
        for channel in page["channels"].as_array().unwrap() {
            assert!(
                channel.get("ingestEndpoint").is_none(),
                "a summary: {channel}"
            );
            if channel["name"] != "seeded" {
                seen.push(channel["arn"].as_str().unwrap().to_owned());
            }
        }
        match page["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3, "25 channels in pages of 10");
    created.sort();
    seen.sort();
    assert_eq!(seen, created);
    let named = sdk.ok("ListChannels", json!({"filterByName": "page-7"}))["channels"].clone();
    assert_eq!(named.as_array().unwrap().len(), 1);
}

/// `--state`: resources and stream sessions survive a restart; a session that was live when the
/// process died is closed at the next start.
#[test]
fn state_survives_a_killed_server() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let state_arg = state.to_str().unwrap();
    let store = dir.path().join("store");
    let extra = ["--state", state_arg, "--store", store.to_str().unwrap()];
    let mut server = LiveServer::start_binary(NO_CHANNELS, &extra);
    let mut sdk = Sdk::new(server.api_port);
    let configuration = sdk.ok(
        "CreateRecordingConfiguration",
        json!({"destinationConfiguration": {"s3": {"bucketName": "ivs-recordings"}}, "tags": {"team": "video"}}),
    )["recordingConfiguration"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_active(&mut sdk, &configuration);
    let (channel, key) = create_channel(
        &mut sdk,
        json!({"name": "kept", "type": "BASIC", "recordingConfigurationArn": configuration}),
    );
    sdk.ok(
        "TagResource",
        json!({"resourceArn": channel, "tags": {"env": "test"}}),
    );
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 20);
    let publisher = server.publish(&key, &input);
    let stream = wait_live(&mut sdk, &channel);
    server.kill();
    drop(sdk);
    let _ = finish(publisher, Duration::from_secs(30));

    let server = LiveServer::start_binary(NO_CHANNELS, &extra);
    let mut sdk = Sdk::new(server.api_port);
    let kept = sdk.ok("GetChannel", json!({"arn": channel}))["channel"].clone();
    assert_eq!(kept["name"], "kept");
    assert_eq!(kept["recordingConfigurationArn"], configuration);
    let tags = sdk.ok("ListTagsForResource", json!({"resourceArn": channel}))["tags"].clone();
    assert_eq!(tags, json!({"env": "test"}));
    let configuration_doc = sdk.ok("GetRecordingConfiguration", json!({"arn": configuration}));
    assert_eq!(
        configuration_doc["recordingConfiguration"]["tags"],
        json!({"team": "video"})
    );
    let session = sdk.ok(
        "GetStreamSession",
        json!({"channelArn": channel, "streamId": stream["streamId"]}),
    )["streamSession"]
        .clone();
    assert!(
        session["endTime"].is_string(),
        "closed at the restart: {session}"
    );
    let seeded = sdk.ok("ListChannels", json!({"filterByName": "seeded"}))["channels"].clone();
    assert_eq!(
        seeded.as_array().unwrap().len(),
        1,
        "the channels file is not seeded twice"
    );
    // The key still publishes.
    let short = sample_head(dir.path(), "720p30-gop2s.mp4", 2);
    let (status, stderr) = finish(server.publish(&key, &short), Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
}

/// `--api-credentials`: a request signed with the right secret passes, others get IVS's 403.
#[test]
fn signatures_are_verified_with_configured_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials.json");
    std::fs::write(
        &credentials,
        r#"{"accessKeyId": "AKIDLOCAL", "secretAccessKey": "local-secret-key"}"#,
    )
    .unwrap();
    let server = LiveServer::start_binary(
        NO_CHANNELS,
        &["--api-credentials", credentials.to_str().unwrap()],
    );
    let mut good = Sdk::with_credentials(server.api_port, "AKIDLOCAL", "local-secret-key");
    good.ok("ListChannels", json!({}));
    let arn = create_channel(&mut good, json!({"name": "signed"})).0;
    good.ok(
        "TagResource",
        json!({"resourceArn": arn, "tags": {"a": "b"}}),
    );
    good.ok(
        "UntagResource",
        json!({"resourceArn": arn, "tagKeys": ["a"]}),
    );
    let mut wrong = Sdk::with_credentials(server.api_port, "AKIDLOCAL", "not-the-secret");
    let message = wrong.fails("ListChannels", json!({}), "AccessDeniedException", 403);
    assert!(message.contains("signature"), "{message}");
    let mut stranger = Sdk::with_credentials(server.api_port, "AKIDOTHER", "local-secret-key");
    stranger.fails("ListChannels", json!({}), "AccessDeniedException", 403);
    let log = server.log();
    assert!(
        !log.contains("local-secret-key"),
        "the secret is never logged"
    );
}

/// `--events-url`: every event of the file reaches the webhook, in order, through a webhook that
/// fails at first.
#[test]
fn events_reach_a_webhook_that_fails_at_first() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let (sender, received) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for (n, connection) in listener.incoming().enumerate() {
            let Ok(mut connection) = connection else {
                break;
            };
            let mut reader = BufReader::new(connection.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            // The first two deliveries fail.
            let status = if n < 2 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                connection,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            if n >= 2 {
                let _ = sender.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
            }
        }
    });
    let server = LiveServer::start(
        r#"[{"name":"hooked","type":"BASIC","streamKey":"sk_hook"}]"#,
        &["--events-url", &url],
    );
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 2);
    let (status, stderr) = finish(server.publish("sk_hook", &input), Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
    server.wait_for_events("Stream End", 1, Duration::from_secs(20));
    let in_file = server.events();
    let mut delivered = Vec::new();
    while delivered.len() < in_file.len() {
        match received.recv_timeout(Duration::from_secs(20)) {
            Ok(event) => delivered.push(event),
            Err(_) => break,
        }
    }
    let names = |events: &[Value]| {
        events
            .iter()
            .map(crate::live_rig::event_name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&delivered), names(&in_file));
    assert_eq!(delivered[0]["source"], "aws.ivs");
    assert_eq!(delivered[0]["detail-type"], "IVS Stream State Change");
}

/// Every member the model marks required in `shape`, present in `value`, recursively.
fn missing_required(model: &ServiceModel, shape: &str, value: &Value, path: &str) -> Vec<String> {
    let Some(shape) = model.shape(shape) else {
        return vec![];
    };
    match (shape.kind.as_str(), value) {
        ("structure", Value::Object(members)) => {
            let mut missing: Vec<String> = shape
                .required
                .iter()
                .filter(|member| !members.contains_key(member.as_str()))
                .map(|member| format!("{path}.{member}"))
                .collect();
            for (name, member) in &shape.members {
                if let Some(inner) = members.get(name) {
                    missing.extend(missing_required(
                        model,
                        &member.shape,
                        inner,
                        &format!("{path}.{name}"),
                    ));
                }
            }
            missing
        }
        ("list", Value::Array(items)) => items
            .iter()
            .enumerate()
            .flat_map(|(n, item)| {
                missing_required(
                    model,
                    &shape.member.as_ref().unwrap().shape,
                    item,
                    &format!("{path}[{n}]"),
                )
            })
            .collect(),
        _ => vec![],
    }
}

const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAENl0mqU3VAmJxLg4UnchF+T8jIjRShzp/
9IjKXF277f0ZTBx/+tZxbO324HncQqxhP/03IJ8ibgkE3JZ43kDMcQ6duCf9rQlz
jwCzEW+bvjmSOMafDIIE87ScnuWyKCv5
-----END PUBLIC KEY-----
";

/// Every operation of the model answers a valid request with a response the SDK parses and
/// that holds every member the model marks required.
#[test]
fn every_operation_of_the_model_is_answered() {
    let model = ServiceModel::ivs();
    let server = LiveServer::start(NO_CHANNELS, &[]);
    let mut sdk = Sdk::new(server.api_port);
    let mut answered = std::collections::BTreeSet::new();
    let mut call = |sdk: &mut Sdk, operation: &str, params: Value| -> Value {
        let answer = sdk.ok(operation, params);
        let output = model.operations[operation].output.as_ref();
        if let Some(output) = output {
            let missing = missing_required(model, &output.shape, &answer, "");
            assert!(
                missing.is_empty(),
                "{operation} lacks {missing:?}: {answer}"
            );
        }
        answered.insert(operation.to_owned());
        answer
    };
    let arn = |answer: &Value, member: &str| answer[member]["arn"].as_str().unwrap().to_owned();
    let rc = arn(
        &call(
            &mut sdk,
            "CreateRecordingConfiguration",
            json!({"destinationConfiguration": {"s3": {"bucketName": "ivs-recordings"}}}),
        ),
        "recordingConfiguration",
    );
    call(&mut sdk, "GetRecordingConfiguration", json!({"arn": rc}));
    call(&mut sdk, "ListRecordingConfigurations", json!({}));
    let policy = arn(
        &call(
            &mut sdk,
            "CreatePlaybackRestrictionPolicy",
            json!({"allowedCountries": ["US"], "allowedOrigins": ["https://example.com"]}),
        ),
        "playbackRestrictionPolicy",
    );
    call(
        &mut sdk,
        "GetPlaybackRestrictionPolicy",
        json!({"arn": policy}),
    );
    call(&mut sdk, "ListPlaybackRestrictionPolicies", json!({}));
    call(
        &mut sdk,
        "UpdatePlaybackRestrictionPolicy",
        json!({"arn": policy, "name": "p2"}),
    );
    let ad = arn(
        &call(
            &mut sdk,
            "CreateAdConfiguration",
            json!({"mediaTailorPlaybackConfigurations": [{"playbackConfigurationArn": "arn:aws:mediatailor:us-west-2:123456789012:playbackConfiguration/abc"}]}),
        ),
        "adConfiguration",
    );
    call(&mut sdk, "GetAdConfiguration", json!({"arn": ad}));
    call(&mut sdk, "ListAdConfigurations", json!({}));
    call(
        &mut sdk,
        "UpdateAdConfiguration",
        json!({"arn": ad, "name": "ad2"}),
    );
    let slate = arn(
        &call(
            &mut sdk,
            "CreateFailoverSlateConfiguration",
            json!({"name": "slate"}),
        ),
        "failoverSlateConfiguration",
    );
    call(
        &mut sdk,
        "GetFailoverSlateConfiguration",
        json!({"arn": slate}),
    );
    call(&mut sdk, "ListFailoverSlateConfigurations", json!({}));
    call(
        &mut sdk,
        "UpdateFailoverSlateConfiguration",
        json!({"arn": slate, "name": "slate2"}),
    );
    let key_pair = arn(
        &call(
            &mut sdk,
            "ImportPlaybackKeyPair",
            json!({"publicKeyMaterial": PUBLIC_KEY, "name": "kp"}),
        ),
        "keyPair",
    );
    call(&mut sdk, "GetPlaybackKeyPair", json!({"arn": key_pair}));
    call(&mut sdk, "ListPlaybackKeyPairs", json!({}));
    let created = call(
        &mut sdk,
        "CreateChannel",
        json!({"name": "conformance", "type": "BASIC", "recordingConfigurationArn": rc}),
    );
    let channel = arn(&created, "channel");
    let first_key = arn(&created, "streamKey");
    call(&mut sdk, "GetChannel", json!({"arn": channel}));
    call(&mut sdk, "BatchGetChannel", json!({"arns": [channel]}));
    call(&mut sdk, "ListChannels", json!({}));
    call(
        &mut sdk,
        "UpdateChannel",
        json!({"arn": channel, "name": "conformance2"}),
    );
    call(&mut sdk, "GetStreamKey", json!({"arn": first_key}));
    call(&mut sdk, "BatchGetStreamKey", json!({"arns": [first_key]}));
    call(&mut sdk, "ListStreamKeys", json!({"channelArn": channel}));
    call(&mut sdk, "DeleteStreamKey", json!({"arn": first_key}));
    let key =
        call(&mut sdk, "CreateStreamKey", json!({"channelArn": channel}))["streamKey"]["value"]
            .as_str()
            .unwrap()
            .to_owned();
    call(
        &mut sdk,
        "TagResource",
        json!({"resourceArn": channel, "tags": {"a": "b"}}),
    );
    call(
        &mut sdk,
        "ListTagsForResource",
        json!({"resourceArn": channel}),
    );
    call(
        &mut sdk,
        "UntagResource",
        json!({"resourceArn": channel, "tagKeys": ["a"]}),
    );
    call(
        &mut sdk,
        "StartViewerSessionRevocation",
        json!({"channelArn": channel, "viewerId": "viewer-1"}),
    );
    call(
        &mut sdk,
        "BatchStartViewerSessionRevocation",
        json!({"viewerSessions": [{"channelArn": channel, "viewerId": "viewer-1"}]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 20);
    let publisher = server.publish(&key, &input);
    wait_live(&mut sdk, &channel);
    call(&mut sdk, "GetStream", json!({"channelArn": channel}));
    call(&mut sdk, "ListStreams", json!({}));
    call(
        &mut sdk,
        "PutMetadata",
        json!({"channelArn": channel, "metadata": "conformance"}),
    );
    call(
        &mut sdk,
        "InsertAdBreak",
        json!({"channelArn": channel, "durationSeconds": 30}),
    );
    call(&mut sdk, "StopStream", json!({"channelArn": channel}));
    let _ = finish(publisher, Duration::from_secs(30));
    wait_until(Duration::from_secs(10), || {
        sdk.call("GetStream", json!({"channelArn": channel}))
            .is_err()
    });
    call(&mut sdk, "GetStreamSession", json!({"channelArn": channel}));
    call(
        &mut sdk,
        "ListStreamSessions",
        json!({"channelArn": channel}),
    );
    call(&mut sdk, "DeleteChannel", json!({"arn": channel}));
    call(&mut sdk, "DeletePlaybackKeyPair", json!({"arn": key_pair}));
    call(
        &mut sdk,
        "DeletePlaybackRestrictionPolicy",
        json!({"arn": policy}),
    );
    call(&mut sdk, "DeleteAdConfiguration", json!({"arn": ad}));
    call(
        &mut sdk,
        "DeleteFailoverSlateConfiguration",
        json!({"arn": slate}),
    );
    call(&mut sdk, "DeleteRecordingConfiguration", json!({"arn": rc}));
    let all: std::collections::BTreeSet<String> = model.operations.keys().cloned().collect();
    let unanswered: Vec<&String> = all.difference(&answered).collect();
    assert!(unanswered.is_empty(), "never called: {unanswered:?}");
    eprintln!(
        "conformance: {} of {} operations answered",
        answered.len(),
        all.len()
    );
}
