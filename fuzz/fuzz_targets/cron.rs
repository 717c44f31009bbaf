//! Cluster schedules: a cron expression either parses and yields a next time, or is an error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade::registry::schedule::Schedule;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(s) = Schedule::parse(None, Some(text), std::time::Duration::from_secs(3600)) {
            let _ = s.next_after(chrono::Utc::now());
        }
    }
});
