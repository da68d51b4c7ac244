//! quicecho - a QUIC echo server and client on quinn, for xskshim's tests
//! (tests/t_quic.sh).  The server is what runs under the shim: quinn-udp
//! sets its socket up as every quinn application does.
//!
//!   quicecho server ADDR:PORT CERT.der KEY.der CONNS
//!       echoes every bidirectional stream of CONNS connections, then exits;
//!       prints "quicecho: listening ADDR" once bound
//!   quicecho client ADDR:PORT CERT.der ROUND_TRIPS SIZE
//!       one connection, ROUND_TRIPS streams of SIZE bytes each, every
//!       echo compared byte for byte; prints "quicecho: round_trips=N ok=M"
//!       and exits 0 only if every one came back intact
use std::{error::Error, net::SocketAddr, sync::Arc, time::Duration};

type Res<T> = Result<T, Box<dyn Error>>;

fn payload(i: u32, size: usize) -> Vec<u8> {
    (0..size).map(|k| (i as usize * 7 + k * 13) as u8).collect()
}

async fn server(addr: SocketAddr, cert: &str, key: &str, conns: u32) -> Res<()> {
    let cert = rustls::Certificate(std::fs::read(cert)?);
    let key = rustls::PrivateKey(std::fs::read(key)?);
    let mut cfg = quinn::ServerConfig::with_single_cert(vec![cert], key)?;
    let mut transport = quinn::TransportConfig::default();
    transport.max_concurrent_bidi_streams(1024u32.into());
    cfg.transport_config(Arc::new(transport));
    let endpoint = quinn::Endpoint::server(cfg, addr)?;
    println!("quicecho: listening {}", endpoint.local_addr()?);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let connecting = match endpoint.accept().await {
            Some(c) => c,
            None => break,
        };
        tasks.push(tokio::spawn(async move {
            let conn = match connecting.await {
                Ok(c) => c,
                Err(e) => return eprintln!("quicecho: handshake: {}", e),
            };
            let mut streams = 0u64;
            while let Ok((mut send, recv)) = conn.accept_bi().await {
                let data = match recv.read_to_end(1 << 20).await {
                    Ok(d) => d,
                    Err(e) => return eprintln!("quicecho: read: {}", e),
                };
                if send.write_all(&data).await.is_err() || send.finish().await.is_err() {
                    return eprintln!("quicecho: write failed");
                }
                streams += 1;
            }
            println!("quicecho: connection from {} done, {} streams echoed", conn.remote_address(), streams);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    endpoint.wait_idle().await;
    Ok(())
}

async fn client(server: SocketAddr, cert: &str, n: u32, size: usize) -> Res<bool> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(&rustls::Certificate(std::fs::read(cert)?))?;
    let bind: SocketAddr = if server.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" }.parse()?;
    let mut endpoint = quinn::Endpoint::client(bind)?;
    endpoint.set_default_client_config(quinn::ClientConfig::with_root_certificates(roots));
    let conn = endpoint.connect(server, "localhost")?.await?;
    let mut ok = 0u32;
    for i in 0..n {
        let msg = payload(i, size);
        let (mut send, recv) = conn.open_bi().await?;
        send.write_all(&msg).await?;
        send.finish().await?;
        let back = recv.read_to_end(1 << 20).await?;
        if back == msg {
            ok += 1;
        } else {
            eprintln!("quicecho: round trip {}: {} bytes back, differ", i, back.len());
        }
    }
    conn.close(0u32.into(), b"done");
    endpoint.wait_idle().await;
    println!("quicecho: round_trips={} ok={}", n, ok);
    Ok(ok == n)
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let r = rt.block_on(async {
        match a.get(1).map(String::as_str) {
            Some("server") if a.len() == 6 => server(a[2].parse()?, &a[3], &a[4], a[5].parse()?).await.map(|_| true),
            Some("client") if a.len() == 6 => {
                tokio::time::timeout(Duration::from_secs(60), client(a[2].parse()?, &a[3], a[4].parse()?, a[5].parse()?))
                    .await
                    .map_err(|_| "timed out after 60 s")?
            }
            _ => Err("usage: quicecho server ADDR CERT KEY CONNS | client ADDR CERT N SIZE".into()),
        }
    });
    match r {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("quicecho: {}", e);
            std::process::exit(2);
        }
    }
}
