//! A fault-injecting HTTP proxy for the fault suites: in front of a real server, it answers a
//! share of the requests with a fault instead of the server's answer.
//!
//! Faults, drawn per request from a seeded generator: `503` (the request is not forwarded), a
//! dropped connection (read, not forwarded, closed without an answer), a stall (held longer
//! than the client's read timeout, then closed), and a truncated answer (forwarded: the server
//! acts on it, but only the first half of its answer comes back, so the client cannot know).
//! Each request goes upstream on its own connection (`Connection: close`), and its answer
//! closes the client's connection too. [`FaultStats`] counts what was injected.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy injects.
#[derive(Clone, Copy, Debug)]
pub struct FaultPlan {
    /// Seed of the generator that picks faulted requests and their kind.
    pub seed: u64,
    /// Share of requests faulted, 0.0..=1.0.
    pub rate: f64,
    /// How long a stalled request is held before its connection is closed.
    pub stall: Duration,
}

/// How many requests the proxy saw, and how many it faulted, by kind.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub requests: AtomicUsize,
    pub unavailable: AtomicUsize,
    pub dropped: AtomicUsize,
    pub stalled: AtomicUsize,
    pub truncated: AtomicUsize,
}

impl FaultStats {
    /// Faults injected so far.
    pub fn injected(&self) -> usize {
        [&self.unavailable, &self.dropped, &self.stalled, &self.truncated]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// `requests=N 503=N dropped=N stalled=N truncated=N`.
    pub fn summary(&self) -> String {
        let l = |c: &AtomicUsize| c.load(Ordering::Relaxed);
        format!(
            "requests={} 503={} dropped={} stalled={} truncated={}",
            l(&self.requests),
            l(&self.unavailable),
            l(&self.dropped),
            l(&self.stalled),
            l(&self.truncated)
        )
    }
}

#[derive(Clone, Copy)]
enum Fault {
    Unavailable,
    Drop,
    Stall,
    Truncate,
}

struct Shared {
    upstream: String,
    stats: FaultStats,
    rng: Mutex<u64>,
    /// The rate in parts per million (changed with [`FaultProxy::set_rate`]).
    rate_ppm: AtomicU64,
    stall: Duration,
    stop: AtomicBool,
    /// Every request's connection is dropped: the server stopped answering.
    down: AtomicBool,
    /// Requests with this method (`PUT`) are answered 503, always: a store that stopped
    /// accepting writes while it still answers reads.
    refuse_method: Mutex<Option<String>>,
}

impl Shared {
    fn next(&self) -> u64 {
        // xorshift64*: small, seeded, good enough to spread faults.
        let mut s = self.rng.lock().expect("rng");
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn draw(&self) -> Option<Fault> {
        let rate = self.rate_ppm.load(Ordering::Relaxed);
        if self.next() % 1_000_000 >= rate {
            return None;
        }
        Some(match self.next() % 4 {
            0 => Fault::Unavailable,
            1 => Fault::Drop,
            2 => Fault::Stall,
            _ => Fault::Truncate,
        })
    }
}

/// A running proxy on a loopback port; stops accepting when dropped.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`.
    pub host: String,
    shared: Arc<Shared>,
}

fn ppm(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * 1_000_000.0) as u64
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`host:port`) that injects faults as `plan` says.
    pub fn start(upstream: &str, plan: FaultPlan) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let host = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            stats: FaultStats::default(),
            rng: Mutex::new(plan.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            rate_ppm: AtomicU64::new(ppm(plan.rate)),
            stall: plan.stall,
            stop: AtomicBool::new(false),
            down: AtomicBool::new(false),
            refuse_method: Mutex::new(None),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(client) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(client, &s));
            }
        });
        FaultProxy { host, shared }
    }

    pub fn stats(&self) -> &FaultStats {
        &self.shared.stats
    }

    /// Changes the share of faulted requests (0.0 turns the faults off).
    pub fn set_rate(&self, rate: f64) {
        self.shared.rate_ppm.store(ppm(rate), Ordering::Relaxed);
    }

    /// `true`: every connection is dropped before an answer (the server stopped answering);
    /// `false`: back to the plan.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::Relaxed);
    }

    /// Answers every request with `method` (e.g. `PUT`) 503, while the others pass; `None`
    /// lifts it.
    pub fn refuse_method(&self, method: Option<&str>) {
        *self.shared.refuse_method.lock().unwrap() = method.map(str::to_string);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.host); // wakes the accept loop
    }
}

/// One request read from the client: its head (now with `Connection: close`) and raw body.
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
}

fn read_line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line),
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = Vec::new();
    let mut length: usize = 0;
    let mut chunked = false;
    let mut first = true;
    loop {
        let line = read_line(reader)?;
        if line == "\r\n" || line == "\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        if !first && lower.starts_with("connection:") {
            continue;
        }
        first = false;
        head.extend_from_slice(line.as_bytes());
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = Vec::new();
    if chunked {
        loop {
            let size_line = read_line(reader)?;
            body.extend_from_slice(size_line.as_bytes());
            let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let t = read_line(reader)?;
                    body.extend_from_slice(t.as_bytes());
                    if t == "\r\n" || t == "\n" {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk);
        }
    } else if length > 0 {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some(Request { head, body })
}

fn serve(client: TcpStream, s: &Shared) {
    let Ok(read_half) = client.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut out = client;
    while let Some(req) = read_request(&mut reader) {
        s.stats.requests.fetch_add(1, Ordering::Relaxed);
        if s.down.load(Ordering::Relaxed) {
            s.stats.dropped.fetch_add(1, Ordering::Relaxed);
            let _ = out.shutdown(Shutdown::Both);
            return;
        }
        let refused =
            s.refuse_method.lock().unwrap().as_ref().is_some_and(|m| req.head.starts_with(format!("{m} ").as_bytes()));
        if refused {
            s.stats.unavailable.fetch_add(1, Ordering::Relaxed);
            if out.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n").is_err() {
                return;
            }
            continue;
        }
        let fault = s.draw();
        match fault {
            Some(Fault::Unavailable) => {
                s.stats.unavailable.fetch_add(1, Ordering::Relaxed);
                let answer = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
                if out.write_all(answer).is_err() {
                    return;
                }
                continue; // the connection stays usable
            }
            Some(Fault::Drop) => {
                s.stats.dropped.fetch_add(1, Ordering::Relaxed);
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Stall) => {
                s.stats.stalled.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(s.stall);
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Truncate) | None => {}
        }
        let answer = forward(&s.upstream, &req);
        match (answer, fault) {
            (Some(answer), Some(Fault::Truncate)) => {
                s.stats.truncated.fetch_add(1, Ordering::Relaxed);
                let _ = out.write_all(&answer[..answer.len() / 2]);
            }
            (Some(answer), _) => {
                let _ = out.write_all(&answer);
            }
            (None, _) => {}
        }
        // The server closed after its answer (`Connection: close`), and so does the proxy.
        let _ = out.shutdown(Shutdown::Both);
        return;
    }
}

/// Sends `req` upstream on a new connection; the whole answer, read to the end.
fn forward(upstream: &str, req: &Request) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).ok()?;
    server.write_all(&req.head).ok()?;
    server.write_all(&req.body).ok()?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).ok()?;
    Some(answer)
}
