//! The dump reader on one file's bytes, as a YAML list, a JSON list, a static pod manifest and a
//! kubelet configuration: items or errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade::collect::dump::read_file;

fuzz_target!(|data: &[u8]| {
    for name in ["pods.yaml", "pods.json", "manifests/cp-1/kube-apiserver.yaml", "kubelet/worker-1.yaml", "sim.yaml"] {
        read_file(name, data, |_| {});
    }
});
