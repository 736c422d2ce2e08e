//! A fault-injecting HTTP/1.1 proxy for end-to-end tests: it stands between a
//! client and baton-server on 127.0.0.1 and, per request, passes it through or
//! breaks it the ways real networks and middleboxes do — a delay, a dropped
//! connection before or after the server saw the request, a reset or a clean
//! close in the middle of the answer, an HTML error page from a "load
//! balancer", or a 200 that is not Baton's JSON.
//!
//! It runs on its own thread with its own tokio runtime, so tests may block
//! on the CLI while it serves. Each client connection may carry several
//! requests (keep-alive). Each forwarded request goes to the server on a
//! fresh connection with `Connection: close`; the whole answer is read, then
//! written back (or broken) at once. `GET /v1/stream` is piped both ways
//! after its head for as long as either side keeps it open.
//!
//! What to break is a schedule: faults queued with [`FaultProxy::queue`] are
//! consumed one per request, in order; when the queue is empty the [`Mode`]
//! decides (pass everything, one fault always, or seeded random faults).
//! [`FaultProxy::faults_on`] limits faults to some paths; other requests
//! pass untouched and consume nothing. Every request is logged with the
//! fault it met, for assertion messages.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it and answer with the server's response.
    Pass,
    /// Wait, then as [`Fault::Pass`].
    Delay(Duration),
    /// Close the client's connection without forwarding: the server never
    /// sees the request.
    DropBeforeForward,
    /// Forward it (the server applies it), then close the client's
    /// connection without answering: "did it land?".
    DropAfterForward,
    /// Forward it, write half of the response, then reset the connection (RST).
    ResetMidBody,
    /// Forward it, write the response's head and part of its body, then close
    /// the connection cleanly (FIN).
    Truncate,
    /// Answer with this status and a proxy's HTML error page, without
    /// forwarding (a load balancer's 404, 403, 413, 502, 503…).
    Html(u16),
    /// Answer `200 OK` with `application/json` that is not Baton's
    /// (`{"hello":"older server"}`), without forwarding.
    Garbage200,
    /// A half-open connection: a stream's first bytes (its `ready` event)
    /// get through, then nothing more in either direction, without a close.
    /// An ordinary request is forwarded and never answered.
    GoSilent,
}

impl Fault {
    /// Whether the server sees the request under this fault.
    pub fn forwards(self) -> bool {
        !matches!(
            self,
            Fault::DropBeforeForward | Fault::Html(_) | Fault::Garbage200
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Delay(d) => write!(f, "Delay({} ms)", d.as_millis()),
            Fault::Html(s) => write!(f, "Html({s})"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A tiny xorshift64* generator: reproducible faults from a seed.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // splitmix64 of the seed: nearby seeds give unrelated streams, and
        // the state is never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Seeded random faults: each request meets a fault with probability
/// `rate`, picked uniformly from `choices` (a [`Fault::Delay`] among them
/// gets a random length up to its own).
#[derive(Clone, Debug)]
pub struct RandomFaults {
    pub rng: XorShift,
    pub rate: f64,
    pub choices: Vec<Fault>,
}

impl RandomFaults {
    /// Every fault: delays up to 300 ms, drops before and after forwarding,
    /// resets and truncations mid-answer, HTML error pages 404, 403, 413,
    /// 502 and 503, and a 200 that is not Baton's answer.
    pub fn all_faults() -> Vec<Fault> {
        vec![
            Fault::Delay(Duration::from_millis(300)),
            Fault::DropBeforeForward,
            Fault::DropAfterForward,
            Fault::ResetMidBody,
            Fault::Truncate,
            Fault::Html(404),
            Fault::Html(403),
            Fault::Html(413),
            Fault::Html(502),
            Fault::Html(503),
            Fault::Garbage200,
        ]
    }

    pub fn new(seed: u64, rate: f64) -> RandomFaults {
        RandomFaults {
            rng: XorShift::new(seed),
            rate,
            choices: Self::all_faults(),
        }
    }

    fn pick(&mut self) -> Fault {
        if self.choices.is_empty() || self.rng.next_f64() >= self.rate {
            return Fault::Pass;
        }
        let i = self.rng.below(self.choices.len() as u64) as usize;
        match self.choices[i] {
            Fault::Delay(max) => {
                let ms = max.as_millis().max(1) as u64;
                Fault::Delay(Duration::from_millis(1 + self.rng.below(ms)))
            }
            f => f,
        }
    }
}

/// What happens to requests once the queue of faults is empty.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Every request passes.
    Pass,
    /// Every request meets this fault.
    Always(Fault),
    Random(RandomFaults),
}

/// One request the proxy handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    /// The client connection it came on (1, 2, …): several requests on one
    /// connection were kept alive.
    pub conn: u64,
    pub method: String,
    /// The request target, query included.
    pub path: String,
    pub fault: Fault,
}

impl fmt::Display for Handled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} → {}",
            self.conn, self.method, self.path, self.fault
        )
    }
}

struct Schedule {
    queue: VecDeque<Fault>,
    mode: Mode,
    /// Path patterns that may meet faults (empty: every path). A `*` segment
    /// matches any one segment; a pattern matches the paths it is a
    /// segment-wise prefix of (the query is ignored).
    filter: Vec<String>,
}

struct Shared {
    target: String,
    schedule: Mutex<Schedule>,
    log: Mutex<Vec<Handled>>,
    conns: AtomicU64,
}

impl Shared {
    fn decide(&self, method: &str, path: &str, conn: u64) -> Fault {
        let fault = {
            let mut s = self.schedule.lock().unwrap();
            if !s.filter.is_empty() && !s.filter.iter().any(|p| path_matches(p, path)) {
                Fault::Pass
            } else if let Some(f) = s.queue.pop_front() {
                f
            } else {
                match &mut s.mode {
                    Mode::Pass => Fault::Pass,
                    Mode::Always(f) => *f,
                    Mode::Random(r) => r.pick(),
                }
            }
        };
        self.log.lock().unwrap().push(Handled {
            conn,
            method: method.to_string(),
            path: path.to_string(),
            fault,
        });
        fault
    }
}

/// Whether `pattern` (segments, `*` for any one) is a prefix of `path`'s segments.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut have = path.split('/').filter(|s| !s.is_empty());
    pattern
        .split('/')
        .filter(|s| !s.is_empty())
        .all(|want| have.next().is_some_and(|got| want == "*" || want == got))
}

/// A running proxy in front of one server. Dropping it closes its listener
/// and every connection through it.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: give this to the client as its server.
    pub base: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Longest a request head may be, and longest the server may take to answer.
const MAX_HEAD: usize = 64 * 1024;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(40);

impl FaultProxy {
    /// Starts a proxy in front of `target` (a base URL such as
    /// `http://127.0.0.1:7878`, or `host:port`), passing everything.
    pub fn start(target: &str) -> FaultProxy {
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            target,
            schedule: Mutex::new(Schedule {
                queue: VecDeque::new(),
                mode: Mode::Pass,
                filter: Vec::new(),
            }),
            log: Mutex::new(Vec::new()),
            conns: AtomicU64::new(0),
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let accept_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("proxy listener");
                    let mut stop_rx = stop_rx;
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => break,
                            accepted = listener.accept() => {
                                let Ok((sock, _)) = accepted else { continue };
                                let shared = accept_shared.clone();
                                let conn = shared.conns.fetch_add(1, Ordering::Relaxed) + 1;
                                tokio::spawn(async move {
                                    let _ = serve_connection(shared, sock, conn).await;
                                });
                            }
                        }
                    }
                    drop(listener);
                });
                // Dropping the runtime cancels every connection's task and
                // closes its sockets.
                drop(rt);
            })
            .expect("proxy thread");
        FaultProxy {
            base: format!("http://{addr}"),
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Queues faults for the next matching requests, one each, in order.
    pub fn queue(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.schedule.lock().unwrap().queue.extend(faults);
    }

    /// What matching requests meet once the queue is empty.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.schedule.lock().unwrap().mode = mode;
    }

    /// Seeded random faults on a share `rate` of matching requests
    /// (see [`RandomFaults::all_faults`]).
    pub fn random(&self, seed: u64, rate: f64) {
        self.set_mode(Mode::Random(RandomFaults::new(seed, rate)));
    }

    /// Stops every fault: clears the queue, and every request passes.
    pub fn pass_through(&self) {
        let mut s = self.shared.schedule.lock().unwrap();
        s.queue.clear();
        s.mode = Mode::Pass;
    }

    /// Only requests whose path matches one of these patterns meet faults
    /// (`/v1/sync`, `/v1/leads/*/feedback`, …); an empty list: every request.
    pub fn faults_on(&self, patterns: &[&str]) {
        self.shared.schedule.lock().unwrap().filter =
            patterns.iter().map(|p| p.to_string()).collect();
    }

    /// Faults still queued.
    pub fn queued(&self) -> usize {
        self.shared.schedule.lock().unwrap().queue.len()
    }

    /// Every request handled so far, in arrival order.
    pub fn log(&self) -> Vec<Handled> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The log as lines, for assertion messages.
    pub fn log_text(&self) -> String {
        self.log()
            .iter()
            .map(|h| format!("  {h}\n"))
            .collect::<String>()
    }

    /// Closes the listener and every connection: the address then refuses
    /// connections, as a server that is down does.
    pub fn close(self) {}
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One parsed request head, and its body.
struct Request {
    method: String,
    path: String,
    /// The head's header lines, as received (no request line, no blank line).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The client asked to close after this request.
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The head to send upstream; `close` rewrites it to `Connection: close`.
    fn head(&self, close: bool) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        for (k, v) in &self.headers {
            let hop = ["connection", "keep-alive", "proxy-connection"]
                .iter()
                .any(|h| k.eq_ignore_ascii_case(h));
            if close && hop {
                continue;
            }
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Reads one request from the client; `None` when the client closed first.
/// `buf` carries bytes read past one request into the next.
async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<Request>> {
    let head_len = loop {
        if let Some(n) = find_head_end(buf) {
            break n;
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too long"));
        }
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
    buf.drain(..head_len);
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let version = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut req = Request {
        method,
        path,
        headers,
        body: Vec::new(),
        close: false,
    };
    if req
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    {
        return Err(std::io::Error::other(
            "the fault proxy does not support chunked request bodies",
        ));
    }
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < len {
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    req.body = buf.drain(..len).collect();
    let conn = req.header("connection").map(str::to_ascii_lowercase);
    req.close = match conn.as_deref() {
        Some(c) if c.contains("close") => true,
        Some(c) if c.contains("keep-alive") => false,
        _ => version == "HTTP/1.0",
    };
    Ok(Some(req))
}

/// A response read whole from the server, rewritten for the client.
struct Response {
    bytes: Vec<u8>,
    head_len: usize,
    /// The body runs to the end of the connection: close after writing it.
    close_delimited: bool,
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        _ => "Error",
    }
}

/// A load balancer's error page (what nginx sends).
fn html_page(status: u16) -> Vec<u8> {
    let reason = reason_phrase(status);
    let body = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n\
         <center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n\
         </body>\r\n</html>\r\n"
    );
    format!(
        "HTTP/1.1 {status} {reason}\r\nServer: nginx\r\nContent-Type: text/html\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn garbage_200() -> Vec<u8> {
    let body = r#"{"hello":"older server"}"#;
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends the request to the server on a fresh connection with
/// `Connection: close` and reads the whole answer. `None`: the server could
/// not be reached or answered nothing (the client then gets a 502 page, as
/// from a real proxy).
async fn forward(target: &str, req: &Request) -> Option<Response> {
    let exchange = async {
        let mut up = TcpStream::connect(target).await?;
        let _ = up.set_nodelay(true);
        let mut out = req.head(true);
        out.extend_from_slice(&req.body);
        up.write_all(&out).await?;
        let mut raw = Vec::new();
        up.read_to_end(&mut raw).await?;
        std::io::Result::Ok(raw)
    };
    let raw = match tokio::time::timeout(UPSTREAM_TIMEOUT, exchange).await {
        Ok(Ok(raw)) => raw,
        _ => return None,
    };
    let head_len = find_head_end(&raw)?;
    let head = String::from_utf8_lossy(&raw[..head_len]).into_owned();
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let status_line = lines.next()?.to_string();
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let mut framed = req.method == "HEAD" || status < 200 || status == 204 || status == 304;
    let mut out = format!("{status_line}\r\n");
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let key = k.trim().to_ascii_lowercase();
        if key == "connection" || key == "keep-alive" {
            continue;
        }
        if key == "content-length"
            || (key == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"))
        {
            framed = true;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    if !framed {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    let head_len = out.len();
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&raw[find_head_end(&raw)?..]);
    Some(Response {
        bytes,
        head_len,
        close_delimited: !framed,
    })
}

/// What to do with the client's connection after one request.
enum Next {
    KeepAlive,
    Close,
}

async fn serve_connection(
    shared: Arc<Shared>,
    mut sock: TcpStream,
    conn: u64,
) -> std::io::Result<()> {
    let _ = sock.set_nodelay(true);
    let mut buf = Vec::new();
    loop {
        let req = match read_request(&mut sock, &mut buf).await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => {
                let _ = sock
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                return Err(e);
            }
        };
        let fault = shared.decide(&req.method, &req.path, conn);
        let is_stream = req.method == "GET" && req.path.split('?').next() == Some("/v1/stream");
        if is_stream {
            return serve_stream(&shared.target, sock, req, buf, fault).await;
        }
        let next = apply(&shared.target, &mut sock, &req, fault).await?;
        match next {
            Next::KeepAlive if !req.close => {}
            _ => {
                let _ = sock.shutdown().await;
                return Ok(());
            }
        }
    }
}

/// Applies `fault` to one ordinary request.
async fn apply(
    target: &str,
    sock: &mut TcpStream,
    req: &Request,
    fault: Fault,
) -> std::io::Result<Next> {
    match fault {
        Fault::DropBeforeForward => return Ok(Next::Close),
        Fault::Html(status) => {
            sock.write_all(&html_page(status)).await?;
            return Ok(Next::KeepAlive);
        }
        Fault::Garbage200 => {
            sock.write_all(&garbage_200()).await?;
            return Ok(Next::KeepAlive);
        }
        Fault::Delay(d) => tokio::time::sleep(d).await,
        Fault::Pass
        | Fault::DropAfterForward
        | Fault::ResetMidBody
        | Fault::Truncate
        | Fault::GoSilent => {}
    }
    let Some(resp) = forward(target, req).await else {
        sock.write_all(&html_page(502)).await?;
        return Ok(Next::Close);
    };
    match fault {
        Fault::DropAfterForward => Ok(Next::Close),
        Fault::GoSilent => {
            hold_open(sock).await;
            Ok(Next::Close)
        }
        Fault::ResetMidBody => {
            let half = resp.bytes.len() / 2;
            sock.write_all(&resp.bytes[..half]).await?;
            sock.flush().await?;
            // SO_LINGER 0: closing sends RST instead of FIN.
            sock.set_zero_linger()?;
            Ok(Next::Close)
        }
        Fault::Truncate => {
            let body = resp.bytes.len() - resp.head_len;
            let cut = if body == 0 {
                resp.head_len / 2
            } else {
                resp.head_len + body / 2
            };
            sock.write_all(&resp.bytes[..cut]).await?;
            Ok(Next::Close)
        }
        _ => {
            sock.write_all(&resp.bytes).await?;
            Ok(if resp.close_delimited {
                Next::Close
            } else {
                Next::KeepAlive
            })
        }
    }
}

/// Keeps a client's connection open and silent until the client closes it
/// (or two minutes pass).
async fn hold_open(sock: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(n) = sock.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// The live stream: after its head, bytes flow both ways until either side
/// closes. Faults that need the whole answer act on its first bytes.
async fn serve_stream(
    target: &str,
    mut sock: TcpStream,
    req: Request,
    leftover: Vec<u8>,
    fault: Fault,
) -> std::io::Result<()> {
    match fault {
        Fault::DropBeforeForward => return Ok(()),
        Fault::Html(status) => {
            sock.write_all(&html_page(status)).await?;
            return sock.shutdown().await;
        }
        Fault::Garbage200 => {
            sock.write_all(&garbage_200()).await?;
            return sock.shutdown().await;
        }
        Fault::Delay(d) => tokio::time::sleep(d).await,
        _ => {}
    }
    let mut up = match TcpStream::connect(target).await {
        Ok(up) => up,
        Err(_) => {
            sock.write_all(&html_page(502)).await?;
            return sock.shutdown().await;
        }
    };
    let _ = up.set_nodelay(true);
    let mut out = req.head(false);
    out.extend_from_slice(&req.body);
    out.extend_from_slice(&leftover);
    up.write_all(&out).await?;
    match fault {
        Fault::GoSilent => {
            // Everything up to the end of the `ready` event gets through.
            let mut passed = Vec::new();
            let mut chunk = vec![0u8; 8192];
            // (The body is chunked: the event's blank line is followed by
            // the chunk's CRLF, so look for it anywhere after the name.)
            let ready_done = |b: &[u8]| {
                b.windows(12)
                    .position(|w| w == b"event: ready")
                    .is_some_and(|at| b[at..].windows(2).any(|w| w == b"\n\n"))
            };
            while !ready_done(&passed) {
                let n = tokio::time::timeout(UPSTREAM_TIMEOUT, up.read(&mut chunk))
                    .await
                    .unwrap_or(Ok(0))?;
                if n == 0 || passed.len() > 65_536 {
                    break;
                }
                passed.extend_from_slice(&chunk[..n]);
            }
            sock.write_all(&passed).await?;
            // The server's heartbeats keep arriving upstream; none go on.
            hold_open(&mut sock).await;
            Ok(())
        }
        Fault::DropAfterForward | Fault::ResetMidBody | Fault::Truncate => {
            let mut first = vec![0u8; 8192];
            let n = tokio::time::timeout(UPSTREAM_TIMEOUT, up.read(&mut first))
                .await
                .unwrap_or(Ok(0))?;
            match fault {
                Fault::DropAfterForward => {}
                Fault::ResetMidBody => {
                    sock.write_all(&first[..n / 2]).await?;
                    sock.set_zero_linger()?;
                }
                _ => {
                    sock.write_all(&first[..n / 2]).await?;
                    sock.shutdown().await?;
                }
            }
            Ok(())
        }
        _ => {
            let _ = tokio::io::copy_bidirectional(&mut sock, &mut up).await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segment_prefixes() {
        assert!(path_matches("/v1/sync", "/v1/sync?cursor=&limit=1000"));
        assert!(path_matches(
            "/v1/leads/*/feedback",
            "/v1/leads/12/feedback"
        ));
        assert!(!path_matches(
            "/v1/leads/*/feedback",
            "/v1/leads/12/history"
        ));
        assert!(path_matches("/v1/me", "/v1/me/availability"));
        assert!(!path_matches("/v1/me", "/v1/meta"));
        assert!(!path_matches("/v1/stream", "/v1"));
    }

    #[test]
    fn random_faults_repeat_for_a_seed_and_honour_the_rate() {
        let run = |seed| {
            let mut r = RandomFaults::new(seed, 0.5);
            (0..400).map(|_| r.pick()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let faults = run(7).iter().filter(|f| **f != Fault::Pass).count();
        assert!((140..260).contains(&faults), "{faults} of 400 at rate 0.5");
        let mut none = RandomFaults::new(1, 0.0);
        assert!((0..100).all(|_| none.pick() == Fault::Pass));
    }
}
