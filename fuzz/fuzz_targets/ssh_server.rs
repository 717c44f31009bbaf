//! The SSH probe's transport against whatever a server sends: the version line, binary packets,
//! KEXINIT and the name-lists, up to the key exchange. Every length is bounded before it is
//! allocated for, and nothing panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade::collect::probe::ssh::wire::{KexInit, Transport};
use tokio::io::AsyncWriteExt;

fuzz_target!(|data: &[u8]| {
    let _ = KexInit::parse(data);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (mut server, client) = tokio::io::duplex(1 << 16);
        let data = data.to_vec();
        let feed = async move {
            let _ = server.write_all(&data).await;
            let _ = server.shutdown().await;
            // Keep the reading end's peer alive until the client is done.
            let mut sink = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut server, &mut sink).await;
        };
        let read = async move {
            let mut t = Transport::new(client);
            if t.read_version().await.is_err() {
                return;
            }
            for _ in 0..8 {
                match t.recv_message().await {
                    Ok(m) => {
                        let _ = KexInit::parse(&m);
                    }
                    Err(_) => return,
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async { tokio::join!(feed, read) }).await;
    });
});
