//! The presigned-URL contract, exercised with a real HTTP client on every backend.

use std::time::Duration;

use chatflow_blobs::PresignedRequest;

/// Sends `body` to a presigned PUT with exactly the headers it asks for.
pub async fn upload(
    http: &reqwest::Client,
    presigned: &PresignedRequest,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = http.put(&presigned.url);
    for (name, value) in &presigned.headers {
        // reqwest derives Content-Length from the body itself.
        if name != "content-length" {
            request = request.header(name, value);
        }
    }
    request.body(body).send().await.unwrap()
}

/// The URL with one character of the signature changed.
pub fn tamper_signature(url: &str) -> String {
    let marker = ["X-Amz-Signature=", "sig="]
        .into_iter()
        .find_map(|m| url.find(m).map(|i| i + m.len()))
        .expect("a signature parameter");
    replace_char(url, marker)
}

/// The URL with one character of the key's last path segment changed.
pub fn tamper_key(url: &str) -> String {
    let path_end = url.find('?').unwrap_or(url.len());
    let segment_start = url[..path_end].rfind('/').unwrap() + 1;
    replace_char(url, segment_start + (path_end - segment_start) / 2)
}

fn replace_char(url: &str, at: usize) -> String {
    let old = url.as_bytes()[at];
    let new = if old == b'a' { 'b' } else { 'a' };
    format!("{}{new}{}", &url[..at], &url[at + 1..])
}

/// Polls `url` until it stops answering 2xx; returns that answer's status.
pub async fn status_once_expired(http: &reqwest::Client, url: &str) -> reqwest::StatusCode {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let status = http.get(url).send().await.unwrap().status();
        if !status.is_success() || tokio::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Instantiates every presigned-URL test for one backend.
#[macro_export]
macro_rules! presigned_suite {
    ($fixture:path) => {
        use chatflow_blobs::PresignConstraints;
        use reqwest::StatusCode;
        use std::time::Duration;
        use $crate::presigned::{status_once_expired, tamper_key, tamper_signature, upload};

        const MINUTE: Duration = Duration::from_secs(60);

        fn constraints(content_type: &str, length: usize) -> PresignConstraints {
            PresignConstraints {
                content_type: Some(content_type.to_owned()),
                content_length: Some(length as u64),
            }
        }

        #[tokio::test]
        async fn presigned_put_then_get_round_trips() {
            let fx = $fixture().await;
            let body = b"uploaded by a client".to_vec();
            let put = fx
                .store
                .presign_put(
                    "up/photo 1.jpg",
                    MINUTE,
                    constraints("image/jpeg", body.len()),
                )
                .await
                .unwrap();
            assert_eq!(put.method, http::Method::PUT);
            assert_eq!(
                put.headers.get("content-type").map(String::as_str),
                Some("image/jpeg")
            );
            let response = upload(&fx.http, &put, body.clone()).await;
            assert!(
                response.status().is_success(),
                "{}",
                response.text().await.unwrap()
            );

            let stored = fx.store.get("up/photo 1.jpg", None).await.unwrap();
            assert_eq!(
                (stored.bytes.to_vec(), stored.content_type.as_str()),
                (body.clone(), "image/jpeg")
            );

            let get = fx
                .store
                .presign_get("up/photo 1.jpg", MINUTE)
                .await
                .unwrap();
            assert_eq!(get.method, http::Method::GET);
            let response = fx.http.get(&get.url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["content-type"], "image/jpeg");
            assert_eq!(response.bytes().await.unwrap().to_vec(), body);

            let ranged = fx
                .http
                .get(&get.url)
                .header("range", "bytes=0-7")
                .send()
                .await
                .unwrap();
            assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
            assert_eq!(&ranged.bytes().await.unwrap()[..], b"uploaded");
        }

        #[tokio::test]
        async fn an_unconstrained_presigned_put_accepts_any_body() {
            let fx = $fixture().await;
            let put = fx
                .store
                .presign_put("free", MINUTE, PresignConstraints::default())
                .await
                .unwrap();
            let response = upload(&fx.http, &put, vec![7; 4096]).await;
            assert!(
                response.status().is_success(),
                "{}",
                response.text().await.unwrap()
            );
            assert_eq!(fx.store.head("free").await.unwrap().unwrap().size, 4096);
        }

        #[tokio::test]
        async fn presigned_get_of_a_missing_key_is_404() {
            let fx = $fixture().await;
            let get = fx.store.presign_get("not/there", MINUTE).await.unwrap();
            let status = fx.http.get(&get.url).send().await.unwrap().status();
            assert_eq!(status, StatusCode::NOT_FOUND);
        }

        #[tokio::test]
        async fn tampered_presigned_urls_are_rejected() {
            let fx = $fixture().await;
            fx.store
                .put(
                    "secret/doc.txt",
                    bytes::Bytes::from_static(b"private"),
                    Default::default(),
                )
                .await
                .unwrap();
            fx.store
                .put(
                    "secret/doc.txb",
                    bytes::Bytes::from_static(b"other"),
                    Default::default(),
                )
                .await
                .unwrap();
            let get = fx
                .store
                .presign_get("secret/doc.txt", MINUTE)
                .await
                .unwrap();
            assert_eq!(
                fx.http.get(&get.url).send().await.unwrap().status(),
                StatusCode::OK
            );
            for forged in [tamper_signature(&get.url), tamper_key(&get.url)] {
                let response = fx.http.get(&forged).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{forged}");
            }

            let put = fx
                .store
                .presign_put("secret/doc.txt", MINUTE, PresignConstraints::default())
                .await
                .unwrap();
            for forged in [tamper_signature(&put.url), tamper_key(&put.url)] {
                let response = fx
                    .http
                    .put(&forged)
                    .body("overwritten")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{forged}");
            }
            assert_eq!(
                &fx.store.get("secret/doc.txt", None).await.unwrap().bytes[..],
                b"private"
            );
        }

        #[tokio::test]
        async fn expired_presigned_urls_are_rejected() {
            let fx = $fixture().await;
            fx.store
                .put(
                    "brief",
                    bytes::Bytes::from_static(b"soon gone"),
                    Default::default(),
                )
                .await
                .unwrap();
            let get = fx
                .store
                .presign_get("brief", Duration::from_secs(1))
                .await
                .unwrap();
            assert_eq!(
                status_once_expired(&fx.http, &get.url).await,
                StatusCode::FORBIDDEN
            );

            let put = fx
                .store
                .presign_put(
                    "brief",
                    Duration::from_secs(1),
                    PresignConstraints::default(),
                )
                .await
                .unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            let status = loop {
                let status = fx
                    .http
                    .put(&put.url)
                    .body("late")
                    .send()
                    .await
                    .unwrap()
                    .status();
                if status == StatusCode::FORBIDDEN || tokio::time::Instant::now() > deadline {
                    break status;
                }
                fx.store
                    .put(
                        "brief",
                        bytes::Bytes::from_static(b"soon gone"),
                        Default::default(),
                    )
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(
                &fx.store.get("brief", None).await.unwrap().bytes[..],
                b"soon gone"
            );
        }

        #[tokio::test]
        async fn presigned_puts_enforce_method_type_and_length() {
            let fx = $fixture().await;
            let put = fx
                .store
                .presign_put("strict.png", MINUTE, constraints("image/png", 4))
                .await
                .unwrap();

            let wrong_type = fx
                .http
                .put(&put.url)
                .header("content-type", "text/html")
                .body("abcd")
                .send()
                .await
                .unwrap();
            assert!(
                wrong_type.status().is_client_error(),
                "{}",
                wrong_type.status()
            );
            let too_long = fx
                .http
                .put(&put.url)
                .header("content-type", "image/png")
                .body("abcdefgh")
                .send()
                .await
                .unwrap();
            assert!(too_long.status().is_client_error(), "{}", too_long.status());
            let as_get = fx.http.get(&put.url).send().await.unwrap();
            assert!(as_get.status().is_client_error(), "{}", as_get.status());
            assert_eq!(
                fx.store.head("strict.png").await.unwrap(),
                None,
                "nothing was written"
            );

            let get = fx.store.presign_get("strict.png", MINUTE).await.unwrap();
            let as_put = fx
                .http
                .put(&get.url)
                .header("content-type", "image/png")
                .body("abcd")
                .send()
                .await
                .unwrap();
            assert!(as_put.status().is_client_error(), "{}", as_put.status());
            assert_eq!(
                fx.store.head("strict.png").await.unwrap(),
                None,
                "nothing was written"
            );

            let ok = upload(&fx.http, &put, b"abcd".to_vec()).await;
            assert!(ok.status().is_success(), "{}", ok.status());
        }

        #[tokio::test]
        async fn presign_rejects_expiries_out_of_bounds() {
            let fx = $fixture().await;
            for expires_in in [
                Duration::from_millis(500),
                Duration::from_secs(8 * 24 * 3600),
            ] {
                let err = fx.store.presign_get("k", expires_in).await.unwrap_err();
                assert_eq!(
                    chatflow_errors::HasKind::kind(&err),
                    chatflow_errors::ErrorKind::InvalidArgument
                );
            }
        }
    };
}
