//! What a test reads of a pubduel child process: its whole output, or its stdout line by line as
//! it comes.

use std::io::{BufRead, BufReader, Read};
use std::process::Output;
use std::sync::mpsc;

/// stdout then stderr of a finished child, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Reads a child's output on a thread: each line goes to the channel as it comes.
pub fn lines_of(out: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
