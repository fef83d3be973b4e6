//! The HTTP side of section 5: the tools it needs (`require`), a minimal
//! HTTP/1.1 GET, wrk runs alternated between the bridge and nginx, and an
//! nginx serving a directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

use gridlink::lab::free_port;

use crate::measure::median;

/// A tool the run needs, or a clear error (never a silent skip).
pub fn require(tool: &str, package: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .with_context(|| {
            format!("`{tool}` is required: apt-get install -y {package} (scripts/deps does this)")
        })
}

/// A minimal HTTP/1.1 GET over loopback: (status, headers, body).
pub async fn get(port: u16, path: &str, extra: &str) -> anyhow::Result<(u16, String, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    let mut all = Vec::new();
    s.read_to_end(&mut all).await?;
    let split = memchr::memmem::find(&all, b"\r\n\r\n").context("no HTTP header end")?;
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no HTTP status")?;
    let mut body = all[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Ok((status, head, body))
}

fn dechunk(mut b: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = memchr::memmem::find(b, b"\r\n").context("bad chunk")?;
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        let start = eol + 2;
        out.extend_from_slice(b.get(start..start + size).context("short chunk")?);
        b = b.get(start + size + 2..).context("short chunk")?;
    }
}

pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Requests per second from one wrk run.
async fn wrk(url: &str, extra_header: Option<&str>, secs: u64) -> anyhow::Result<f64> {
    let mut c = Command::new(require("wrk", "wrk")?);
    c.args(["-t2", "-c32", &format!("-d{secs}s")]);
    if let Some(h) = extra_header {
        c.args(["-H", h]);
    }
    let out = c.arg(url).output().await?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("wrk {url}: {}{text}", String::from_utf8_lossy(&out.stderr));
    }
    if text.contains("Non-2xx or 3xx") || text.contains("Socket errors") {
        bail!("wrk {url} saw errors:\n{text}");
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk output:\n{text}"))
}

/// Requests/s of the bridge and of nginx, measured in turn `rounds` times
/// each (bridge, nginx, bridge, …) and reduced to the medians: on a shared
/// machine, load that comes and goes during one run would otherwise land on
/// one side only and make the ratio meaningless.
pub async fn alternating(
    bridge_url: &str,
    nginx_url: &str,
    bridge_header: Option<&str>,
    nginx_header: Option<&str>,
    (secs, rounds): (u64, usize),
) -> anyhow::Result<(f64, f64)> {
    let (mut b, mut n) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        b.push(wrk(bridge_url, bridge_header, secs).await?);
        n.push(wrk(nginx_url, nginx_header, secs).await?);
    }
    Ok((median(&mut b), median(&mut n)))
}

/// A running nginx, stopped on drop with SIGTERM to its master, which stops
/// the workers too (SIGKILL, what `kill_on_drop` sends, would leave them
/// running, holding the port, after every harness run).
pub struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            for _ in 0..50 {
                if matches!(self.0.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = self.0.start_kill();
    }
}

/// An nginx serving `root` on a free port (foreground, stopped on drop).
pub async fn nginx(dir: &Path, root: &Path) -> anyhow::Result<(Nginx, u16)> {
    let bin = require("nginx", "nginx-light")?;
    let port = free_port()?;
    let conf = dir.join("nginx.conf");
    let d = dir.display();
    // Same work as the bridge: HTTP/1.1 keep-alive, ETag/Last-Modified, two
    // workers for two cores, no access log (the bridge keeps none either).
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nuser root;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  types {{ application/atom+xml xml; }}\n  keepalive_requests 1000000;\n\
               client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp; uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n\
               server {{ listen 127.0.0.1:{port}; root {}; etag on; }}\n}}\n",
            root.display()
        ),
    )?;
    std::fs::create_dir_all(dir.join("tmp"))?;
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(
            dir.join("nginx-stderr.log"),
        )?))
        .kill_on_drop(true)
        .spawn()?;
    let child = Nginx(child);
    for _ in 0..100 {
        if get(port, "/", "").await.is_ok() {
            return Ok((child, port));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!(
        "nginx did not start: {}",
        std::fs::read_to_string(dir.join("nginx-stderr.log")).unwrap_or_default()
    )
}
