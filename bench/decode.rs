//! The first two pipeline stages alone (capture reading and decoding, with
//! the health account), for comparing with `tcpdump -r F -w /dev/null`,
//! which also only reads packets. Prints what it read.
//!
//!     cargo run --release --example decode -- FILE...

fn main() {
    let inputs: Vec<String> = std::env::args().skip(1).collect();
    let mut health = rstscope::wire::Health::default();
    let mut payload = 0u64;
    let result = rstscope::pipeline::read_segments(&inputs, &mut health, &mut |s| {
        payload += u64::from(s.payload_len);
    });
    if let Err(e) = result {
        eprintln!("decode: {e}");
        std::process::exit(2);
    }
    println!(
        "{} packets, {} TCP segments, {} payload bytes",
        health.packets_read, health.tcp_segments, payload
    );
}
