//! An RTMP publisher whose every byte the test decides: `rml_rtmp`'s client session for the
//! handshake, `connect` and `publish`, then FLV tags (read from a file the ffmpeg CLI made) sent
//! with whatever timestamps the test wants, or raw chunk bytes. The ffmpeg CLI cannot send
//! timestamps that go back or wrap, nor interleave the chunks of two messages.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;

/// One tag of an FLV file.
#[derive(Debug, Clone)]
pub struct FlvTag {
    /// 8 audio, 9 video, 18 script data.
    pub kind: u8,
    /// Its timestamp in ms.
    pub timestamp: u32,
    /// The tag body (what an RTMP message carries).
    pub body: Vec<u8>,
}

/// The audio and video tags of the FLV file at `path`.
pub fn flv_tags(path: &Path) -> Vec<FlvTag> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..3], b"FLV", "{} is an FLV file", path.display());
    let mut at = usize::try_from(u32::from_be_bytes(bytes[5..9].try_into().unwrap())).unwrap() + 4;
    let mut tags = Vec::new();
    while at + 11 <= bytes.len() {
        let header = &bytes[at..at + 11];
        let size =
            usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
        let timestamp = u32::from(header[4]) << 16
            | u32::from(header[5]) << 8
            | u32::from(header[6])
            | u32::from(header[7]) << 24;
        let body = bytes[at + 11..at + 11 + size].to_vec();
        if matches!(header[0], 8 | 9) {
            tags.push(FlvTag {
                kind: header[0],
                timestamp,
                body,
            });
        }
        at += 11 + size + 4;
    }
    tags
}

/// Opens a TCP connection to the server at `port` and completes the RTMP handshake; returns the
/// socket and the bytes the server sent past the handshake.
pub fn handshake(port: u16) -> (TcpStream, Vec<u8>) {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut handshake = Handshake::new(PeerType::Client);
    socket
        .write_all(&handshake.generate_outbound_p0_and_p1().unwrap())
        .unwrap();
    let mut buffer = [0_u8; 8192];
    let left_over = loop {
        let read = socket.read(&mut buffer).unwrap();
        assert!(
            read > 0,
            "the server closed the connection during the handshake"
        );
        match handshake.process_bytes(&buffer[..read]).unwrap() {
            HandshakeProcessResult::InProgress { response_bytes } => {
                socket.write_all(&response_bytes).unwrap();
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                socket.write_all(&response_bytes).unwrap();
                break remaining_bytes;
            }
        }
    };
    (socket, left_over)
}

/// `body` as the chunks of one message on chunk stream `csid` (a type 0 header, then type 3
/// ones), `chunk_size` bytes of payload each.
pub fn message_chunks(
    csid: u8,
    timestamp: u32,
    type_id: u8,
    stream_id: u32,
    body: &[u8],
    chunk_size: usize,
) -> Vec<Vec<u8>> {
    assert!((2..64).contains(&csid) && timestamp < 0xFF_FFFF);
    let length = u32::try_from(body.len()).unwrap();
    body.chunks(chunk_size)
        .enumerate()
        .map(|(index, part)| {
            let mut chunk = if index == 0 {
                let mut header = vec![csid];
                header.extend_from_slice(&timestamp.to_be_bytes()[1..]);
                header.extend_from_slice(&length.to_be_bytes()[1..]);
                header.push(type_id);
                header.extend_from_slice(&stream_id.to_le_bytes());
                header
            } else {
                vec![0xC0 | csid]
            };
            chunk.extend_from_slice(part);
            chunk
        })
        .collect()
}

/// Whether the server closes `socket` within `within` (reads until EOF or an error).
pub fn closed_by_server(socket: &mut TcpStream, within: Duration) -> bool {
    socket.set_read_timeout(Some(within)).unwrap();
    let mut sink = [0_u8; 4096];
    loop {
        match socket.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) => {
                return !matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

/// A publishing connection.
pub struct RawPublisher {
    socket: TcpStream,
    session: ClientSession,
}

impl RawPublisher {
    /// Connects to `rtmp://127.0.0.1:port/app/key` and publishes; panics unless accepted.
    pub fn connect(port: u16, key: &str) -> Self {
        let (socket, left_over) = handshake(port);
        let mut buffer = [0_u8; 8192];
        let (session, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
        let mut publisher = Self { socket, session };
        let request = publisher
            .session
            .request_connection("app".to_owned())
            .unwrap();
        publisher.send_results(vec![request]);
        let mut input = left_over;
        let mut requested_publish = false;
        loop {
            let results = publisher.session.handle_input(&input).unwrap();
            for result in &results {
                if let ClientSessionResult::RaisedEvent(event) = result {
                    match event {
                        ClientSessionEvent::ConnectionRequestAccepted if !requested_publish => {
                            requested_publish = true;
                            let publish = publisher
                                .session
                                .request_publishing(key.to_owned(), PublishRequestType::Live)
                                .unwrap();
                            publisher.send_results(vec![publish]);
                        }
                        ClientSessionEvent::PublishRequestAccepted => {
                            publisher.send_results(results);
                            return publisher;
                        }
                        _ => {}
                    }
                }
            }
            publisher.send_results(results);
            let read = publisher.socket.read(&mut buffer).unwrap();
            assert!(
                read > 0,
                "the server closed the connection before accepting the publish"
            );
            input = buffer[..read].to_vec();
        }
    }

    fn send_results(&mut self, results: Vec<ClientSessionResult>) {
        for result in results {
            if let ClientSessionResult::OutboundResponse(packet) = result {
                self.socket.write_all(&packet.bytes).unwrap();
            }
        }
    }

    /// Sends `tag` with `timestamp` (ms, wrapping as RTMP's clock does). `false` once the server
    /// has closed the connection.
    pub fn send(&mut self, tag: &FlvTag, timestamp: u32) -> bool {
        let data = bytes::Bytes::from(tag.body.clone());
        let at = RtmpTimestamp::new(timestamp);
        let packet = match tag.kind {
            9 => self.session.publish_video_data(data, at, false),
            _ => self.session.publish_audio_data(data, at, false),
        }
        .unwrap();
        self.write_raw(&match packet {
            ClientSessionResult::OutboundResponse(packet) => packet.bytes,
            _ => Vec::new(),
        })
    }

    /// Writes `bytes` as they are. `false` once the server has closed the connection.
    pub fn write_raw(&mut self, bytes: &[u8]) -> bool {
        self.socket.write_all(bytes).is_ok()
    }

    /// Closes the connection, as a publisher that stops does.
    pub fn close(self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}
