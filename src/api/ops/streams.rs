//! Live streams and stream sessions: GetStream, ListStreams, StopStream, PutMetadata,
//! GetStreamSession, ListStreamSessions. An offline channel answers `ChannelNotBroadcasting`;
//! PutMetadata puts its payload into the live renditions as ID3 timed metadata, at most 5 calls
//! per second per channel.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{Context, get_doc, list_response, required, text};
use crate::api::error::{ApiError, ErrorKind};
use crate::api::pagination::page;
use crate::control::arn::ResourceKind;
use crate::control::documents::playback_url;
use crate::live::registry::LiveStream;
use crate::time::rfc3339_seconds;

/// PutMetadata payloads are at most this many bytes.
pub const MAX_METADATA_BYTES: usize = 1024;

/// The live stream of the request's `channelArn`: `ResourceNotFoundException` for no such
/// channel, `ChannelNotBroadcasting` when it is offline.
fn live_stream(
    context: &Context,
    input: &Map<String, Value>,
) -> Result<(std::sync::Arc<LiveStream>, Value), ApiError> {
    let channel_arn = required(input, "channelArn")?;
    let channel = context
        .catalog()
        .read(|txn| get_doc(txn, ResourceKind::Channel, channel_arn))?;
    let stream = context.registry.live_stream(channel_arn).ok_or_else(|| {
        ApiError::new(
            ErrorKind::ChannelNotBroadcasting,
            format!("the channel {channel_arn} is offline"),
        )
    })?;
    Ok((stream, channel))
}

fn stream_json(stream: &LiveStream, channel: &Value, summary: bool) -> Value {
    let mut json = json!({
        "channelArn": stream.channel_arn,
        "streamId": stream.stream_id,
        "startTime": rfc3339_seconds(stream.start_time),
        "state": "LIVE",
        "health": stream.health().as_str(),
        "viewerCount": stream.playback.viewer_count(),
    });
    if !summary {
        json["playbackUrl"] = json!(playback_url(channel));
    }
    json
}

/// GetStream.
pub fn get(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let (stream, channel) = live_stream(context, input)?;
    Ok(json!({ "stream": stream_json(&stream, &channel, false) }))
}

/// ListStreams, optionally only those of one `filterBy.health`.
pub fn list(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let health = input
        .get("filterBy")
        .and_then(|filter| filter.get("health"))
        .and_then(Value::as_str);
    let streams: Vec<Value> = context
        .registry
        .live_streams()
        .iter()
        .map(|stream| stream_json(stream, &Value::Null, true))
        .filter(|stream| health.is_none_or(|health| stream["health"] == health))
        .collect();
    let (items, next) = page(
        streams,
        |stream| stream["channelArn"].as_str().unwrap_or_default().to_owned(),
        input,
    )?;
    Ok(list_response("streams", items, next))
}

/// StopStream: disconnects the publisher; its session ends as when an encoder disconnects.
pub fn stop(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let (stream, _) = live_stream(context, input)?;
    tracing::info!(stream = %stream.stream_id, "StopStream: disconnecting the publisher");
    stream.stop();
    Ok(json!({}))
}

/// PutMetadata: the payload goes between the publisher's media, and so into the renditions at
/// the media time it arrived.
pub async fn put_metadata(
    context: &Context,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let metadata = required(input, "metadata")?;
    if metadata.len() > MAX_METADATA_BYTES {
        return Err(ApiError::new(
            ErrorKind::Validation,
            format!(
                "metadata: must be at most {MAX_METADATA_BYTES} bytes, has {}",
                metadata.len()
            ),
        ));
    }
    let (stream, _) = live_stream(context, input)?;
    let allowed = context
        .throttle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .allow(&stream.channel_arn, Instant::now());
    if !allowed {
        return Err(ApiError::new(
            ErrorKind::Throttling,
            "PutMetadata: at most 5 calls per second per channel",
        ));
    }
    if !stream.put_metadata(metadata.to_owned()).await {
        return Err(ApiError::new(
            ErrorKind::ChannelNotBroadcasting,
            format!("the channel {} went offline", stream.channel_arn),
        ));
    }
    Ok(Value::Null)
}

/// GetStreamSession: the given one, or the channel's latest.
pub fn get_session(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let channel_arn = required(input, "channelArn")?;
    context
        .catalog()
        .read(|txn| get_doc(txn, ResourceKind::Channel, channel_arn))?;
    let sessions = context.registry.sessions().of_channel(channel_arn);
    let session = match text(input, "streamId") {
        Some(stream_id) => sessions.into_iter().find(|s| s.stream_id == stream_id),
        None => sessions.into_iter().next(),
    }
    .ok_or_else(|| {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!(
                "no stream session {} on channel {channel_arn}",
                text(input, "streamId").unwrap_or("at all")
            ),
        )
    })?;
    let mut json = serde_json::to_value(&session)
        .map_err(|err| ApiError::new(ErrorKind::InternalServer, err.to_string()))?;
    // The deprecated single ingestConfiguration: Track0 of ingestConfigurations.
    if let Some(ingest) = json.get("ingestConfigurations").cloned()
        && let (Some(video), audio) = (
            ingest["videoConfigurations"].get(0),
            ingest["audioConfigurations"].get(0),
        )
    {
        json["ingestConfiguration"] =
            json!({"video": video, "audio": audio.cloned().unwrap_or_else(|| json!({}))});
    }
    strip_nulls(&mut json);
    Ok(json!({ "streamSession": json }))
}

/// Drops `null` members: the API leaves absent members out.
fn strip_nulls(value: &mut Value) {
    if let Value::Object(members) = value {
        members.retain(|_, member| !member.is_null());
        members.values_mut().for_each(strip_nulls);
    }
}

/// ListStreamSessions, newest first.
pub fn list_sessions(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let channel_arn = required(input, "channelArn")?;
    context
        .catalog()
        .read(|txn| get_doc(txn, ResourceKind::Channel, channel_arn))?;
    let sessions = context.registry.sessions().of_channel(channel_arn);
    // Newest first: page over a key that sorts the same way.
    let ordered: Vec<(String, Value)> = sessions
        .iter()
        .enumerate()
        .map(|(n, session)| {
            let mut summary = json!({
                "streamId": session.stream_id,
                "startTime": rfc3339_seconds(session.start_time),
                "hasErrorEvent": session.has_error_event(),
            });
            if let Some(end) = session.end_time {
                summary["endTime"] = json!(rfc3339_seconds(end));
            }
            (format!("{n:010}"), summary)
        })
        .collect();
    let (items, next) = page(ordered, |(key, _)| key.clone(), input)?;
    Ok(list_response(
        "streamSessions",
        items.into_iter().map(|(_, summary)| summary).collect(),
        next,
    ))
}
