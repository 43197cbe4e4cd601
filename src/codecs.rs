//! RFC 6381 codec strings for `CODECS=` in the multivariant playlists, read from the streams'
//! own configuration (e.g. `avc1.4D401F` for H.264 Main@3.1, `mp4a.40.2` for AAC-LC). Pure.

/// `avc1.PPCCLL` from H.264 decoder configuration: an `avcC` record (MP4/FLV extradata) or
/// Annex B bytes holding an SPS. `None` when neither is found.
pub fn avc1(config: &[u8]) -> Option<String> {
    let profile = if config.first() == Some(&1) && config.len() >= 4 {
        // avcC: version 1, then profile, compatibility, level.
        &config[1..4]
    } else {
        let sps =
            annex_b_nal_units(config).find(|nal| nal.first().is_some_and(|h| h & 0x1F == 7))?;
        sps.get(1..4)?
    };
    Some(format!(
        "avc1.{:02X}{:02X}{:02X}",
        profile[0], profile[1], profile[2]
    ))
}

/// `mp4a.40.<object type>` from an AAC AudioSpecificConfig; AAC-LC (`mp4a.40.2`) when absent.
pub fn mp4a(audio_specific_config: &[u8]) -> String {
    let object_type = audio_specific_config.first().map_or(2, |b| b >> 3);
    format!("mp4a.40.{}", if object_type == 0 { 2 } else { object_type })
}

/// NAL units of an Annex B byte stream (without their start codes).
fn annex_b_nal_units(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= bytes.len() {
        if bytes[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| s - 3)
        .chain(std::iter::once(bytes.len()))
        .collect();
    starts.into_iter().zip(ends).map(move |(s, e)| {
        let mut end = e;
        while end > s && bytes[end - 1] == 0 {
            end -= 1;
        }
        &bytes[s..end]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avcc_record() {
        // version, profile 0x4D (Main), compat 0x40, level 0x1F (3.1), …
        assert_eq!(
            avc1(&[1, 0x4D, 0x40, 0x1F, 0xFF, 0xE1]).as_deref(),
            Some("avc1.4D401F")
        );
    }

    #[test]
    fn annex_b_sps() {
        let stream = [
            0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x67, 0x64, 0x00, 0x28, 0xAC, 0, 0, 1, 0x68, 0xEE,
        ];
        assert_eq!(avc1(&stream).as_deref(), Some("avc1.640028"));
        assert_eq!(avc1(&[0, 0, 1, 0x68, 0xEE]), None);
        assert_eq!(avc1(&[]), None);
    }

    #[test]
    fn aac_object_types() {
        assert_eq!(mp4a(&[0x11, 0x90]), "mp4a.40.2"); // AAC-LC 48 kHz stereo
        assert_eq!(mp4a(&[0x2B, 0x92]), "mp4a.40.5"); // HE-AAC
        assert_eq!(mp4a(&[]), "mp4a.40.2");
    }
}
