use std::process::ExitCode;

/// mimalloc instead of the system allocator: the tracker allocates a
/// connection, its timeline and its history for every connection and the
/// output thread frees them; mimalloc's per-thread pages make both sides
/// cheaper than glibc's arenas (bench/PROFILE.md). Transparent huge pages
/// stay off (`no_thp`): they cut TLB misses with 100 000 connections open
/// but add ~15 MB of peak RSS on captures with 1 000 open. mimalloc 2, not
/// 3 (`v2`): Rust asks for every block with its alignment, and mimalloc 3
/// serves an 8-aligned 768-byte connection from the 896-byte class
/// whenever its own class has no free block at hand (a size that is not
/// a power of two is not "naturally aligned" there), which kept every
/// connection at 896 bytes (bench/PROFILE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its index in `mi_option_t`, the same
/// in mimalloc 2 and 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Freed pages go back to the OS at once instead of a second later: the
    // tracker frees and allocates a connection for every one that ends, and
    // with the default delay a second's worth of freed connections stays
    // resident, which raised peak RSS by a quarter (bench/PROFILE.md).
    // SAFETY: sets a plain integer option; mimalloc reads it at each purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    rstscope::cli::run()
}
