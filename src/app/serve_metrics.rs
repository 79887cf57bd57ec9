//! `--metrics-listen HOST:PORT`: the live metrics of a run (or of an agent's share of runs) on
//! `http://HOST:PORT/metrics`, in the OpenMetrics text format Prometheus scrapes. Each scrape
//! encodes the engine's latest snapshot, taken on the stats tick; publishing does nothing more
//! for it. The listener is bound before any broker is connected, so an address that cannot be
//! used is refused before the run starts.

use crate::engine::EngineHandle;
use crate::metrics::Snapshot;
use crate::report::openmetrics;
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest request head read, and how long a client may take to send it.
const HEAD_LIMIT: usize = 8 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// An address `--metrics-listen` cannot listen on (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("--metrics-listen {addr}: cannot listen there: {cause}")]
pub struct MetricsListenError {
    /// The address given.
    pub addr: String,
    /// Why it cannot be used (in use, not this host's, not an address).
    pub cause: std::io::Error,
}

/// What a scrape shows: the running engine's snapshot, the last one of an engine that stopped,
/// or nothing yet. Cloned into the run's legs (an agent's runs), each of which it follows.
#[derive(Clone, Default)]
pub struct LiveMetrics(Arc<Mutex<Source>>);

#[derive(Default)]
enum Source {
    #[default]
    Idle,
    Engine(EngineHandle),
    Done(Arc<Snapshot>),
}

impl LiveMetrics {
    /// Shows the engine behind `handle` from now on.
    pub fn follow(&self, handle: EngineHandle) {
        *self.0.lock() = Source::Engine(handle);
    }

    /// Keeps showing the followed engine's last snapshot once it has stopped, without holding
    /// the engine itself.
    pub fn settle(&self) {
        let mut source = self.0.lock();
        if let Source::Engine(handle) = &*source {
            *source = Source::Done(handle.snapshot());
        }
    }

    /// The snapshot to show now, if any.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        match &*self.0.lock() {
            Source::Idle => None,
            Source::Engine(handle) => Some(handle.snapshot()),
            Source::Done(s) => Some(Arc::clone(s)),
        }
    }
}

/// The metrics endpoint, serving until dropped.
pub struct MetricsServer {
    live: LiveMetrics,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Listens on `addr` (`HOST:PORT`; port 0 takes a free one) and serves what
    /// [`MetricsServer::live`] follows.
    pub async fn bind(addr: &str) -> Result<MetricsServer, MetricsListenError> {
        let refused = |cause| MetricsListenError {
            addr: addr.to_string(),
            cause,
        };
        let listener = TcpListener::bind(addr).await.map_err(refused)?;
        let local = listener.local_addr().map_err(refused)?;
        let live = LiveMetrics::default();
        let task = tokio::spawn(accept(listener, live.clone()));
        Ok(MetricsServer {
            live,
            addr: local,
            task,
        })
    }

    /// Binds `addr` when one is given, and says where the metrics are.
    pub async fn bind_if_asked(
        addr: Option<&str>,
    ) -> Result<Option<MetricsServer>, MetricsListenError> {
        let Some(addr) = addr else {
            return Ok(None);
        };
        let server = MetricsServer::bind(addr).await?;
        println!("metrics at http://{}/metrics", server.addr());
        Ok(Some(server))
    }

    /// What the endpoint shows; give it the engine to follow.
    pub fn live(&self) -> &LiveMetrics {
        &self.live
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers each connection on its own task.
async fn accept(listener: TcpListener, live: LiveMetrics) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream, live.clone()));
            }
            Err(e) => {
                tracing::warn!("metrics endpoint: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one request head and answers it; the connection closes after the answer.
async fn answer(mut stream: TcpStream, live: LiveMetrics) {
    let mut head = Vec::with_capacity(1024);
    let read = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream, &mut head)).await;
    if !matches!(read, Ok(Ok(()))) {
        return;
    }
    let body = response(&head, || openmetrics::encode(live.snapshot()));
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// Reads until the blank line that ends a request head, the client's end, or [`HEAD_LIMIT`].
async fn read_head(stream: &mut TcpStream, head: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < HEAD_LIMIT {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

/// The HTTP/1.1 answer to request `head`: the metrics for `GET /metrics`, else 404.
fn response(head: &[u8], metrics: impl FnOnce() -> String) -> Vec<u8> {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let path = (words.next(), words.next().and_then(|t| t.split('?').next()));
    let (status, kind, body) = match path {
        (Some("GET"), Some("/metrics")) => ("200 OK", openmetrics::CONTENT_TYPE, metrics()),
        _ => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "pubduel serves GET /metrics only\n".to_string(),
        ),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn get_metrics_is_openmetrics_and_anything_else_is_404() {
        let ok = text(response(
            b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
            || "# EOF\n".into(),
        ));
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains(&format!("Content-Type: {}\r\n", openmetrics::CONTENT_TYPE)));
        assert!(ok.contains("Content-Length: 6\r\n") && ok.ends_with("\r\n\r\n# EOF\n"));
        let query = text(response(b"GET /metrics?x=1 HTTP/1.1\r\n\r\n", String::new));
        assert!(query.starts_with("HTTP/1.1 200"), "{query}");
        for head in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"POST /metrics HTTP/1.1\r\n\r\n",
            b"GET /metricsx HTTP/1.1\r\n\r\n",
            b"\x00\xff",
            b"",
        ] {
            let r = text(response(head, || panic!("not asked for metrics")));
            assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
        }
    }

    #[tokio::test]
    async fn a_port_in_use_is_refused_naming_the_flag_and_the_address() {
        let first = MetricsServer::bind("127.0.0.1:0").await.unwrap();
        let addr = first.addr().to_string();
        let e = MetricsServer::bind(&addr).await.err().unwrap();
        let message = e.to_string();
        assert!(
            message.starts_with(&format!("--metrics-listen {addr}: ")),
            "{message}"
        );
        assert!(first.live().snapshot().is_none());
    }

    #[tokio::test]
    async fn a_scrape_reads_the_endpoint_over_tcp() {
        let server = MetricsServer::bind("127.0.0.1:0").await.unwrap();
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        assert!(got.contains("pubduel_build_info{version="), "{got}");
        assert!(got.ends_with("# EOF\n"), "{got}");
    }
}
