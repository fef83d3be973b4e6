//! The SIEM receivers of tests/siem_sinks.rs: rsyslog (Debian's package,
//! with rsyslog-gnutls) on TCP, TLS and UDP ports writing each message to
//! a file, and the HTTP receiver tests/py/siem_receiver.py (JSON array,
//! Splunk HEC, Elasticsearch `_bulk`). Each runs in the caller's temp dir
//! on free ports and is stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gridlink::lab::{free_port, TestCa};

use super::fixtures::fixture;

/// Waits until something listens on `port` (TCP), or panics after 15 s.
fn wait_listening(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An rsyslogd with an `imtcp` listener, a TLS (`gtls`) listener and an
/// `imudp` listener, each writing the raw messages (`%rawmsg%`) to its
/// own file.
pub struct Rsyslog {
    pub dir: PathBuf,
    pub tcp_port: u16,
    pub tls_port: u16,
    pub udp_port: u16,
    pub ca: TestCa,
    child: Option<Child>,
}

impl Rsyslog {
    /// Starts rsyslogd in `dir` (a server certificate for `localhost` from
    /// a fresh CA; clients trust `ca.ca_pem`).
    pub fn start(dir: &Path) -> Rsyslog {
        assert!(
            Command::new("rsyslogd").arg("-v").output().is_ok(),
            "rsyslogd is required (rsyslog and rsyslog-gnutls): run scripts/deps"
        );
        assert!(
            Path::new("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so").exists()
                || Path::new("/usr/lib/rsyslog/lmnsd_gtls.so").exists(),
            "rsyslog-gnutls is required: run scripts/deps"
        );
        let dir = dir.join("rsyslog");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(dir.join("ca")).unwrap();
        let ca = TestCa::generate(&dir.join("ca"), &["localhost"]).unwrap();
        let mut r = Rsyslog {
            dir,
            tcp_port: free_port().unwrap(),
            tls_port: free_port().unwrap(),
            udp_port: free_port().unwrap(),
            ca,
            child: None,
        };
        r.restart();
        r
    }

    /// The file the messages of `which` (`tcp`, `tls`, `udp`) go to.
    pub fn file(&self, which: &str) -> PathBuf {
        self.dir.join(format!("{which}.log"))
    }

    /// The messages received on `which` so far.
    pub fn messages(&self, which: &str) -> Vec<String> {
        std::fs::read_to_string(self.file(which))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// (Re)starts rsyslogd on the same ports.
    pub fn restart(&mut self) {
        let d = self.dir.display();
        let conf = format!(
            r#"global(workDirectory="{d}" maxMessageSize="1m"
       defaultNetstreamDriverCAFile="{ca}" defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" maxSessions="100")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="{tls}" ruleset="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="udp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="tcp") {{ action(type="omfile" file="{d}/tcp.log" template="raw") }}
ruleset(name="tls") {{ action(type="omfile" file="{d}/tls.log" template="raw") }}
ruleset(name="udp") {{ action(type="omfile" file="{d}/udp.log" template="raw") }}
"#,
            ca = self.ca.ca_pem.display(),
            cert = self.ca.server_chain_pem.display(),
            key = self.ca.server_key_pem.display(),
            tcp = self.tcp_port,
            tls = self.tls_port,
            udp = self.udp_port,
        );
        std::fs::write(self.dir.join("rsyslog.conf"), conf).unwrap();
        let log = self.dir.join("rsyslogd.out");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("rsyslogd")
            .args(["-n", "-f"])
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start rsyslogd");
        self.child = Some(child);
        wait_listening(self.tcp_port, "rsyslogd", &log);
        wait_listening(self.tls_port, "rsyslogd", &log);
    }

    /// Stops rsyslogd the way a service manager does (SIGTERM: it writes
    /// out what it accepted), and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// tests/py/siem_receiver.py on a free port: `/json`, HEC, `_bulk`.
pub struct HttpReceiver {
    pub port: u16,
    pub log: PathBuf,
    token: String,
    fail_first: u32,
    child: Option<Child>,
}

impl HttpReceiver {
    /// Starts the receiver; HEC wants `token`, the first `fail_first`
    /// requests of each endpoint are answered 503.
    pub fn start(dir: &Path, token: &str, fail_first: u32) -> HttpReceiver {
        let mut r = HttpReceiver {
            port: free_port().unwrap(),
            log: dir.join("http-received.jsonl"),
            token: token.into(),
            fail_first,
            child: None,
        };
        r.restart();
        r
    }

    /// (Re)starts it on the same port (the 503s count again).
    pub fn restart(&mut self) {
        let err = std::fs::File::create(self.log.with_extension("stderr")).unwrap();
        let child = Command::new("python3")
            .arg(fixture("../py/siem_receiver.py"))
            .args(["--port", &self.port.to_string(), "--log"])
            .arg(&self.log)
            .args(["--token", &self.token, "--fail-first"])
            .arg(self.fail_first.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("python3 is required: run scripts/deps");
        self.child = Some(child);
        wait_listening(
            self.port,
            "siem_receiver.py",
            &self.log.with_extension("stderr"),
        );
    }

    /// Kills it (SIGKILL: it logs each event before answering).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every event accepted so far: (endpoint, item id, kind).
    pub fn received(&self) -> Vec<(String, String, String)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
                (s("ep"), s("id"), s("kind"))
            })
            .collect()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}
