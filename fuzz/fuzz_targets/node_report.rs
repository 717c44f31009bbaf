//! The node agent's report as the ingest endpoint decodes it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade::snapshot::host::NodeReport;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = serde_json::from_slice::<NodeReport>(data) {
        // What decodes must encode again.
        serde_json::to_vec(&r).expect("a decoded report encodes");
        for f in &r.facts.files {
            let _ = f.mode_bits();
            let _ = f.owner_group();
        }
    }
});
