//! nginx in front of baton-server for end-to-end tests: Debian's nginx
//! (`scripts/setup` installs it) runs the shipped configuration in
//! `deploy/nginx/` on free ports of 127.0.0.1, from a temporary directory
//! that holds its config, pid file, logs and temp files.
//!
//! [`Nginx::start`] serves plain HTTP: the shipped `upstream baton` block
//! (its `server` lines replaced by the given instances, their parameters
//! kept) and a server block that includes the shipped
//! `baton-locations.conf` unchanged, so the directives under test are the
//! ones shipped. [`Nginx::start_shipped`] runs the whole of
//! `deploy/nginx/baton.conf`, TLS server included, with only its listen
//! ports and certificate paths replaced (a self-signed certificate made
//! with `openssl`).
//!
//! nginx runs in the foreground (`daemon off`) with a master and one worker,
//! and gets SIGTERM when the thread that started it ends: start it from the
//! test's own thread.
//! Run as root, its workers would run as `nobody` and could not open the
//! temp files it keeps in this root-only directory (bodies over
//! `client_body_buffer_size` then get 500), so the config says `user root`.
//! Its error log, access log and standard streams go to files in the
//! directory; dropping an [`Nginx`] stops it.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Client;

const NGINX_BIN: &str = "/usr/sbin/nginx";
/// Markers around the upstream's server lines in `deploy/nginx/baton.conf`.
const SERVERS_BEGIN: &str = "# servers:begin";
const SERVERS_END: &str = "# servers:end";
/// The access log's format: method, path, status, and every instance tried.
const LOG_FORMAT: &str = "'$request_method $uri $status upstream=\"$upstream_addr\" \
     upstream_status=\"$upstream_status\" time=$request_time'";

/// A running nginx in front of some baton-server instances.
pub struct Nginx {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`: the plain-HTTP server (for
    /// [`Nginx::start_shipped`], the one that redirects to HTTPS).
    pub base: String,
    /// `https://127.0.0.1:PORT` of the shipped TLS server
    /// ([`Nginx::start_shipped`] only).
    pub tls_base: Option<String>,
}

/// The repository's `deploy/nginx` directory.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("deploy/nginx")
}

fn shipped(name: &str) -> String {
    let path = deploy_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn nginx_bin() -> PathBuf {
    let path = std::env::var_os("BATON_NGINX_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(NGINX_BIN));
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup (it installs Debian's nginx)",
        path.display()
    );
    path
}

/// `host:port` of an upstream given as `http://host:port` or `host:port`.
fn host_port(upstream: &str) -> &str {
    upstream.trim_start_matches("http://").trim_end_matches('/')
}

/// The shipped `baton.conf` with its upstream's server lines replaced by
/// one per instance, each with the parameters of the first shipped line.
fn with_upstreams(conf: &str, upstreams: &[&str]) -> String {
    assert!(!upstreams.is_empty(), "nginx needs at least one upstream");
    let begin = conf
        .find(SERVERS_BEGIN)
        .expect("deploy/nginx/baton.conf marks its upstream servers with `# servers:begin`");
    let body_start = begin + conf[begin..].find('\n').expect("line end") + 1;
    let end = body_start
        + conf[body_start..]
            .find(SERVERS_END)
            .expect("deploy/nginx/baton.conf marks the end of its upstream servers");
    let end = conf[..end].rfind('\n').expect("line start") + 1;
    let first = conf[body_start..end]
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("server "))
        .expect("a server line between the markers");
    let params: Vec<&str> = first
        .trim_end_matches(';')
        .split_whitespace()
        .skip(2)
        .collect();
    let mut lines = String::new();
    for u in upstreams {
        lines.push_str(&format!("    server {}", host_port(u)));
        for p in &params {
            lines.push(' ');
            lines.push_str(p);
        }
        lines.push_str(";\n");
    }
    format!("{}{}{}", &conf[..body_start], lines, &conf[end..])
}

/// The `upstream baton { ... }` block of a rendered `baton.conf`.
fn upstream_block(conf: &str) -> String {
    let start = conf
        .find("upstream baton {")
        .expect("deploy/nginx/baton.conf has `upstream baton {`");
    let len = conf[start..]
        .find("\n}")
        .expect("the upstream block ends with `}` on a line of its own");
    conf[start..start + len + 2].to_string()
}

/// Replaces `from` in `text`, panicking if the shipped file lacks it.
fn replace_line(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "deploy/nginx/baton.conf no longer has `{from}`: update tests/src/nginx.rs"
    );
    text.replace(from, to)
}

/// A port on 127.0.0.1 free at the time of asking.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn quoted(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

impl Nginx {
    /// nginx on plain HTTP in front of `upstreams` (`http://127.0.0.1:PORT`
    /// or `127.0.0.1:PORT`, in this order), with the shipped upstream block
    /// and locations.
    pub fn start(upstreams: &[&str]) -> Nginx {
        let rendered = with_upstreams(&shipped("baton.conf"), upstreams);
        let upstream = upstream_block(&rendered);
        Self::launch(1, |_, ports| {
            format!(
                "{upstream}\n\nserver {{\n    listen 127.0.0.1:{};\n    \
                 include snippets/baton-locations.conf;\n}}\n",
                ports[0]
            )
        })
    }

    /// The whole shipped `baton.conf` in front of `upstreams`: its listen
    /// ports become free ports of 127.0.0.1 (IPv6 listens are dropped) and
    /// its certificate a self-signed one for 127.0.0.1. `base` is the plain
    /// HTTP server, `tls_base` the HTTPS one.
    pub fn start_shipped(upstreams: &[&str]) -> Nginx {
        let rendered = with_upstreams(&shipped("baton.conf"), upstreams);
        Self::launch(2, |dir, ports| {
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert.exists() {
                self_signed(&cert, &key);
            }
            let mut conf = rendered.clone();
            conf = replace_line(
                &conf,
                "listen 80;",
                &format!("listen 127.0.0.1:{};", ports[0]),
            );
            conf = replace_line(&conf, "listen [::]:80;", "");
            conf = replace_line(
                &conf,
                "listen 443 ssl http2;",
                &format!("listen 127.0.0.1:{} ssl http2;", ports[1]),
            );
            conf = replace_line(&conf, "listen [::]:443 ssl http2;", "");
            conf = replace_line(
                &conf,
                "/etc/ssl/baton/fullchain.pem",
                &cert.display().to_string(),
            );
            replace_line(
                &conf,
                "/etc/ssl/baton/privkey.pem",
                &key.display().to_string(),
            )
        })
    }

    /// Writes the config (the test's main context and `http` block around
    /// what `servers` renders for the chosen ports) and starts nginx; tries
    /// other ports if one was taken meanwhile.
    fn launch(ports_needed: usize, servers: impl Fn(&Path, &[u16]) -> String) -> Nginx {
        let bin = nginx_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let snippets = dir.path().join("snippets");
        std::fs::create_dir_all(&snippets).expect("snippets dir");
        std::fs::copy(
            deploy_dir().join("baton-locations.conf"),
            snippets.join("baton-locations.conf"),
        )
        .expect("copy deploy/nginx/baton-locations.conf");
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let ports: Vec<u16> = (0..ports_needed).map(|_| free_port()).collect();
            let conf = main_conf(dir.path(), &servers(dir.path(), &ports));
            let conf_path = dir.path().join("nginx.conf");
            let pid_file = dir.path().join("nginx.pid");
            let _ = std::fs::remove_file(&pid_file);
            let _ = std::fs::remove_file(dir.path().join("error.log"));
            std::fs::write(&conf_path, conf).expect("write nginx.conf");
            let out = std::fs::File::create(dir.path().join("nginx.out")).expect("nginx.out");
            let mut cmd = Command::new(&bin);
            let parent = std::process::id() as libc::pid_t;
            // SAFETY: prctl and getppid are async-signal-safe; nothing allocates.
            unsafe {
                cmd.pre_exec(move || {
                    // Fast shutdown when the spawning thread (the test's) ends
                    // without dropping the Nginx, e.g. when the test is killed.
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    if libc::getppid() != parent {
                        return Err(io::Error::other("the test process is gone"));
                    }
                    Ok(())
                });
            }
            let mut child = cmd
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::from(out.try_clone().expect("dup")))
                .stderr(Stdio::from(out))
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let exited = matches!(child.try_wait(), Ok(Some(_)));
                // The pid file is written once the ports are bound.
                if !exited
                    && pid_file.exists()
                    && ports
                        .iter()
                        .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
                {
                    let mut n = Nginx {
                        child: Some(child),
                        dir,
                        base: format!("http://127.0.0.1:{}", ports[0]),
                        tls_base: None,
                    };
                    if ports_needed > 1 {
                        n.tls_base = Some(format!("https://127.0.0.1:{}", ports[1]));
                    }
                    return n;
                }
                if exited {
                    break;
                }
                if Instant::now() > deadline {
                    kill_nginx(child);
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            last_log = read_logs(dir.path());
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("nginx did not start; its log:\n{last_log}");
    }

    /// A client like `c` (same token and HTTP client) that goes through nginx.
    pub fn client(&self, c: &Client) -> Client {
        Client {
            base: self.base.clone(),
            ..c.clone()
        }
    }

    /// The access log: one line per request, with every instance tried
    /// (`upstream="127.0.0.1:1, 127.0.0.1:2"`). `/healthz` is not logged.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// The error log and anything nginx printed, for assertion messages.
    pub fn log(&self) -> String {
        read_logs(self.dir.path())
    }

    /// Stops nginx (fast shutdown, SIGTERM) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            // SAFETY: kill has no memory effects; pid is our child's.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            kill_nginx(child);
        }
    }
}

/// SIGKILL for nginx's workers (found by their parent's pid), then its master.
fn kill_nginx(mut master: Child) {
    let _ = Command::new("pkill")
        .args(["-KILL", "-P", &master.id().to_string()])
        .status();
    let _ = master.kill();
    let _ = master.wait();
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The main context and `http` block of a test config around `servers`.
fn main_conf(dir: &Path, servers: &str) -> String {
    let user = if running_as_root() {
        "user root;\n"
    } else {
        ""
    };
    let d = |name: &str| quoted(&dir.join(name));
    format!(
        "{user}worker_processes 1;\n\
         daemon off;\n\
         master_process on;\n\
         pid {pid};\n\
         error_log {error} info;\n\
         events {{\n    worker_connections 1024;\n}}\n\
         http {{\n\
         log_format baton_test {LOG_FORMAT};\n\
         access_log {access} baton_test;\n\
         client_body_temp_path {body};\n\
         proxy_temp_path {proxy};\n\
         fastcgi_temp_path {fastcgi};\n\
         uwsgi_temp_path {uwsgi};\n\
         scgi_temp_path {scgi};\n\
         # What a site may set for its other traffic; the stream must stay\n\
         # unbuffered and uncompressed all the same.\n\
         gzip on;\n\
         gzip_min_length 1;\n\
         gzip_types text/event-stream application/json;\n\
         \n{servers}\n}}\n",
        pid = d("nginx.pid"),
        error = d("error.log"),
        access = d("access.log"),
        body = d("client_body_temp"),
        proxy = d("proxy_temp"),
        fastcgi = d("fastcgi_temp"),
        uwsgi = d("uwsgi_temp"),
        scgi = d("scgi_temp"),
    )
}

fn read_logs(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    format!(
        "--- error.log\n{}--- stdout/stderr\n{}",
        read("error.log"),
        read("nginx.out")
    )
}

/// A self-signed certificate and key for 127.0.0.1 and localhost.
fn self_signed(cert: &Path, key: &Path) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run openssl (scripts/setup installs it): {e}"));
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
