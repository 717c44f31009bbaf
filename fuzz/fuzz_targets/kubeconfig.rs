//! The kubeconfig parser: any text gives credentials or an error, never a panic or a file read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade::collect::client::{credentials_from_kubeconfig, FileRefs};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = credentials_from_kubeconfig(text, None, &FileRefs::Refuse);
        let _ = credentials_from_kubeconfig(text, Some("prod"), &FileRefs::Refuse);
    }
});
