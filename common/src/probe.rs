//! `probe <url>`: GET a URL and exit 0 on a 2xx answer. Container health checks use it, as
//! the images have no curl or wget.

use std::process::ExitCode;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Fetches `url` (plain HTTP) within `timeout` and returns its status code.
pub async fn probe(url: &str, timeout: Duration) -> anyhow::Result<u16> {
    let uri: http::Uri = url
        .parse()
        .map_err(|err| anyhow::anyhow!("`{url}` is not a valid URL: {err}"))?;
    if uri.scheme_str() != Some("http") {
        anyhow::bail!("`{url}` must be an http:// URL");
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = tokio::time::timeout(timeout, client.get(uri))
        .await
        .map_err(|_| anyhow::anyhow!("no answer from {url} within {}s", timeout.as_secs()))?
        .map_err(|err| anyhow::anyhow!("request to {url} failed: {err}"))?;
    Ok(response.status().as_u16())
}

/// Runs the `probe` command for `program`: exit 0 on 2xx, 1 with one line on stderr otherwise.
pub async fn run(program: &str, url: &str, timeout: Duration) -> ExitCode {
    match probe(url, timeout).await {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("{program}: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("{program}: {err:#}");
            ExitCode::FAILURE
        }
    }
}
