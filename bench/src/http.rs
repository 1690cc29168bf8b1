//! A minimal HTTP/1.1 client over `std::net`, loopback only: one request per connection
//! (`Connection: close`), read to the end under a deadline.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Where requests go: a loopback address and a path.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) host: String,
    pub(crate) path: String,
}

impl Target {
    /// Parses `http://<loopback host>:<port>/<path>`; anything that would leave the machine
    /// is refused.
    pub(crate) fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("{url}: only http:// URLs are supported"))?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let addr = host
            .to_socket_addrs()
            .with_context(|| format!("{url}: expected host:port"))?
            .next()
            .with_context(|| format!("{url}: the host has no address"))?;
        if !addr.ip().is_loopback() {
            bail!("{url}: only loopback addresses are allowed");
        }
        Ok(Self {
            addr,
            host: host.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// A request, serialised once and sent as often as needed.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    bytes: Vec<u8>,
}

impl Request {
    /// Builds `method path` with the given `Name: value` headers and an optional JSON body.
    pub(crate) fn new(
        method: &str,
        target: &Target,
        headers: &[String],
        body: Option<&str>,
    ) -> anyhow::Result<Self> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            bail!("method {method:?}: expected an upper-case HTTP method such as GET");
        }
        let mut text = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            target.path, target.host
        );
        for header in headers {
            let Some((name, value)) = header.split_once(':') else {
                bail!("header {header:?}: expected `Name: value`");
            };
            if name.trim().is_empty() || header.contains(['\r', '\n']) {
                bail!("header {header:?}: expected `Name: value` on one line");
            }
            text.push_str(&format!("{}: {}\r\n", name.trim(), value.trim()));
        }
        if let Some(body) = body {
            text.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            text.push_str("\r\n");
        }
        Ok(Self {
            bytes: text.into_bytes(),
        })
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) json: bool,
}

/// Why there is no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Nothing complete arrived before the deadline.
    TimedOut,
    /// The connection failed or the answer was not HTTP.
    Broken(String),
}

/// Opens a connection, giving up at `deadline`.
pub(crate) fn connect(target: &Target, deadline: Instant) -> Result<TcpStream, Failure> {
    let left = deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or(Failure::TimedOut)?;
    let stream = TcpStream::connect_timeout(&target.addr, left).map_err(|err| {
        if err.kind() == std::io::ErrorKind::TimedOut {
            Failure::TimedOut
        } else {
            Failure::Broken(format!("connect: {err}"))
        }
    })?;
    stream
        .set_nodelay(true)
        .map_err(|err| Failure::Broken(format!("nodelay: {err}")))?;
    Ok(stream)
}

/// Sends `request` on `stream` and reads the whole answer, giving up at `deadline`.
pub(crate) fn exchange(
    mut stream: TcpStream,
    request: &Request,
    deadline: Instant,
) -> Result<Response, Failure> {
    let broken = |what: &str, err: std::io::Error| match err.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Failure::TimedOut,
        _ => Failure::Broken(format!("{what}: {err}")),
    };
    stream
        .write_all(&request.bytes)
        .map_err(|err| broken("write", err))?;
    let mut received = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or(Failure::TimedOut)?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(|err| broken("timeout", err))?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(broken("read", err)),
        }
    }
    parse_response(&received).map_err(Failure::Broken)
}

/// Reads the status and whether the body is JSON (`Content-Type: application/json` and a
/// body that starts with `{`).
pub(crate) fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| "the answer has no complete header".to_owned())?;
    let head =
        std::str::from_utf8(&raw[..end]).map_err(|_| "the header is not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let json_type = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("content-type")
                && value.trim().starts_with("application/json")
        })
    });
    let body = &raw[end + 4..];
    let json_body = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    Ok(Response {
        status,
        json: json_type && json_body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_urls_are_accepted() {
        let target = Target::parse("http://127.0.0.1:8000/api/tasks?limit=100").unwrap();
        assert_eq!(target.path, "/api/tasks?limit=100");
        assert_eq!(target.addr.port(), 8000);
        assert_eq!(Target::parse("http://[::1]:9").unwrap().path, "/");
        assert!(Target::parse("https://127.0.0.1:8000/").is_err());
        assert!(Target::parse("http://192.0.2.1:80/").is_err());
    }

    #[test]
    fn requests_carry_headers_and_a_json_body() {
        let target = Target::parse("http://127.0.0.1:1/api/x").unwrap();
        let request = Request::new(
            "POST",
            &target,
            &["Authorization: Bearer t".to_owned()],
            Some("{}"),
        )
        .unwrap();
        let text = String::from_utf8(request.bytes).unwrap();
        assert!(text.starts_with("POST /api/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n"));
        assert!(text.contains("Authorization: Bearer t\r\n"));
        assert!(text.ends_with("Content-Length: 2\r\n\r\n{}"));
        assert!(Request::new("get", &target, &[], None).is_err());
        assert!(Request::new("GET", &target, &["broken".to_owned()], None).is_err());
    }

    #[test]
    fn responses_give_their_status_and_whether_they_are_json() {
        let ok = parse_response(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\r\n{\"error\":{}}").unwrap();
        assert_eq!(
            ok,
            Response {
                status: 503,
                json: true
            }
        );
        let html =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>").unwrap();
        assert_eq!(
            html,
            Response {
                status: 200,
                json: false
            }
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_response(b"garbage\r\n\r\n").is_err());
    }
}
