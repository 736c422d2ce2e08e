//! The HTTP/1.1 listener, with the bounds `axum::serve` lacks: a cap on open
//! connections, a deadline for each request's headers (which also closes
//! idle keep-alive connections), a close for connections whose client stops
//! reading while the server has data for it (stalled stream readers), and a
//! bounded graceful shutdown.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use crate::config::Limits;

/// File descriptors kept back for the database, logs and the listener itself.
const RESERVED_FDS: u64 = 64;

/// Raises the soft open-file limit to the hard one (a server holding many
/// connections needs more than the usual 1024), and returns how many
/// connections fit under it.
pub fn connection_capacity(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        unsafe {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                if lim.rlim_cur < lim.rlim_max {
                    let raised = libc::rlimit {
                        rlim_cur: lim.rlim_max,
                        rlim_max: lim.rlim_max,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                        lim.rlim_cur = lim.rlim_max;
                    }
                }
                let fit = lim.rlim_cur.saturating_sub(RESERVED_FDS).max(16);
                return wanted.min(usize::try_from(fit).unwrap_or(usize::MAX));
            }
        }
    }
    wanted
}

/// Serves `app` on `listener` until `stop` resolves; then stops accepting,
/// lets in-flight requests finish for up to `limits.shutdown_grace_secs`, and
/// closes what is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let capacity = connection_capacity(limits.max_connections);
    if capacity < limits.max_connections {
        tracing::warn!(
            capacity,
            wanted = limits.max_connections,
            "the open-file limit allows fewer connections than limits.max_connections"
        );
    }
    let permits = Arc::new(Semaphore::new(capacity));
    let graceful = GracefulShutdown::new();
    let header_timeout = Duration::from_secs(limits.header_timeout_secs);
    let write_stall = Duration::from_secs(limits.write_stall_secs);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_headers(100);
    let service = TowerToHyperService::new(app);
    tokio::pin!(stop);
    loop {
        // At the cap, wait for a connection to close before accepting more:
        // new clients wait in the kernel's backlog rather than being refused.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("semaphore never closed"),
            _ = &mut stop => break,
        };
        let (socket, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = socket.set_nodelay(true);
        let io = TokioIo::new(StallGuard::new(socket, write_stall));
        let conn = builder.serve_connection(io, service.clone());
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Errors here are clients going away, timing out or sending garbage.
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let grace = Duration::from_secs(limits.shutdown_grace_secs);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = limits.shutdown_grace_secs,
            "connections still open after the shutdown grace period; closing them"
        );
    }
    Ok(())
}

/// An I/O stream whose writes fail with `TimedOut` once they have made no
/// progress for `limit`: the client stopped reading. Reads are unaffected
/// (their deadlines are the header and request timeouts).
pub struct StallGuard<T> {
    inner: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, limit: Duration) -> Self {
        StallGuard {
            inner,
            limit,
            stalled: None,
        }
    }

    fn on_write<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Ready(r) => {
                self.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let limit = self.limit;
                let timer = self.stalled.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep_until(Instant::now() + limit))
                });
                if timer.as_mut().poll(cx).is_ready() {
                    self.stalled = None;
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client read nothing for the write-stall limit",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.on_write(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.on_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.on_write(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.on_write(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_reads_fails_after_the_stall_limit() {
        // A duplex pipe with a 1 KiB buffer that nobody reads from.
        let (near, _far) = tokio::io::duplex(1024);
        let mut guarded = StallGuard::new(near, Duration::from_secs(5));
        let started = Instant::now();
        let chunk = vec![0u8; 4096];
        let err = guarded.write_all(&chunk).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn progress_resets_the_stall_timer() {
        let (near, mut far) = tokio::io::duplex(16);
        let mut guarded = StallGuard::new(near, Duration::from_secs(5));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let mut total = 0;
            while total < 64 {
                tokio::time::sleep(Duration::from_secs(3)).await;
                total += tokio::io::AsyncReadExt::read(&mut far, &mut buf)
                    .await
                    .unwrap();
            }
        });
        // 64 bytes through a 16-byte pipe read every 3 s: slow, but never stalled 5 s.
        guarded.write_all(&[1u8; 64]).await.unwrap();
        reader.await.unwrap();
    }
}
