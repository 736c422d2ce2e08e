//! A webhook receiver on 127.0.0.1, as a manager's system would run one:
//! it verifies each request with the Standard Webhooks reference crate,
//! records it, and answers as the test tells it (fail, 410, slow).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub body: Value,
    pub raw: Vec<u8>,
    pub headers: HeaderMap,
    pub verified: bool,
    pub at: Instant,
}

/// How the receiver answers.
#[derive(Clone, Debug)]
pub enum Answer {
    Ok,
    Status(u16),
    /// A status with `Retry-After: secs`.
    RetryAfter(u16, u64),
    /// Waits, then answers 200.
    Slow(Duration),
}

struct Inner {
    secret: Option<String>,
    answer: Answer,
    received: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

async fn take(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let (answer, verified) = {
        let inner = r.inner.lock().unwrap();
        let verified = inner.secret.as_deref().is_some_and(|s| {
            standardwebhooks::Webhook::new(s)
                .and_then(|w| w.verify(&body, &headers))
                .is_ok()
        });
        (inner.answer.clone(), verified)
    };
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    r.inner.lock().unwrap().received.push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: body.to_vec(),
        headers: headers.clone(),
        verified,
        at: Instant::now(),
    });
    match answer {
        Answer::Ok => StatusCode::OK.into_response(),
        Answer::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
        Answer::RetryAfter(s, secs) => (
            StatusCode::from_u16(s).unwrap(),
            [("retry-after", secs.to_string())],
        )
            .into_response(),
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
    }
}

impl Receiver {
    /// Listens on a free port (or `port`), answering `answer`.
    pub async fn start_on(port: u16, answer: Answer) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("receiver port");
        let addr = listener.local_addr().unwrap();
        let r = Receiver {
            inner: Arc::new(Mutex::new(Inner {
                secret: None,
                answer,
                received: vec![],
            })),
            url: format!("http://{addr}/hooks/baton"),
        };
        let app = axum::Router::new()
            .route("/hooks/baton", axum::routing::post(take))
            .with_state(r.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        r
    }

    pub async fn start(answer: Answer) -> Receiver {
        Self::start_on(0, answer).await
    }

    /// The endpoint's secret, to verify what arrives.
    pub fn set_secret(&self, secret: &str) {
        self.inner.lock().unwrap().secret = Some(secret.to_string());
    }

    pub fn answer(&self, answer: Answer) {
        self.inner.lock().unwrap().answer = answer;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits until `n` requests arrived (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} of {n} requests within {within:?}: {:#?}",
                got.len(),
                got.iter()
                    .map(|r| (&r.id, &r.body["type"]))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
