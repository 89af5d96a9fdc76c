//! A real SMTP server on 127.0.0.1 that keeps every message it is given: the bridge's mail
//! goes over the wire exactly as it would to a provider (no mocked sender).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as received: the envelope and the raw data.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt_to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The data with quoted-printable soft line breaks undone.
    pub fn text(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The first run of six digits in the message body.
    pub fn code(&self) -> Option<String> {
        let text = self.text();
        let body = text.split("\r\n\r\n").nth(1)?;
        let bytes = body.as_bytes();
        (0..bytes.len().saturating_sub(5)).find_map(|i| {
            let run = &bytes[i..i + 6];
            let bounded = (i == 0 || !bytes[i - 1].is_ascii_digit())
                && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit());
            (bounded && run.iter().all(u8::is_ascii_digit))
                .then(|| String::from_utf8_lossy(run).into_owned())
        })
    }
}

pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, kept.clone()));
            }
        });
        Self { port, messages }
    }

    /// `smtp://127.0.0.1:{port}`: plain SMTP, as the bridge's SMTP_URL.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().expect("messages").clone()
    }
}

async fn session(stream: tokio::net::TcpStream, kept: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if command.starts_with("RCPT TO:") {
            rcpt_to.push(
                line.trim_end()[8..]
                    .trim_matches(['<', '>', ' '])
                    .to_owned(),
            );
            b"250 OK\r\n"
        } else if command == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            if let Ok(mut messages) = kept.lock() {
                messages.push(Received {
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                });
            }
            b"250 queued\r\n"
        } else if command == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
