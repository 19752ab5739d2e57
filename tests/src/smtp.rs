//! A real SMTP server for the email tests and the soak: Debian's aiosmtpd (`python3-aiosmtpd`,
//! which `test.sh` installs) running `smtp_server.py` beside this file on a free 127.0.0.1
//! port. It records every message it accepts (envelope and raw bytes) and has faults a test sets
//! at start or switches while it runs: `451 4.3.0 try again later` to DATA, `550 5.1.1 no such
//! user` to RCPT or DATA, and a connection dropped once the message is in, before its reply.
//! With a login, it refuses MAIL until the client has logged in with it.
//!
//! It runs on `/usr/bin/python3`, not the `python3` on `PATH`: that may be a pyenv build that
//! cannot import Debian's packages. Without aiosmtpd it fails loudly, never skips.
//!
//! Captured mail is read with `mail-parser` (Stalwart's, maintained and dependency-free; lettre
//! only writes mail), so the tests check what a mail client would see, MIME decoded.

use crate::harness::LIVENESS_FLOOR;
use base64::Engine as _;
use mail_parser::{Message, MessageParser, MimeHeaders};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The interpreter that has Debian's `python3-aiosmtpd`.
pub const PYTHON: &str = "/usr/bin/python3";

/// The password the login variant accepts (a test secret, never a real one).
pub const SMTP_PASSWORD: &str = "smtp-password-never-logged-5d1e";

/// The user name the login variant accepts.
pub const SMTP_USERNAME: &str = "hookgate-alerts";

/// What the server does wrong, for the next N commands it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpFault {
    /// DATA answered `451 4.3.0 try again later`.
    TempfailData,
    /// RCPT answered `550 5.1.1 no such user`.
    RejectRcpt,
    /// DATA answered `550 5.1.1 no such user`.
    RejectData,
    /// The connection closed once the message is in, before any reply.
    DropData,
}

impl SmtpFault {
    fn name(self) -> &'static str {
        match self {
            Self::TempfailData => "tempfail-data",
            Self::RejectRcpt => "reject-rcpt",
            Self::RejectData => "reject-data",
            Self::DropData => "drop-data",
        }
    }
}

/// How many commands a fault applies to: `Always` until it is switched again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next N.
    Next(u32),
    /// Every one, until switched.
    Always,
}

impl Times {
    fn count(self) -> i64 {
        match self {
            Self::Next(n) => i64::from(n),
            Self::Always => -1,
        }
    }
}

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub struct SmtpServerOptions {
    /// Faults from the first connection on.
    pub faults: Vec<(SmtpFault, Times)>,
    /// Require a login as [`SMTP_USERNAME`] / [`SMTP_PASSWORD`] before MAIL.
    pub login: bool,
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct CapturedMail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_tos: Vec<String>,
    /// Who the client logged in as, if it did.
    pub login: Option<String>,
    /// The message as received.
    pub raw: Vec<u8>,
}

impl CapturedMail {
    /// The parsed message.
    pub fn parsed(&self) -> Message<'_> {
        MessageParser::default()
            .parse(&self.raw)
            .expect("a parseable mail")
    }

    /// The raw message as text (it is ASCII or UTF-8).
    pub fn text_of_raw(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// A header's value as written (unfolded, trimmed), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.parsed()
            .header_raw(name)
            .map(|value| value.replace("\r\n", "").trim().to_string())
    }

    /// The subject, decoded.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    /// The `To` addresses.
    pub fn to(&self) -> Vec<String> {
        addresses(self.parsed().to())
    }

    /// The `From` addresses, as `Name <address>` when named.
    pub fn from(&self) -> Vec<String> {
        let message = self.parsed();
        message
            .from()
            .map(|from| {
                from.iter()
                    .map(|addr| match (&addr.name, &addr.address) {
                        (Some(name), Some(address)) => format!("{name} <{address}>"),
                        (None, Some(address)) => address.to_string(),
                        _ => String::new(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `Message-ID` with its angle brackets.
    pub fn message_id(&self) -> Option<String> {
        self.parsed().message_id().map(|id| format!("<{id}>"))
    }

    /// The `In-Reply-To` ids, with angle brackets.
    pub fn in_reply_to(&self) -> Vec<String> {
        ids(self.parsed().in_reply_to())
    }

    /// The `References` ids, with angle brackets.
    pub fn references(&self) -> Vec<String> {
        ids(self.parsed().references())
    }

    /// The top-level content type, like `multipart/alternative`.
    pub fn content_type(&self) -> String {
        let message = self.parsed();
        message
            .root_part()
            .content_type()
            .map(|kind| format!("{}/{}", kind.ctype(), kind.subtype().unwrap_or_default()))
            .unwrap_or_else(|| "text/plain".into())
    }

    /// The decoded text of the part of this content type (`text/plain`, `text/html`), its
    /// line breaks as `\n` (mail has CRLF).
    pub fn part(&self, content_type: &str) -> Option<String> {
        let (ctype, subtype) = content_type.split_once('/')?;
        let message = self.parsed();
        message
            .parts
            .iter()
            .find(|part| {
                part.content_type().is_some_and(|kind| {
                    kind.ctype().eq_ignore_ascii_case(ctype)
                        && kind
                            .subtype()
                            .is_some_and(|sub| sub.eq_ignore_ascii_case(subtype))
                })
            })
            .and_then(|part| part.text_contents().map(|text| text.replace("\r\n", "\n")))
    }
}

fn addresses(header: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    header
        .map(|addresses| {
            addresses
                .iter()
                .filter_map(|addr| addr.address.as_deref().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn ids(header: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let list: Vec<String> = match header.as_text_list() {
        Some(list) => list.iter().map(|id| id.to_string()).collect(),
        None => header.as_text().map(str::to_string).into_iter().collect(),
    };
    list.into_iter().map(|id| format!("<{id}>")).collect()
}

/// The server, stopped when dropped.
pub struct SmtpServer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts a server without faults or login.
    pub fn start() -> Self {
        Self::start_with(SmtpServerOptions::default())
    }

    /// Starts a server and waits until it greets connections.
    pub fn start_with(options: SmtpServerOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/smtp_server.py");
        let mut command = Command::new(PYTHON);
        command
            .arg(&script)
            .arg(dir.path().join("messages.jsonl"))
            .env("SMTP_TEST_PASSWORD", SMTP_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("server.log")).expect("log file"));
        if options.login {
            command.args(["--login", SMTP_USERNAME]);
        }
        for (fault, times) in &options.faults {
            command.arg(format!("{}={}", fault.name(), times.count()));
        }
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!("cannot run {PYTHON} for the SMTP test server: {error} (test.sh installs python3 and python3-aiosmtpd)")
        });
        // Read on a thread of its own, so a server that hangs before it listens fails the
        // test after a bound instead of hanging it.
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first_line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first_line);
            let _ = sender.send(first_line);
        });
        let first_line = receiver.recv_timeout(LIVENESS_FLOOR).unwrap_or_default();
        let Some(port) = first_line
            .strip_prefix("PORT ")
            .and_then(|port| port.trim().parse::<u16>().ok())
        else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "the SMTP test server did not start (is python3-aiosmtpd installed? test.sh \
                 installs it): {first_line:?}\n{log}"
            );
        };
        let server = Self { child, port, dir };
        server.wait_until_greeting();
        server
    }

    /// Polls the port until the server answers `220`.
    fn wait_until_greeting(&self) {
        let started = Instant::now();
        loop {
            if let Ok(mut session) = Session::open(self.port)
                && session.reply().starts_with("220")
            {
                session.quit();
                return;
            }
            assert!(
                started.elapsed() < LIVENESS_FLOOR,
                "the SMTP test server never greeted on port {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `smtp://127.0.0.1:<port>`, for `[smtp] url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Sets a fault for the next commands it applies to (`Times::Next(0)` clears it).
    pub fn set_fault(&self, fault: SmtpFault, times: Times) {
        let mut session = Session::open(self.port).expect("connecting to the SMTP test server");
        assert!(session.reply().starts_with("220"));
        session.send(&format!("XFAULT {} {}", fault.name(), times.count()));
        let answer = session.reply();
        assert!(answer.starts_with("250"), "XFAULT answered {answer}");
        session.quit();
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<CapturedMail> {
        let text = std::fs::read_to_string(self.dir.path().join("messages.jsonl"))
            .expect("the capture file");
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let record: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
                CapturedMail {
                    mail_from: record["mail_from"].as_str().unwrap_or_default().to_string(),
                    rcpt_tos: record["rcpt_tos"]
                        .as_array()
                        .map(|list| {
                            list.iter()
                                .filter_map(|to| to.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    login: record["login"].as_str().map(str::to_string),
                    raw: base64::engine::general_purpose::STANDARD
                        .decode(record["data"].as_str().unwrap_or_default())
                        .expect("base64 data"),
                }
            })
            .collect()
    }

    /// Waits until at least `count` messages were accepted; returns them all.
    pub fn wait_for_messages(&self, count: usize) -> Vec<CapturedMail> {
        let mut messages = Vec::new();
        crate::harness::wait_for(&format!("{count} mails"), Duration::from_secs(60), || {
            messages = self.messages();
            messages.len() >= count
        });
        messages
    }

    /// What the server wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain SMTP conversation for the control command.
struct Session {
    stream: BufReader<TcpStream>,
}

impl Session {
    fn open(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    /// One reply (the last line of a multi-line one).
    fn reply(&mut self) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stream.read_line(&mut line).unwrap_or(0) == 0 {
                return line;
            }
            // `250-...` continues, `250 ...` ends.
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.trim_end().to_string();
            }
        }
    }

    fn send(&mut self, command: &str) {
        let _ = self
            .stream
            .get_mut()
            .write_all(format!("{command}\r\n").as_bytes());
    }

    fn quit(mut self) {
        self.send("QUIT");
        let mut rest = Vec::new();
        let _ = self.stream.read_to_end(&mut rest);
    }
}
