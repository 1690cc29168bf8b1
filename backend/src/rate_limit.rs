//! Rate limits on login and registration, per client address and per email address.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http::request::Parts;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Above this many remembered keys, keys whose bucket is full again are dropped.
const PRUNE_ABOVE_KEYS: usize = 10_000;

/// Token buckets for authentication attempts. Each limit allows a burst of its per-minute
/// quota and refills evenly over the minute.
#[derive(Clone)]
pub struct AuthRateLimits {
    per_ip: Arc<Keyed<IpAddr>>,
    per_account: Arc<Keyed<String>>,
    clock: DefaultClock,
    trust_forwarded_for: bool,
}

impl std::fmt::Debug for AuthRateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRateLimits")
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .finish_non_exhaustive()
    }
}

impl AuthRateLimits {
    /// Builds the limiters from per-minute quotas (values of 0 are treated as 1).
    pub fn new(
        per_ip_per_minute: u32,
        per_account_per_minute: u32,
        trust_forwarded_for: bool,
    ) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            per_ip: Arc::new(RateLimiter::keyed(quota(per_ip_per_minute))),
            per_account: Arc::new(RateLimiter::keyed(quota(per_account_per_minute))),
            clock: DefaultClock::default(),
            trust_forwarded_for,
        }
    }

    /// Spends one attempt for this client and this email; on refusal returns how long to wait.
    pub fn check(&self, client: IpAddr, email: &str) -> Result<(), Duration> {
        self.prune();
        self.per_ip
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))?;
        self.per_account
            .check_key(&email.trim().to_lowercase())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn prune(&self) {
        if self.per_ip.len() > PRUNE_ABOVE_KEYS {
            self.per_ip.retain_recent();
        }
        if self.per_account.len() > PRUNE_ABOVE_KEYS {
            self.per_account.retain_recent();
        }
    }

    /// The client's address: the peer of the connection, or the last `X-Forwarded-For` entry
    /// when the service runs behind a proxy that is trusted to set it.
    ///
    /// Only the last entry counts, because only that one was written by the proxy; the ones
    /// before it come from the client. If the last entry is not an address (optionally with a
    /// port), the peer is used rather than an earlier, client-chosen entry.
    pub fn client_ip(&self, parts: &Parts) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            let last_entry = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.rsplit(',').next());
            if let Some(ip) = last_entry.and_then(parse_forwarded_entry) {
                return Some(ip);
            }
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
    }
}

/// An `X-Forwarded-For` entry: an IP address, or an address with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(forwarded: Option<&str>, peer: &str) -> Parts {
        let mut builder = http::Request::builder();
        if let Some(value) = forwarded {
            builder = builder.header("x-forwarded-for", value);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn the_per_account_limit_applies_whatever_the_letter_case() {
        let limits = AuthRateLimits::new(100, 2, false);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(limits.check(ip, "ann@example.com").is_ok());
        assert!(limits.check(ip, "ANN@example.com").is_ok());
        let wait = limits.check(ip, "Ann@Example.com").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(
            limits.check(ip, "bob@example.com").is_ok(),
            "other accounts are unaffected"
        );
    }

    #[test]
    fn the_per_ip_limit_applies_across_accounts() {
        let limits = AuthRateLimits::new(2, 100, false);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limits.check(ip, "a@example.com").is_ok());
        assert!(limits.check(ip, "b@example.com").is_ok());
        assert!(limits.check(ip, "c@example.com").is_err());
        assert!(
            limits
                .check("10.0.0.2".parse().unwrap(), "c@example.com")
                .is_ok()
        );
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let request = parts(Some("203.0.113.9, 198.51.100.7"), "10.1.1.1:5000");
        let untrusted = AuthRateLimits::new(1, 1, false);
        assert_eq!(
            untrusted.client_ip(&request),
            Some("10.1.1.1".parse().unwrap())
        );
        let trusted = AuthRateLimits::new(1, 1, true);
        assert_eq!(
            trusted.client_ip(&request),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(
            trusted.client_ip(&parts(Some("garbage"), "10.1.1.1:5000")),
            Some("10.1.1.1".parse().unwrap())
        );
    }

    #[test]
    fn an_unparsable_last_forwarded_entry_falls_back_to_the_peer_not_to_a_client_chosen_entry() {
        let trusted = AuthRateLimits::new(1, 1, true);
        let peer: IpAddr = "10.1.1.1".parse().unwrap();
        for header in [
            "203.0.113.9, garbage",
            "203.0.113.9, ",
            "203.0.113.9,unknown",
        ] {
            assert_eq!(
                trusted.client_ip(&parts(Some(header), "10.1.1.1:5000")),
                Some(peer),
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_forwarded_entry_with_a_port_counts_as_its_address() {
        let trusted = AuthRateLimits::new(1, 1, true);
        let cases = [
            ("203.0.113.9, 198.51.100.7:4711", "198.51.100.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("2001:db8::2", "2001:db8::2"),
        ];
        for (header, expected) in cases {
            assert_eq!(
                trusted.client_ip(&parts(Some(header), "10.1.1.1:5000")),
                Some(expected.parse().unwrap()),
                "{header:?}"
            );
        }
    }
}
