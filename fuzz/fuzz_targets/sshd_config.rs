//! The agent's sshd_config parser (Include, Match, quoting) on any text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let config = dir.path().join("etc/ssh");
    if std::fs::create_dir_all(&config).is_err() || std::fs::write(config.join("sshd_config"), data).is_err() {
        return;
    }
    let _ = palisade::agent::sshd_config::parse(dir.path(), "/etc/ssh/sshd_config");
});
