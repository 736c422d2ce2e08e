//! A stand-in for baton-server in unit tests: it answers requests on
//! 127.0.0.1 from a list of canned answers, in order (the last one again
//! once the list is used up), and keeps what it was asked.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as the stand-in read it.
#[derive(Clone, Debug)]
pub struct Asked {
    /// `GET /v1/me HTTP/1.1`
    pub line: String,
    pub body: String,
}

pub struct StandIn {
    pub base: String,
    asked: Arc<Mutex<Vec<Asked>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Serves `answers`: each a status line (`200 OK`) and a JSON body
    /// (none when empty).
    pub async fn serve(answers: Vec<(&'static str, String)>) -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let task = tokio::spawn(async move {
            let mut next = 0;
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let Some(request) = read_request(&mut conn).await else {
                    continue;
                };
                log.lock().unwrap().push(request);
                let (status, body) = &answers[next.min(answers.len() - 1)];
                next += 1;
                let answer = if body.is_empty() {
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                } else {
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = conn.write_all(answer.as_bytes()).await;
                let _ = conn.shutdown().await;
            }
        });
        StandIn { base, asked, task }
    }

    /// What it was asked so far, in order.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }

    /// The request lines only.
    pub fn lines(&self) -> Vec<String> {
        self.asked().into_iter().map(|a| a.line).collect()
    }
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<Asked> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while got.len() < head_end + length {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Some(Asked {
        line: head.lines().next().unwrap_or_default().to_string(),
        body: String::from_utf8_lossy(&got[head_end..]).into_owned(),
    })
}
