//! The live stream's wire format: `text/event-stream` split into events,
//! bounded in memory.

/// The longest event the live stream may send; a longer one (or bytes that
/// never end an event) ends the connection, which is retried.
pub(crate) const EVENT_LIMIT: usize = 64 * 1024;

/// Splits a `text/event-stream` body into events `(name, data)`, holding at
/// most [`EVENT_LIMIT`] bytes of an unfinished event.
#[derive(Default)]
pub(crate) struct SseEvents {
    pending: Vec<u8>,
}

impl SseEvents {
    pub(crate) fn push(
        &mut self,
        chunk: &[u8],
    ) -> std::result::Result<Vec<(String, String)>, String> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            // Events end with a blank line; the spec allows \n, \r\n or \r.
            let normalised_end = find_event_end(&self.pending);
            let Some((end, skip)) = normalised_end else {
                break;
            };
            let block: Vec<u8> = self.pending.drain(..end + skip).take(end).collect();
            let text = String::from_utf8_lossy(&block);
            let mut name = String::from("message");
            let mut data = String::new();
            for line in text.split(['\n', '\r']) {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim_start().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            out.push((name, data));
        }
        if self.pending.len() > EVENT_LIMIT {
            return Err(format!(
                "an event longer than {} KiB (or bytes that never end an event): not Baton's stream",
                EVENT_LIMIT / 1024
            ));
        }
        Ok(out)
    }
}

/// Where the first event ends (the blank line's start) and the length of
/// the blank line's separator.
fn find_event_end(buf: &[u8]) -> Option<(usize, usize)> {
    for i in 0..buf.len() {
        for sep in [&b"\r\n\r\n"[..], b"\n\n", b"\r\r"] {
            if buf[i..].starts_with(sep) {
                return Some((i, sep.len()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split_across_chunks_and_line_endings() {
        let mut sse = SseEvents::default();
        assert!(sse.push(b"event: ready\ndata: {\"cur").unwrap().is_empty());
        let got = sse
            .push(b"sor\":\"1\"}\n\n: heartbeat\n\nevent: change\r\ndata: x\r\n\r\n")
            .unwrap();
        assert_eq!(
            got,
            vec![
                ("ready".into(), "{\"cursor\":\"1\"}".into()),
                ("message".into(), String::new()),
                ("change".into(), "x".into())
            ]
        );
    }

    #[test]
    fn sse_buffer_is_bounded_when_no_event_ever_ends() {
        let mut sse = SseEvents::default();
        let chunk = vec![b'a'; 16 * 1024];
        let mut result = Ok(Vec::new());
        for _ in 0..5 {
            result = sse.push(&chunk);
            if result.is_err() {
                break;
            }
        }
        assert!(
            result.is_err(),
            "80 KiB without an event end must end the stream"
        );
        assert!(sse.pending.len() <= EVENT_LIMIT + chunk.len());
    }
}
