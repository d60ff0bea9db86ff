//! `matterlink serve`'s HTTP path: the component's incoming-handler over real TCP.

use std::sync::Arc;

use matterlink_e2e::Env;

#[tokio::test]
async fn health_route_over_tcp() {
    let env = Env::start().await;
    let rt = Arc::new(env.runtime());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(matterlink_host::serve::serve(rt, listener, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{addr}/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["configured"], true);
    let missing = client
        .get(format!("http://{addr}/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "not-found");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(
        client
            .get(format!("http://{addr}/v1/health"))
            .send()
            .await
            .is_err(),
        "stopped serving"
    );
}
