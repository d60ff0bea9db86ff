//! `matterlink serve --tls-cert --tls-key` terminates TLS itself (a certificate made at test
//! time, a client trusting only it), and `serve` and `sandbox` warn when they listen beyond
//! loopback without protection.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::{matterlink, Setup, BIN};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `cmd`, returns it with the first line it printed on stdout.
async fn first_line(cmd: &mut Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .expect("it starts")
        .unwrap()
        .expect("a line");
    (child, line)
}

/// Stops `child` and returns what it wrote on stderr.
async fn stderr_of(mut child: Child) -> String {
    child.start_kill().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    child.wait().await.unwrap();
    err
}

#[tokio::test]
async fn serve_terminates_tls_with_the_given_certificate() {
    let setup = Setup::new().await;
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();

    let mut cmd = matterlink(&setup.sandbox, setup.data.path());
    cmd.args(["serve", "--port", "0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key);
    let (child, line) = first_line(&mut cmd).await;
    let addr = line
        .split("https://")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("an https address in {line:?}"))
        .to_string();

    // A client that trusts this certificate and nothing else.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""status":"ok""#), "{answer}");

    // Plain HTTP on the TLS port gets no answer from the component.
    let mut plain = tokio::net::TcpStream::connect(&addr).await.unwrap();
    plain
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut got)).await;
    assert!(!String::from_utf8_lossy(&got).contains("200"));

    let err = stderr_of(child).await;
    assert!(!err.contains("warning"), "{err}");
}

#[tokio::test]
async fn serve_and_sandbox_warn_beyond_loopback() {
    let setup = Setup::new().await;
    let mut cmd = matterlink(&setup.sandbox, setup.data.path());
    cmd.args(["serve", "--port", "0", "--host", "0.0.0.0"]);
    let (child, _) = first_line(&mut cmd).await;
    let err = stderr_of(child).await;
    assert!(
        err.contains("warning: serving plain HTTP"),
        "serve beyond loopback: {err}"
    );

    let mut cmd = matterlink(&setup.sandbox, setup.data.path());
    cmd.args(["serve", "--port", "0"]);
    let (child, _) = first_line(&mut cmd).await;
    let err = stderr_of(child).await;
    assert!(!err.contains("warning"), "serve on loopback: {err}");

    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .args(["sandbox", "--port", "0", "--host", "0.0.0.0"]);
    let (child, _) = first_line(&mut cmd).await;
    let err = stderr_of(child).await;
    assert!(
        err.contains("warning: the sandbox listens on 0.0.0.0"),
        "sandbox beyond loopback: {err}"
    );
}
