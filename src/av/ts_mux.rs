//! MPEG-TS segments muxed into memory by libavformat (no files touched).
//!
//! PIDs as in real IVS segments: video H.264 on 0x101, audio AAC (ADTS) on 0x100, PMT on 0x1000.
//! libavformat adds what a transport stream needs (Annex B start codes, ADTS headers) when the
//! input comes from MP4/FLV. [`TsMuxer::start_gop`] re-emits PAT and PMT before a keyframe and
//! returns its byte offset, so every GOP chunk of the byte-range playlist decodes on its own.
//!
//! ffmpeg-next has no custom I/O, so this uses the libavformat C API directly; every raw pointer
//! it holds is owned here and freed in `Drop`.

use std::ffi::{c_int, c_void};
use std::ptr;

use ffmpeg::ffi;
use ffmpeg::packet::Mut as _;
use ffmpeg_next as ffmpeg;

/// PID of the video stream in IVS segments.
pub const VIDEO_PID: i32 = 0x101;
/// PID of the audio stream in IVS segments.
pub const AUDIO_PID: i32 = 0x100;
/// MPEG-TS clock: 90 kHz.
const TS_TIME_BASE: ffi::AVRational = ffi::AVRational {
    num: 1,
    den: 90_000,
};
/// Media time 0 is written as 10 s, so B-frame DTS before the first PTS stay positive.
const TIMESTAMP_OFFSET: i64 = 10 * 90_000;
/// PCR runs this far ahead of DTS (what the ffmpeg CLI uses: 0.7 s).
const MAX_DELAY_MICROS: c_int = 700_000;
const IO_BUFFER: usize = 64 * 1024;
/// `ENOMEM` on Linux, for allocation failures libavformat reports as null pointers.
const ENOMEM: i32 = 12;
/// `SEEK_CUR` (`whence` of `avio_seek`).
const SEEK_CUR: c_int = 1;

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
}

/// One segment being muxed.
pub struct TsMuxer {
    context: *mut ffi::AVFormatContext,
    io: *mut ffi::AVIOContext,
    /// Where the bytes go. Boxed so its address stays fixed for the write callback while the
    /// muxer itself moves.
    #[allow(
        clippy::box_collection,
        reason = "the Vec's own address is handed to C"
    )]
    sink: Box<Vec<u8>>,
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
            .field("bytes", &self.sink.len())
            .finish_non_exhaustive()
    }
}

unsafe extern "C" fn write_to_sink(opaque: *mut c_void, buffer: *mut u8, size: c_int) -> c_int {
    // SAFETY: `opaque` is the `Box<Vec<u8>>` of a live `TsMuxer`; libavformat passes `size` valid bytes.
    unsafe {
        let sink = &mut *opaque.cast::<Vec<u8>>();
        sink.extend_from_slice(std::slice::from_raw_parts(
            buffer,
            usize::try_from(size).unwrap_or(0),
        ));
    }
    size
}

impl TsMuxer {
    /// Starts a segment with `video` and, when present, `audio`. `origin` is the media-time origin
    /// (the recording's first frame) in each input time base: `(video ticks, audio ticks)`.
    pub fn new(
        video: &TsStream,
        audio: Option<&TsStream>,
        origin: (i64, i64),
    ) -> Result<Self, MuxError> {
        super::init();
        let mut muxer = Self {
            context: ptr::null_mut(),
            io: ptr::null_mut(),
            sink: Box::new(Vec::with_capacity(1 << 20)),
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
            let opaque: *mut Vec<u8> = &mut *muxer.sink;
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
            // Audio first so that its PID order matches IVS's (0x100 audio, 0x101 video).
            if let Some(audio) = audio {
                muxer.add_stream(audio, AUDIO_PID)?;
            }
            muxer.add_stream(video, VIDEO_PID)?;
            check(
                "writing the header",
                ffi::avformat_write_header(muxer.context, ptr::null_mut()),
            )?;
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

    fn stream_index(&self, track: Track) -> c_int {
        match (track, self.has_audio) {
            (Track::Audio, _) | (Track::Video, false) => 0,
            (Track::Video, true) => 1,
        }
    }

    /// Bytes written so far (the offset the next packet starts at).
    pub fn position(&mut self) -> u64 {
        // SAFETY: `io` is the live I/O context; seeking by 0 from the current position is `avio_tell`.
        let position = unsafe { ffi::avio_seek(self.io, 0, SEEK_CUR) };
        u64::try_from(position).unwrap_or(0)
    }

    /// Makes the next packet start with PAT and PMT and returns the byte offset it starts at:
    /// call before a GOP's keyframe.
    pub fn start_gop(&mut self) -> Result<u64, MuxError> {
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
        Ok(self.position())
    }

    /// Writes a packet of `track` (timestamps in that track's input time base).
    pub fn write(&mut self, packet: &ffmpeg::Packet, track: Track) -> Result<(), MuxError> {
        let (time_base, origin) = match track {
            Track::Video => (self.video_time_base, self.video_origin),
            Track::Audio => (
                self.audio_time_base.unwrap_or(self.video_time_base),
                self.audio_origin,
            ),
        };
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
        check("writing a packet", unsafe {
            ffi::av_write_frame(self.context, packet.as_mut_ptr())
        })?;
        Ok(())
    }

    /// Finishes the segment and returns its bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, MuxError> {
        // SAFETY: the header was written in `new`; the I/O context is live.
        unsafe {
            check("writing the trailer", ffi::av_write_trailer(self.context))?;
            ffi::avio_flush(self.io);
        }
        Ok(std::mem::take(&mut *self.sink))
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

fn rescale(ts: i64, from: ffmpeg::Rational) -> i64 {
    // SAFETY: pure arithmetic.
    unsafe { ffi::av_rescale_q(ts, from.into(), TS_TIME_BASE) }
}
