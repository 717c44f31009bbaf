//! Real OpenSSH servers (`openssh-server`, installed by scripts/test.sh) on loopback ports, each
//! with its own host keys and configuration, killed and reaped on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One sshd, listening on `127.0.0.1:port`.
pub struct Sshd {
    child: Child,
    pub port: u16,
}

/// Host keys of every type sshd serves by default, made once per directory.
fn host_keys(dir: &Path) -> Vec<PathBuf> {
    ["ed25519", "rsa", "ecdsa"]
        .iter()
        .map(|t| {
            let path = dir.join(format!("host_{t}"));
            if !path.exists() {
                let ok = Command::new("ssh-keygen")
                    .args(["-q", "-t", t, "-N", "", "-f"])
                    .arg(&path)
                    .status()
                    .expect("ssh-keygen is installed (openssh-client)");
                assert!(ok.success(), "ssh-keygen -t {t} failed");
            }
            path
        })
        .collect()
}

impl Sshd {
    /// Start sshd with `extra` appended to a minimal configuration (its own host keys, no PAM, on
    /// loopback), after `sshd -t` accepts it.
    pub fn start(dir: &Path, extra: &str) -> Sshd {
        std::fs::create_dir_all("/run/sshd").expect("the privilege separation directory");
        let port = free_port();
        let mut config =
            format!("ListenAddress 127.0.0.1\nPort {port}\nPidFile none\nUsePAM no\nStrictModes no\n");
        for key in host_keys(dir) {
            config.push_str(&format!("HostKey {}\n", key.display()));
        }
        // Match blocks must come last: everything after a Match belongs to it.
        config.push_str(extra);
        let path = dir.join(format!("sshd-{port}.conf"));
        std::fs::write(&path, config).unwrap();
        let test =
            Command::new(SSHD).arg("-t").arg("-f").arg(&path).output().expect("openssh-server is installed");
        assert!(
            test.status.success(),
            "sshd -t refused the config: {}",
            String::from_utf8_lossy(&test.stderr)
        );
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not start listening on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sshd { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
