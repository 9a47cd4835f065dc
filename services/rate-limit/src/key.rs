//! Subject extractors for [`crate::RateLimitLayer`]: who a request counts against.
//!
//! Each returns a closure `Fn(&http::Request<B>) -> Option<String>` for any
//! body type, so the same extractor works on axum routers and tonic services.
//! `None` means "this layer does not limit the request" (for example an
//! anonymous request on a per-user limit; pair it with a per-IP layer).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::Request;
use tonic::transport::server::TcpConnectInfo;

/// The peer's IP address, from axum's `ConnectInfo<SocketAddr>` (set by
/// `chatflow_runtime::serve::serve_http`) or tonic's `TcpConnectInfo`.
///
/// IPv6 peers are grouped by their /64 network, which one host or household
/// usually owns whole: rotating addresses inside it does not escape the limit.
/// A server that records neither (plain `axum::serve` without connect info)
/// yields `None`, so nothing is limited: serve with `serve_http`.
pub fn by_ip<B>() -> impl Fn(&Request<B>) -> Option<String> + Clone + Send + Sync + 'static {
    |request: &Request<B>| peer_ip(request).map(ip_subject)
}

/// The client address a trusted proxy (such as the AWS ALB) appended as the
/// last `X-Forwarded-For` entry, else the peer's; grouped like [`by_ip`].
///
/// Only behind exactly one trusted proxy: without one, clients write the header.
pub fn by_forwarded_ip<B>() -> impl Fn(&Request<B>) -> Option<String> + Clone + Send + Sync + 'static
{
    |request: &Request<B>| {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back();
        forwarded.or_else(|| peer_ip(request)).map(ip_subject)
    }
}

/// The value of header (or gRPC metadata) `name`, when present and visible ASCII.
pub fn by_header<B>(
    name: &'static str,
) -> impl Fn(&Request<B>) -> Option<String> + Clone + Send + Sync + 'static {
    move |request: &Request<B>| {
        let value = request.headers().get(name)?.to_str().ok()?.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }
}

/// A subject read from a request extension that an earlier layer inserted,
/// such as the authenticated user: `key::by_extension(|u: &AuthenticatedUser| u.user_id.to_string())`.
pub fn by_extension<T, B, F>(
    subject: F,
) -> impl Fn(&Request<B>) -> Option<String> + Clone + Send + Sync + 'static
where
    T: Send + Sync + 'static,
    F: Fn(&T) -> String + Clone + Send + Sync + 'static,
{
    move |request: &Request<B>| request.extensions().get::<T>().map(&subject)
}

fn peer_ip<B>(request: &Request<B>) -> Option<IpAddr> {
    let extensions = request.extensions();
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .or_else(|| {
            extensions
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr)
                .map(|addr| addr.ip())
        })
}

/// IPv4 as is; IPv4-mapped IPv6 as IPv4; other IPv6 as its /64 network.
fn ip_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request<()> {
        Request::new(())
    }

    #[test]
    fn ips_are_grouped_sensibly() {
        assert_eq!(ip_subject("10.1.2.3".parse().unwrap()), "10.1.2.3");
        assert_eq!(ip_subject("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.3");
        assert_eq!(
            ip_subject("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn extractors_read_their_source() {
        let mut req = request();
        assert_eq!(by_ip()(&req), None);
        req.extensions_mut()
            .insert(ConnectInfo::<SocketAddr>("192.0.2.7:5000".parse().unwrap()));
        assert_eq!(by_ip()(&req).as_deref(), Some("192.0.2.7"));
        req.headers_mut()
            .insert("x-forwarded-for", "6.6.6.6, 198.51.100.9".parse().unwrap());
        assert_eq!(by_forwarded_ip()(&req).as_deref(), Some("198.51.100.9"));
        req.headers_mut().insert("x-user", " u-1 ".parse().unwrap());
        assert_eq!(by_header("x-user")(&req).as_deref(), Some("u-1"));
        assert_eq!(by_header("x-other")(&req), None);
        #[derive(Clone)]
        struct User(u64);
        req.extensions_mut().insert(User(42));
        assert_eq!(
            by_extension(|u: &User| u.0.to_string())(&req).as_deref(),
            Some("42")
        );
    }
}
