//! A media playlist as a recording that was cut off left it (`serve` killed): how much media it
//! lists, and its text closed with `#EXT-X-ENDLIST` so players and `ffmpeg` stop waiting for more.
//! Pure.

/// What an unfinished playlist lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// The text with `#EXT-X-ENDLIST` added; `None` when it already had one.
    pub closed: Option<String>,
    /// The sum of its `#EXTINF` durations, in ms.
    pub duration_ms: u64,
    /// How many segments it lists.
    pub segments: usize,
}

/// Reads a media playlist's text; `None` when it is not one (no `#EXTM3U` header).
pub fn read(text: &str) -> Option<Unfinished> {
    if !text.starts_with("#EXTM3U") {
        return None;
    }
    let durations: Vec<u64> = text
        .lines()
        .filter_map(|line| line.strip_prefix("#EXTINF:"))
        .map(|rest| {
            let seconds: f64 = rest
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .parse()
                .unwrap_or(0.0);
            (seconds.max(0.0) * 1000.0).round() as u64
        })
        .collect();
    let ended = text.lines().any(|line| line.trim() == "#EXT-X-ENDLIST");
    let closed = (!ended).then(|| {
        let mut closed = text.to_owned();
        if !closed.ends_with('\n') {
            closed.push('\n');
        }
        closed.push_str("#EXT-X-ENDLIST\n");
        closed
    });
    Some(Unfinished {
        closed,
        duration_ms: durations.iter().sum(),
        segments: durations.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.000,\n0.ts\n#EXTINF:9.967,\n1.ts\n";

    #[test]
    fn an_event_playlist_is_closed_and_measured() {
        let found = read(LIVE).unwrap();
        assert_eq!(found.duration_ms, 19_967);
        assert_eq!(found.segments, 2);
        assert_eq!(found.closed.unwrap(), format!("{LIVE}#EXT-X-ENDLIST\n"));
    }

    #[test]
    fn a_closed_playlist_is_left_alone_and_garbage_is_refused() {
        let ended = format!("{LIVE}#EXT-X-ENDLIST\n");
        assert_eq!(read(&ended).unwrap().closed, None);
        assert_eq!(read("#EXTM3U\n").unwrap().segments, 0);
        assert_eq!(read("<html>"), None);
    }
}
