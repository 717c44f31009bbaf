//! The command-line flag parser (a container's command line, a kubelet's /proc cmdline).
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade::snapshot::Flags;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Flags::parse_line(text);
        let words: Vec<&str> = text.split('\0').collect();
        let _ = Flags::parse(&words);
    }
});
