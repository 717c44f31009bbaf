//! The raw TLS readers of `probe tls`: a ServerHello or alert, and a server's first flight.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade::collect::probe::hello::{parse_answer, parse_flight};

fuzz_target!(|data: &[u8]| {
    let _ = parse_answer(data);
    let _ = parse_flight(data);
});
