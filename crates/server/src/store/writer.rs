//! What both backends' writer threads share: how a job reaches the
//! writer, and what the writer last knew about itself, for `/healthz`.

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use super::{Health, WriteJob};
use crate::error::{Error, Result};

/// Hands `job` to the writer through its bounded queue, or says why not
/// (a full queue is 503 with `Retry-After`; nothing was applied).
pub(crate) fn submit(
    writer: &Mutex<Option<mpsc::SyncSender<WriteJob>>>,
    job: WriteJob,
) -> Result<()> {
    let guard = writer.lock().expect("writer lock");
    let sender = guard.as_ref().ok_or(Error::Unavailable(
        "the server is shutting down; retry shortly",
    ))?;
    sender.try_send(job).map_err(|e| match e {
        mpsc::TrySendError::Full(_) => Error::Unavailable(
            "the server is busy: its queue of writes is full; retry after the Retry-After delay",
        ),
        mpsc::TrySendError::Disconnected(_) => {
            Error::Unavailable("the database writer stopped; retry shortly")
        }
    })
}

#[derive(Default)]
pub(crate) struct WriterHealth {
    /// Set when the thread ended other than by `close`.
    died: Mutex<Option<String>>,
    /// The last transaction failure, cleared by the next commit.
    failing: Mutex<Option<String>>,
}

impl WriterHealth {
    pub(crate) fn set_failing(&self, why: Option<String>) {
        *self.failing.lock().unwrap_or_else(|p| p.into_inner()) = why;
    }

    /// Held by the writer thread: marks the writer dead if it unwinds.
    pub(crate) fn watch(self: &Arc<Self>) -> DeathWatch {
        DeathWatch(self.clone())
    }

    /// Unhealthy if the writer died, its thread is gone, or its last
    /// transaction failed.
    pub(crate) fn health(&self, thread: &Mutex<Option<JoinHandle<()>>>) -> Health {
        let lock = |m: &Mutex<Option<String>>| m.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(why) = lock(&self.died) {
            return Health::Unhealthy(why);
        }
        let running = thread
            .lock()
            .expect("thread lock")
            .as_ref()
            .is_some_and(|t| !t.is_finished());
        if !running {
            return Health::Unhealthy("the database writer is not running".into());
        }
        match lock(&self.failing) {
            Some(why) => Health::Unhealthy(format!("the last write transaction failed: {why}")),
            None => Health::Ok,
        }
    }
}

/// Marks the writer dead if its thread unwinds.
pub(crate) struct DeathWatch(Arc<WriterHealth>);

impl Drop for DeathWatch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            *self.0.died.lock().unwrap_or_else(|p| p.into_inner()) =
                Some("the database writer thread panicked; restart the server".into());
        }
    }
}
