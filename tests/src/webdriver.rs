//! Just enough of the W3C WebDriver protocol to drive the desktop app through
//! `tauri-driver` (which starts WebKitWebDriver and the app): sessions,
//! elements, keys, scripts and screenshots, over plain HTTP.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key the W3C spec assigns to an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl WebDriver {
    /// Opens a session on the Tauri app at `application`.
    pub async fn start(driver: &str, application: &Path) -> WebDriver {
        let http = reqwest::Client::new();
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": { "application": application },
                }
            }
        });
        let started = Instant::now();
        loop {
            match http
                .post(format!("{driver}/session"))
                .json(&caps)
                .send()
                .await
            {
                Ok(r) => {
                    let v: Value = r.json().await.expect("session JSON");
                    let session = v["value"]["sessionId"]
                        .as_str()
                        .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
                        .to_string();
                    return WebDriver {
                        http,
                        base: driver.to_string(),
                        session,
                    };
                }
                // The driver is still starting WebKitWebDriver: retry.
                Err(_) if started.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("tauri-driver did not answer at {driver}: {e}"),
            }
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            panic!("WebDriver {path} answered {status}: {v}");
        }
        v["value"].clone()
    }

    async fn try_find(&self, css: &str) -> Option<Element> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let resp = self
            .http
            .post(&url)
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let v: Value = resp.json().await.ok()?;
        v["value"][ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.into()))
    }

    /// Waits for an element matching `css`.
    pub async fn find(&self, css: &str, within: Duration) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            if started.elapsed() >= within {
                self.fail(&format!("no element matched {css} within {within:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn count(&self, css: &str) -> usize {
        let v = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_array().map(Vec::len).unwrap_or(0)
    }

    pub async fn text(&self, e: &Element) -> String {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub async fn click(&self, e: &Element) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            Some(json!({})),
        )
        .await;
    }

    /// Types into an element (an input, or the page for shortcuts).
    pub async fn type_into(&self, e: &Element, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Presses keys as a rep would, wherever the focus is.
    pub async fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
        let _ = self
            .http
            .delete(format!("{}/session/{}/actions", self.base, self.session))
            .send()
            .await;
    }

    pub async fn script(&self, body: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": body, "args": []})),
        )
        .await
    }

    /// Runs an asynchronous script: it calls its last argument with the result.
    pub async fn script_async(&self, body: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": body, "args": []})),
        )
        .await
    }

    pub async fn screenshot(&self, to: &Path) {
        use base64::Engine as _;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .expect("valid base64");
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(to, png).unwrap();
    }

    /// Waits until `check` (a JavaScript expression) is true in the page.
    pub async fn wait_for(&self, expr: &str, within: Duration) {
        let started = Instant::now();
        loop {
            if self.script(&format!("return !!({expr});")).await == Value::Bool(true) {
                return;
            }
            if started.elapsed() >= within {
                self.fail(&format!("not true within {within:?}: {expr}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Panics with what the window shows, and leaves a screenshot of it.
    async fn fail(&self, what: &str) -> ! {
        let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots/failure.png");
        self.screenshot(&shot).await;
        let text = self
            .script("return document.body.innerText;")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        panic!(
            "{what}\nthe window shows (screenshot in {}):\n{text}",
            shot.display()
        );
    }

    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}
