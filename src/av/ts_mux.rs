//! MPEG-TS muxed into memory by libavformat (no files touched), one muxer for a whole stream of a
//! rendition, cut into segments: continuity counters run on from segment to segment as in one
//! continuous transport stream, as IVS's do.
//!
//! The layout of real IVS segments: PAT, PMT on 0x1000 (audio, video, timed ID3), audio AAC
//! (ADTS) on 0x100, video H.264 on 0x101, timed ID3 (stream type 0x15) on 0x102, no SDT. PAT and
//! PMT come only where [`TsMuxer::start_gop`] asks, before each GOP, so every GOP's byte range
//! decodes on its own. libavformat always writes an SDT; its packets are dropped on the way out.
//! libavformat adds what a transport stream needs (Annex B start codes, ADTS headers) when the
//! input comes from MP4/FLV.
//!
//! ffmpeg-next has no custom I/O, so this uses the libavformat C API directly; every raw pointer
//! it holds is owned here and freed in `Drop`.

use std::ffi::{CString, c_int, c_void};
use std::ptr;

use ffmpeg::ffi;
use ffmpeg::packet::Mut as _;
use ffmpeg_next as ffmpeg;

/// PID of the video stream in IVS segments.
pub const VIDEO_PID: i32 = 0x101;
/// PID of the audio stream in IVS segments.
pub const AUDIO_PID: i32 = 0x100;
/// PID of the timed ID3 stream in IVS segments.
pub const ID3_PID: i32 = 0x102;
/// PID of the SDT, which IVS segments do not carry.
const SDT_PID: u16 = 0x11;
/// PID of the PAT.
const PAT_PID: u16 = 0;
/// PID of the PMT in IVS segments.
const PMT_PID: u16 = 0x1000;
/// A transport stream packet.
pub const TS_PACKET: usize = 188;
/// MPEG-TS clock: 90 kHz.
const TS_TIME_BASE: ffi::AVRational = ffi::AVRational {
    num: 1,
    den: 90_000,
};
/// Media time 0 is written as 10 s, so B-frame DTS before the first PTS stay positive.
const TIMESTAMP_OFFSET: i64 = 10 * 90_000;
/// PCR runs this far ahead of DTS (what the ffmpeg CLI uses: 0.7 s).
const MAX_DELAY_MICROS: c_int = 700_000;
/// PAT/PMT and SDT repeat only this rarely on their own (seconds): PAT and PMT come per GOP.
const TABLES_NEVER: &str = "1000000";
const IO_BUFFER: usize = 64 * 1024;
/// `ENOMEM` on Linux, for allocation failures libavformat reports as null pointers.
const ENOMEM: i32 = 12;

/// Why muxing failed.
#[derive(Debug, thiserror::Error)]
pub enum MuxError {
    /// libavformat refused a step.
    #[error("MPEG-TS muxer: {step} failed")]
    Step {
        /// What was being done.
        step: &'static str,
        /// What libavformat said.
        #[source]
        source: ffmpeg::Error,
    },
    /// libavformat refused a packet.
    #[error(
        "MPEG-TS muxer refused a {track} packet at dts {dts_seconds:.3} s, pts {pts_seconds:.3} s \
         (each stream's timestamps must rise)"
    )]
    Packet {
        /// Which stream it belonged to.
        track: &'static str,
        /// Its decode timestamp, in seconds of the input.
        dts_seconds: f64,
        /// Its presentation timestamp, in seconds of the input.
        pts_seconds: f64,
        /// What libavformat said.
        #[source]
        source: ffmpeg::Error,
    },
}

fn check(step: &'static str, code: c_int) -> Result<c_int, MuxError> {
    if code < 0 {
        Err(MuxError::Step {
            step,
            source: ffmpeg::Error::from(code),
        })
    } else {
        Ok(code)
    }
}

/// A stream to mux: its codec parameters and the time base of the packets that will be written.
#[derive(Clone)]
pub struct TsStream {
    /// Codec parameters (from the demuxer or an encoder).
    pub parameters: ffmpeg::codec::Parameters,
    /// Time base of the packets' timestamps.
    pub time_base: ffmpeg::Rational,
}

impl std::fmt::Debug for TsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsStream")
            .field("codec", &self.parameters.id())
            .field("time_base", &self.time_base)
            .finish()
    }
}

/// The streams of one rendition's transport stream: video and, when it has audio, audio.
#[derive(Debug, Clone)]
pub struct TsStreams {
    /// The video stream.
    pub video: TsStream,
    /// The audio stream.
    pub audio: Option<TsStream>,
}

/// Which stream a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// The video stream.
    Video,
    /// The audio stream.
    Audio,
    /// The timed ID3 stream.
    Id3,
}

impl Track {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Id3 => "timed metadata",
        }
    }
}

/// Where the muxer's bytes go: whole TS packets, without the SDT and without the PAT and PMT
/// libavformat repeats before every video keyframe when [`TsMuxer::start_gop`] already put them
/// before the GOP's ID3 tag (the tables' continuity counters are renumbered to stay continuous).
#[derive(Debug, Default)]
struct Sink {
    /// The current segment's packets.
    bytes: Vec<u8>,
    /// The start of a packet whose end has not been written yet.
    carry: Vec<u8>,
    /// A PAT went out and no audio or video since: another one now is a repeat.
    tables_without_media: bool,
    /// A repeated PAT was dropped: drop the PMT that follows it too.
    dropping_pmt: bool,
    /// Next continuity counter of the PAT and of the PMT.
    pat_counter: u8,
    pmt_counter: u8,
}

impl Sink {
    fn take(&mut self, written: &[u8]) {
        self.carry.extend_from_slice(written);
        let whole = self.carry.len() - self.carry.len() % TS_PACKET;
        let carry = std::mem::take(&mut self.carry);
        for packet in carry[..whole].chunks_exact(TS_PACKET) {
            self.keep(packet);
        }
        self.carry = carry[whole..].to_vec();
    }

    fn keep(&mut self, packet: &[u8]) {
        let counter = match packet_pid(packet) {
            Some(SDT_PID) => return,
            Some(PAT_PID) if self.tables_without_media => {
                self.dropping_pmt = true;
                return;
            }
            Some(PMT_PID) if self.dropping_pmt => {
                self.dropping_pmt = false;
                return;
            }
            Some(PAT_PID) => {
                self.tables_without_media = true;
                Some(&mut self.pat_counter)
            }
            Some(PMT_PID) => Some(&mut self.pmt_counter),
            Some(pid) => {
                if pid != ID3_PID as u16 {
                    self.tables_without_media = false;
                }
                None
            }
            None => None,
        };
        let start = self.bytes.len();
        self.bytes.extend_from_slice(packet);
        if let Some(counter) = counter {
            self.bytes[start + 3] = (self.bytes[start + 3] & 0xf0) | (*counter & 0x0f);
            *counter = counter.wrapping_add(1);
        }
    }
}

/// The PID of a TS packet, when it starts with the sync byte.
pub fn packet_pid(packet: &[u8]) -> Option<u16> {
    match packet {
        [0x47, high, low, ..] => Some((u16::from(*high & 0x1f) << 8) | u16::from(*low)),
        _ => None,
    }
}

/// One rendition's transport stream, cut into segments.
pub struct TsMuxer {
    context: *mut ffi::AVFormatContext,
    io: *mut ffi::AVIOContext,
    /// Where the bytes go. Boxed so its address stays fixed for the write callback while the
    /// muxer itself moves.
    sink: Box<Sink>,
    video_time_base: ffmpeg::Rational,
    audio_time_base: Option<ffmpeg::Rational>,
    /// Media-time origin in each input time base: packets are written relative to it.
    video_origin: i64,
    audio_origin: i64,
    has_audio: bool,
}

// SAFETY: the muxer owns its contexts exclusively; nothing else points at them.
unsafe impl Send for TsMuxer {}

impl std::fmt::Debug for TsMuxer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsMuxer")
            .field("bytes", &self.sink.bytes.len())
            .finish_non_exhaustive()
    }
}

unsafe extern "C" fn write_to_sink(opaque: *mut c_void, buffer: *mut u8, size: c_int) -> c_int {
    // SAFETY: `opaque` is the boxed `Sink` of a live `TsMuxer`; libavformat passes `size` valid
    // bytes.
    unsafe {
        let sink = &mut *opaque.cast::<Sink>();
        sink.take(std::slice::from_raw_parts(
            buffer,
            usize::try_from(size).unwrap_or(0),
        ));
    }
    size
}

impl TsMuxer {
    /// Starts a transport stream with `video`, `audio` when present, and the timed ID3 stream.
    /// `origin` is the media-time origin (the recording's first frame) in each input time base:
    /// `(video ticks, audio ticks)`.
    pub fn new(
        video: &TsStream,
        audio: Option<&TsStream>,
        origin: (i64, i64),
    ) -> Result<Self, MuxError> {
        super::init();
        let mut muxer = Self {
            context: ptr::null_mut(),
            io: ptr::null_mut(),
            sink: Box::default(),
            video_time_base: video.time_base,
            audio_time_base: audio.map(|a| a.time_base),
            video_origin: origin.0,
            audio_origin: origin.1,
            has_audio: audio.is_some(),
        };
        // SAFETY: FFI calls on pointers this function allocates and `muxer` frees in Drop.
        unsafe {
            check(
                "allocating the output context",
                ffi::avformat_alloc_output_context2(
                    &mut muxer.context,
                    ptr::null(),
                    c"mpegts".as_ptr(),
                    ptr::null(),
                ),
            )?;
            let buffer = ffi::av_malloc(IO_BUFFER).cast::<u8>();
            if buffer.is_null() {
                return Err(MuxError::Step {
                    step: "allocating the I/O buffer",
                    source: ffmpeg::Error::Other { errno: ENOMEM },
                });
            }
            let opaque: *mut Sink = &mut *muxer.sink;
            muxer.io = ffi::avio_alloc_context(
                buffer,
                IO_BUFFER as c_int,
                1,
                opaque.cast(),
                None,
                Some(write_to_sink),
                None,
            );
            if muxer.io.is_null() {
                ffi::av_free(buffer.cast());
                return Err(MuxError::Step {
                    step: "allocating the I/O context",
                    source: ffmpeg::Error::Other { errno: ENOMEM },
                });
            }
            (*muxer.context).pb = muxer.io;
            (*muxer.context).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
            (*muxer.context).max_delay = MAX_DELAY_MICROS;
            // In IVS's PMT order: audio, video, timed ID3.
            if let Some(audio) = audio {
                muxer.add_stream(audio, AUDIO_PID)?;
            }
            muxer.add_stream(video, VIDEO_PID)?;
            muxer.add_id3_stream()?;
            let mut options: *mut ffi::AVDictionary = ptr::null_mut();
            for (key, value) in [("pat_period", TABLES_NEVER), ("sdt_period", TABLES_NEVER)] {
                let (key, value) = (c_string(key)?, c_string(value)?);
                check(
                    "setting a muxer option",
                    ffi::av_dict_set(&mut options, key.as_ptr(), value.as_ptr(), 0),
                )?;
            }
            let written = ffi::avformat_write_header(muxer.context, &mut options);
            ffi::av_dict_free(&mut options);
            check("writing the header", written)?;
        }
        Ok(muxer)
    }

    unsafe fn add_stream(&mut self, stream: &TsStream, pid: i32) -> Result<(), MuxError> {
        // SAFETY: `self.context` is a valid output context; `stream.parameters` is valid.
        unsafe {
            let st = ffi::avformat_new_stream(self.context, ptr::null());
            if st.is_null() {
                return Err(MuxError::Step {
                    step: "adding a stream",
                    source: ffmpeg::Error::Other { errno: ENOMEM },
                });
            }
            check(
                "copying codec parameters",
                ffi::avcodec_parameters_copy((*st).codecpar, stream.parameters.as_ptr()),
            )?;
            (*(*st).codecpar).codec_tag = 0;
            (*st).id = pid;
            (*st).time_base = TS_TIME_BASE;
        }
        Ok(())
    }

    /// # Safety
    /// `self.context` must be a valid output context whose header is not written yet.
    unsafe fn add_id3_stream(&mut self) -> Result<(), MuxError> {
        // SAFETY: the caller's guarantee; the new stream's codecpar is allocated by libavformat.
        unsafe {
            let st = ffi::avformat_new_stream(self.context, ptr::null());
            if st.is_null() {
                return Err(MuxError::Step {
                    step: "adding the timed ID3 stream",
                    source: ffmpeg::Error::Other { errno: ENOMEM },
                });
            }
            (*(*st).codecpar).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_DATA;
            (*(*st).codecpar).codec_id = ffi::AVCodecID::AV_CODEC_ID_TIMED_ID3;
            (*st).id = ID3_PID;
            (*st).time_base = TS_TIME_BASE;
        }
        Ok(())
    }

    fn stream_index(&self, track: Track) -> c_int {
        let audio = c_int::from(self.has_audio);
        match track {
            Track::Audio => 0,
            Track::Video => audio,
            Track::Id3 => audio + 1,
        }
    }

    /// Writes out what the muxer holds (audio waiting to fill a PES packet) and hands every
    /// byte written so far to the sink, so that what belongs before this point is before it.
    fn flush(&mut self) -> Result<(), MuxError> {
        // SAFETY: the header was written in `new`; a null packet asks the muxer to flush.
        check("flushing the muxer", unsafe {
            ffi::av_write_frame(self.context, ptr::null_mut())
        })?;
        // SAFETY: `io` is the live I/O context.
        unsafe { ffi::avio_flush(self.io) };
        Ok(())
    }

    /// Bytes of the current segment so far, after flushing (the offset the next packet starts
    /// at).
    pub fn position(&mut self) -> Result<u64, MuxError> {
        self.flush()?;
        Ok(self.sink.bytes.len() as u64)
    }

    /// Starts a GOP's byte range: flushes what belongs before it, makes the next packet start
    /// with PAT and PMT, and returns the offset the range starts at. Call before the GOP's ID3
    /// tag and keyframe.
    pub fn start_gop(&mut self) -> Result<u64, MuxError> {
        let offset = self.position()?;
        // SAFETY: `priv_data` is the mpegts muxer's option object while the context lives; both
        // strings are NUL-terminated literals.
        check("asking for PAT and PMT before the keyframe", unsafe {
            ffi::av_opt_set(
                (*self.context).priv_data,
                c"mpegts_flags".as_ptr(),
                c"+resend_headers".as_ptr(),
                0,
            )
        })?;
        Ok(offset)
    }

    /// Writes a timed ID3 tag (the whole tag's bytes) at `pts`, in the video time base.
    pub fn write_id3(&mut self, tag: &[u8], pts: i64) -> Result<(), MuxError> {
        let mut packet = ffmpeg::Packet::copy(tag);
        packet.set_pts(Some(pts));
        packet.set_dts(Some(pts));
        self.write(&packet, Track::Id3)
    }

    /// Writes a packet of `track` (timestamps in that track's input time base).
    pub fn write(&mut self, packet: &ffmpeg::Packet, track: Track) -> Result<(), MuxError> {
        let (time_base, origin) = match track {
            Track::Video | Track::Id3 => (self.video_time_base, self.video_origin),
            Track::Audio => (
                self.audio_time_base.unwrap_or(self.video_time_base),
                self.audio_origin,
            ),
        };
        let seconds = |ts: Option<i64>| {
            ts.map_or(f64::NAN, |ts| {
                ts as f64 * f64::from(time_base.numerator()) / f64::from(time_base.denominator())
            })
        };
        let (dts_seconds, pts_seconds) = (seconds(packet.dts()), seconds(packet.pts()));
        let mut packet = packet.clone();
        let shift =
            |ts: Option<i64>| ts.map(|ts| rescale(ts - origin, time_base) + TIMESTAMP_OFFSET);
        let (pts, dts) = (shift(packet.pts()), shift(packet.dts()));
        packet.set_pts(pts);
        packet.set_dts(dts);
        packet.set_duration(rescale(packet.duration(), time_base));
        packet.set_position(-1);
        packet.set_stream(usize::try_from(self.stream_index(track)).unwrap_or(0));
        // SAFETY: the packet is a valid, owned AVPacket; av_write_frame does not take ownership.
        let code = unsafe { ffi::av_write_frame(self.context, packet.as_mut_ptr()) };
        if code < 0 {
            return Err(MuxError::Packet {
                track: track.name(),
                dts_seconds,
                pts_seconds,
                source: ffmpeg::Error::from(code),
            });
        }
        Ok(())
    }

    /// The current segment's bytes written so far (complete up to the last flush, e.g. up to the
    /// offset [`Self::start_gop`] returned).
    pub fn written(&self) -> &[u8] {
        &self.sink.bytes
    }

    /// Ends the current segment here and returns its bytes; the stream goes on (continuity
    /// counters continue in the next segment).
    pub fn cut(&mut self) -> Result<Vec<u8>, MuxError> {
        self.flush()?;
        Ok(std::mem::take(&mut self.sink.bytes))
    }

    /// Ends the stream: what the muxer still holds is written; returns the last segment's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, MuxError> {
        // SAFETY: the header was written in `new`; the I/O context is live.
        check("writing the trailer", unsafe {
            ffi::av_write_trailer(self.context)
        })?;
        // SAFETY: `io` is the live I/O context.
        unsafe { ffi::avio_flush(self.io) };
        Ok(std::mem::take(&mut self.sink.bytes))
    }
}

impl Drop for TsMuxer {
    fn drop(&mut self) {
        // SAFETY: both pointers were allocated in `new` (or are null) and are freed exactly once.
        unsafe {
            if !self.context.is_null() {
                (*self.context).pb = ptr::null_mut();
                ffi::avformat_free_context(self.context);
            }
            if !self.io.is_null() {
                ffi::av_freep(ptr::addr_of_mut!((*self.io).buffer).cast());
                ffi::avio_context_free(&mut self.io);
            }
        }
    }
}

fn c_string(text: &str) -> Result<CString, MuxError> {
    CString::new(text).map_err(|_| MuxError::Step {
        step: "passing an option with a NUL byte",
        source: ffmpeg::Error::InvalidData,
    })
}

fn rescale(ts: i64, from: ffmpeg::Rational) -> i64 {
    // SAFETY: pure arithmetic.
    unsafe { ffi::av_rescale_q(ts, from.into(), TS_TIME_BASE) }
}
