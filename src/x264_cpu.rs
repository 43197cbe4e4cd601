//! Which instruction sets x264 may use: every one it detects except AVX-512.
//!
//! x264's AVX-512 code (core 164) reads memory it never wrote while encoding the 160p rung
//! (284 pixels wide, not a whole number of macroblocks): with AVX-512 on, the same 284x160 input
//! encoded to different bytes depending on what the heap held before (glibc `MALLOC_PERTURB_=1`
//! against `=85`), so two recordings of one file made side by side in one process could differ
//! in their 160p30 rendition. x264's AVX2 code gives the same bytes whatever the heap holds (and
//! valgrind, which runs it, finds no uninitialised read), at the same speed here (a 720p
//! `veryfast` encode within run-to-run noise). So on a CPU where x264 would pick AVX-512 it is
//! told to stop at AVX2; on any other CPU it detects the instruction sets itself.

use std::sync::OnceLock;

/// What a CPU offers that decides x264's instruction sets here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuFeatures {
    /// AVX-512 F, CD, BW, DQ and VL: what x264 needs to use its AVX-512 code.
    pub avx512: bool,
    /// AVX2, FMA3, BMI1, BMI2 and LZCNT: everything x264's `AVX2` set turns on.
    pub avx2_set: bool,
}

/// The value of x264's `asm` option for a CPU with `features`; `None` leaves x264's own
/// detection alone.
pub fn x264_instruction_sets_for(features: CpuFeatures) -> Option<&'static str> {
    (features.avx512 && features.avx2_set).then_some("AVX2")
}

/// The value of x264's `asm` option on this machine (see [`x264_instruction_sets_for`]).
pub fn x264_instruction_sets() -> Option<&'static str> {
    static SETS: OnceLock<Option<&'static str>> = OnceLock::new();
    *SETS.get_or_init(|| x264_instruction_sets_for(this_cpu()))
}

#[cfg(target_arch = "x86_64")]
fn this_cpu() -> CpuFeatures {
    use std::arch::is_x86_feature_detected as has;
    CpuFeatures {
        avx512: has!("avx512f")
            && has!("avx512cd")
            && has!("avx512bw")
            && has!("avx512dq")
            && has!("avx512vl"),
        avx2_set: has!("avx2") && has!("fma") && has!("bmi1") && has!("bmi2") && has!("lzcnt"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn this_cpu() -> CpuFeatures {
    CpuFeatures::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_cpu_with_avx512_is_held_at_avx2() {
        let avx512 = CpuFeatures {
            avx512: true,
            avx2_set: true,
        };
        assert_eq!(x264_instruction_sets_for(avx512), Some("AVX2"));
        let avx2 = CpuFeatures {
            avx512: false,
            avx2_set: true,
        };
        assert_eq!(x264_instruction_sets_for(avx2), None);
        assert_eq!(x264_instruction_sets_for(CpuFeatures::default()), None);
        // Never a set the CPU lacks part of: x264 would run instructions it cannot.
        let odd = CpuFeatures {
            avx512: true,
            avx2_set: false,
        };
        assert_eq!(x264_instruction_sets_for(odd), None);
    }
}
