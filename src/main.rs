use std::process::ExitCode;

/// mimalloc instead of the system allocator: with 100 000 connections open
/// every segment touches a connection, its timeline and its history at
/// random places, and glibc's 4 KiB-page arenas make each of those a TLB
/// miss as well as a cache miss; mimalloc backs its segments with
/// transparent huge pages and frees the connections the output thread drops
/// without taking the tracker's arena lock (bench/PROFILE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    rstscope::cli::run()
}
