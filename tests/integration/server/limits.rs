//! What the server refuses, and how: bodies and heads too large, malformed requests, a
//! missing `Host`, connections beyond the cap; before stage 3, unknown paths and methods.

use super::*;

#[tokio::test]
async fn a_body_over_16_kib_is_refused_with_413() {
    let server = Reference::start(|_| {}).await;
    let reply = server
        .client
        .post(server.url("/"))
        .body(vec![b'x'; 16 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_malformed_request_gets_400_not_a_dropped_connection() {
    let server = Reference::start(|_| {}).await;
    let answer = server.raw(b"GARBAGE\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

/// A connection beyond the cap is answered 503 and closed at once, while the others are served.
#[tokio::test]
async fn a_connection_beyond_the_cap_is_refused_cleanly() {
    let server = Reference::start(|config| config.max_connections = 2).await;
    let _idle = [
        tokio::net::TcpStream::connect(server.config.addr)
            .await
            .unwrap(),
        tokio::net::TcpStream::connect(server.config.addr)
            .await
            .unwrap(),
    ];
    // The server takes the connections in order: give it a moment to hold the first two.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = server.raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
}

/// RFC 9112 §3.2: exactly one Host in HTTP/1.1; none is fine in HTTP/1.0.
#[rstest::rstest]
#[case::http11_without_host(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n".as_slice(), "400")]
#[case::http11_with_two(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n".as_slice(), "400")]
#[case::http10_without_host(b"GET / HTTP/1.0\r\n\r\n".as_slice(), "HTTP/1.0 ")]
#[case::http11_with_one(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".as_slice(), "HTTP/1.1 ")]
#[tokio::test]
async fn host_is_required_once_in_http11(#[case] request: &[u8], #[case] answer: &str) {
    let server = Reference::start(|_| {}).await;
    let reply = server.raw(request).await;
    let status_line = reply.lines().next().unwrap_or_default();
    assert!(status_line.contains(answer), "{status_line}");
    if answer != "400" {
        assert!(!status_line.contains("400"), "{status_line}");
    }
}

#[tokio::test]
async fn a_cookie_header_that_is_not_utf8_is_no_error() {
    let server = Reference::start(|_| {}).await;
    let answer = server
        .raw(b"GET / HTTP/1.1\r\nHost: x\r\nCookie: sid=\xff\xfe; \x80=\x81\r\nConnection: close\r\n\r\n")
        .await;
    let status: u16 = answer[9..12].parse().unwrap();
    assert!(status < 500, "{answer}");
}

#[tokio::test]
async fn an_oversized_request_head_is_refused_not_read_forever() {
    let server = Reference::start(|_| {}).await;
    // Just over 64 KiB, within what hyper's buffer lets through, and far over.
    for size in [64 * 1024, 80 * 1024, 128 * 1024] {
        let mut request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ".to_vec();
        request.extend(vec![b'a'; size]);
        request.extend(b"\r\n\r\n");
        let answer = server.raw(&request).await;
        assert!(
            answer.starts_with("HTTP/1.1 431"),
            "{size}: {}",
            &answer[..answer.len().min(80)]
        );
    }
    // A head just under the limit is served.
    let mut request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ".to_vec();
    request.extend(vec![b'a'; 60 * 1024]);
    request.extend(b"\r\n\r\n");
    let answer = server.raw(&request).await;
    assert!(
        !answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(80)]
    );
}

#[cfg(not(feature = "stage3"))]
#[tokio::test]
async fn before_login_exists_other_paths_are_404_and_other_methods_405() {
    let server = Reference::start(|_| {}).await;
    let missing = server.get("/nope").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let post = server.client.post(server.url("/")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}
