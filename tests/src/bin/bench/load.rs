//! A lean HTTP/1.1 load generator: keep-alive connections on one thread, each sending a request,
//! reading the answer, sending the next. Requests are prepared bytes, so the generator spends
//! little of the two cores it shares with the server under test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Builds request number `sequence` (whole, head and body).
pub type RequestMaker = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// What one run measured.
pub struct Measured {
    /// Answers by status code (0: the connection failed).
    pub statuses: BTreeMap<u16, u64>,
    /// The first answer body of each unexpected status, to say what went wrong.
    pub samples: BTreeMap<u16, String>,
    /// Latency of every answer with the expected status, sorted.
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

impl Measured {
    /// Answers with the expected status.
    pub fn ok(&self) -> u64 {
        self.latencies.len() as u64
    }

    pub fn rate(&self) -> f64 {
        self.ok() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, fraction: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() - 1) as f64 * fraction).round() as usize;
        self.latencies[index]
    }

    /// Answers other than `expected`, by status, for the report.
    pub fn others(&self, expected: u16) -> String {
        let others: Vec<String> = self
            .statuses
            .iter()
            .filter(|(status, _)| **status != expected)
            .map(|(status, count)| {
                let sample = self.samples.get(status).map_or("", String::as_str);
                format!(
                    "{count}×{status} {}",
                    sample.chars().take(120).collect::<String>()
                )
            })
            .collect();
        if others.is_empty() {
            "none".into()
        } else {
            others.join(" ")
        }
    }
}

/// Drives `connections` keep-alive connections to `address` for `duration`, on the calling
/// thread; an answer with `expected` status counts as a success.
pub fn drive(
    address: SocketAddr,
    connections: usize,
    duration: Duration,
    expected: u16,
    make_request: RequestMaker,
) -> Measured {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("load runtime");
    runtime.block_on(async move {
        let started = Instant::now();
        let deadline = started + duration;
        let sequence = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                let (make_request, sequence) = (make_request.clone(), sequence.clone());
                tokio::spawn(connection(
                    address,
                    deadline,
                    expected,
                    make_request,
                    sequence,
                ))
            })
            .collect();
        let mut measured = Measured {
            statuses: BTreeMap::new(),
            samples: BTreeMap::new(),
            latencies: Vec::new(),
            elapsed: Duration::ZERO,
        };
        for worker in workers {
            let (statuses, samples, mut latencies) = worker.await.expect("load worker");
            for (status, count) in statuses {
                *measured.statuses.entry(status).or_default() += count;
            }
            for (status, body) in samples {
                measured.samples.entry(status).or_insert(body);
            }
            measured.latencies.append(&mut latencies);
        }
        measured.elapsed = started.elapsed();
        measured.latencies.sort_unstable();
        measured
    })
}

async fn connection(
    address: SocketAddr,
    deadline: Instant,
    expected: u16,
    make_request: RequestMaker,
    sequence: Arc<std::sync::atomic::AtomicU64>,
) -> (BTreeMap<u16, u64>, BTreeMap<u16, String>, Vec<Duration>) {
    let mut statuses = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut stream: Option<TcpStream> = None;
    let mut buffer = Vec::with_capacity(4096);
    while Instant::now() < deadline {
        if stream.is_none() {
            match TcpStream::connect(address).await {
                Ok(connected) => {
                    let _ = connected.set_nodelay(true);
                    stream = Some(connected);
                }
                Err(_) => {
                    *statuses.entry(0).or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let request = make_request(sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let sent = Instant::now();
        let open = stream.as_mut().expect("connected");
        match exchange(open, &request, &mut buffer).await {
            Some((status, keep_alive)) => {
                *statuses.entry(status).or_default() += 1;
                if status == expected {
                    latencies.push(sent.elapsed());
                } else {
                    samples
                        .entry(status)
                        .or_insert_with(|| String::from_utf8_lossy(&buffer).into_owned());
                }
                if !keep_alive {
                    stream = None;
                }
            }
            None => {
                *statuses.entry(0).or_default() += 1;
                stream = None;
            }
        }
    }
    (statuses, samples, latencies)
}

/// Sends one request and reads its answer: the status and whether the connection stays open;
/// `buffer` is left holding the answer's body.
async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> Option<(u16, bool)> {
    stream.write_all(request).await.ok()?;
    buffer.clear();
    let head_end = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = std::str::from_utf8(&buffer[..head_end]).ok()?;
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let mut content_length = 0usize;
    let mut keep_alive = true;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("connection") && value.trim() == "close" {
            keep_alive = false;
        }
    }
    while buffer.len() < head_end + content_length {
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    buffer.drain(..head_end);
    Some((status, keep_alive))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A POST with a JSON body and the given extra headers, as bytes.
pub fn post(host: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    request
}
