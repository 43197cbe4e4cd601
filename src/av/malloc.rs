//! The C allocator FFmpeg's `av_malloc` (and Rust's default global allocator) use: glibc's
//! malloc. By default it raises its mmap threshold each time a large block is freed, so after
//! the first frame-sized buffer (a 1080p picture is 3 MB) such buffers come from the heap and
//! stay in the process when freed. A live server that decodes one keyframe per thumbnail per
//! stream then keeps a picture per stream for nothing. A fixed threshold sends every block of
//! 256 KiB or more back to the OS on free.

/// Blocks this large and larger are mapped and unmapped on their own.
const MMAP_THRESHOLD: i32 = 256 * 1024;

/// Makes large freed blocks go back to the OS at once (glibc only; elsewhere nothing). Returns
/// whether the allocator took the setting.
pub fn return_large_blocks_to_the_os() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// glibc's `M_MMAP_THRESHOLD` parameter of `mallopt`.
        const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: `mallopt` only changes a tuning parameter of glibc's allocator; it is
        // thread-safe and M_MMAP_THRESHOLD with a value below its 32 MiB maximum is valid.
        unsafe { mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
