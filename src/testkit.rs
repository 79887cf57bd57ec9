//! Local broker processes for integration tests and benchmarks: a real `nats-server -js` and a
//! real Kafka-protocol broker (tansu), each on a free loopback port, stopped when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A broker process owned by a test; killed on drop.
pub struct BrokerProcess {
    child: Child,
    dir: PathBuf,
    /// Port it listens on (127.0.0.1).
    pub port: u16,
}

impl BrokerProcess {
    /// Stops the broker now (the lane that uses it sees it go away).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pubduel-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn spawn(program: &str, args: &[String], dir: PathBuf, port: u16) -> Result<BrokerProcess, String> {
    let log = std::fs::File::create(dir.join("broker.log")).map_err(|e| e.to_string())?;
    let child = Command::new(program)
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| {
            format!("cannot start {program} ({e}); install it with scripts/install-brokers.sh")
        })?;
    let mut broker = BrokerProcess { child, dir, port };
    if !wait_port(port, Duration::from_secs(15)) {
        broker.kill();
        return Err(format!(
            "{program} did not listen on 127.0.0.1:{port} within 15 s"
        ));
    }
    Ok(broker)
}

/// Starts `nats-server -js` on a free port; its URL is `nats://127.0.0.1:<port>`.
pub fn start_nats() -> Result<BrokerProcess, String> {
    let port = free_port();
    let dir = scratch_dir("nats");
    let args = [
        "-a",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-js",
        "-sd",
        &dir.join("js").to_string_lossy(),
    ]
    .map(String::from);
    spawn("nats-server", &args, dir, port)
}

/// Starts tansu (in-memory storage) on a free port; its address is `127.0.0.1:<port>`.
pub fn start_kafka() -> Result<BrokerProcess, String> {
    let port = free_port();
    let dir = scratch_dir("tansu");
    let url = format!("tcp://127.0.0.1:{port}");
    let args = [
        "broker",
        "--listener-url",
        &url,
        "--advertised-listener-url",
        &url,
        "--storage-engine",
        "memory://tansu/",
    ]
    .map(String::from);
    spawn("tansu", &args, dir, port)
}

/// Both brokers, for tests that run both lanes.
pub struct LocalBrokers {
    /// The NATS server.
    pub nats: BrokerProcess,
    /// The Kafka-protocol broker.
    pub kafka: BrokerProcess,
}

impl LocalBrokers {
    /// Starts both brokers.
    pub fn start() -> Result<LocalBrokers, String> {
        Ok(LocalBrokers {
            nats: start_nats()?,
            kafka: start_kafka()?,
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn nats_url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.nats.port)
    }

    /// `127.0.0.1:<port>`.
    pub fn kafka_addr(&self) -> String {
        format!("127.0.0.1:{}", self.kafka.port)
    }
}
