//! The cluster registry through the API: registration from kubeconfigs and from parts, the
//! connectivity probe, encryption at rest, validation, pagination, roles, deletion.

use base64::Engine;
use palisade::domain::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};
use crate::tls_fixture::{make_ca, spawn_version_server};

fn kubeconfig(server: &str, ca_pem: Option<&str>, user: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let ca = ca_pem.map(|c| format!("\n    certificate-authority-data: {}", b64(c))).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}{ca}\n\
         users:\n- name: u\n  user:\n{user}\ncontexts:\n- name: prod\n  context: {{cluster: c, user: u}}\n\
         - name: staging\n  context: {{cluster: c, user: u}}\ncurrent-context: prod\n"
    )
}

const TOKEN_USER: &str = "    token: sa-token-very-secret-123";

#[tokio::test]
async fn an_editor_registers_a_cluster_from_a_kubeconfig_and_sees_it_reachable() {
    let app = spawn_app().await;
    let server = spawn_version_server(&["127.0.0.1"]).await;
    let editor = app.client_with_role(Role::Editor).await;
    let resp = editor
        .post(app.url("/api/v1/clusters"))
        .json(&json!({
            "name": "prod-eu-1",
            "labels": {"environment": "prod", "owner": "platform", "region": "eu-west-1"},
            "group": "payments",
            "credentials": {"kubeconfig": kubeconfig(&server.url, Some(&server.ca_pem), TOKEN_USER), "context": "staging"}
        }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    let cluster: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(cluster["last_reachable"], true, "{cluster}");
    assert_eq!(cluster["last_server_version"], "v1.33.1");
    assert_eq!(cluster["auth_kind"], "token");
    assert_eq!(cluster["labels"]["environment"], "prod");
    assert_eq!(cluster["group"], "payments");
    assert!(!text.contains("sa-token-very-secret-123"), "credentials must never be returned");

    // The credentials column holds ciphertext only; the store decrypts them for collectors.
    let id: Uuid = cluster["id"].as_str().unwrap().parse().unwrap();
    let (sealed, key_id): (Vec<u8>, String) =
        sqlx::query_as("SELECT credentials, credentials_key_id FROM clusters WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let needle = b"sa-token-very-secret-123";
    assert!(!sealed.windows(needle.len()).any(|w| w == needle));
    assert!(!sealed.windows(11).any(|w| w == b"-----BEGIN "));
    assert_eq!(key_id.len(), 16);
    let creds = app.state.cluster_credentials(id).await.unwrap();
    assert_eq!(creds.server, server.url);
    assert!(
        matches!(creds.auth, palisade::collect::client::ClusterAuth::Token { ref token } if token == "sa-token-very-secret-123")
    );

    let audit: Value = app
        .admin
        .get(app.url("/api/v1/audit?action=cluster.register"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"][0]["target"], "prod-eu-1");
    assert!(!audit.to_string().contains("sa-token-very-secret-123"));
}

#[tokio::test]
async fn a_cluster_with_an_untrusted_certificate_reports_the_tls_error_in_words() {
    let app = spawn_app().await;
    let server = spawn_version_server(&["127.0.0.1"]).await;
    let (other_ca, _) = make_ca("some-other-ca");
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": "untrusted", "credentials": {"server": server.url, "ca_pem": other_ca.pem(), "token": "t"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let cluster: Value = resp.json().await.unwrap();
    assert_eq!(cluster["last_reachable"], false);
    let error = cluster["last_error"].as_str().unwrap();
    assert!(error.contains("not signed by a CA Palisade trusts"), "{error}");

    // A certificate for another host name is explained as such.
    let wrong_name = spawn_version_server(&["api.example.internal"]).await;
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": "wrong-name", "credentials": {"server": wrong_name.url, "ca_pem": wrong_name.ca_pem, "token": "t"}}))
        .send()
        .await
        .unwrap();
    let cluster: Value = resp.json().await.unwrap();
    let error = cluster["last_error"].as_str().unwrap();
    assert!(error.contains("not valid for the host name"), "{error}");

    // Fixing the CA and checking again turns it green.
    let id = cluster["id"].as_str().unwrap();
    let resp = app
        .admin
        .put(app.url(&format!("/api/v1/clusters/{id}/credentials")))
        .json(&json!({"server": wrong_name.url, "ca_pem": wrong_name.ca_pem, "token": "t", "tls_server_name": "api.example.internal"}))
        .send()
        .await
        .unwrap();
    let cluster: Value = resp.json().await.unwrap();
    assert_eq!(cluster["last_reachable"], true, "{cluster}");
}

#[tokio::test]
async fn an_unreachable_cluster_is_registered_with_the_reason() {
    let app = spawn_app().await;
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": "down", "credentials": {"server": "https://127.0.0.1:1", "token": "t"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let cluster: Value = resp.json().await.unwrap();
    assert_eq!(cluster["last_reachable"], false);
    assert!(cluster["last_error"].as_str().unwrap().contains("refused"), "{cluster}");
    let id = cluster["id"].as_str().unwrap();
    let again: Value = app
        .admin
        .post(app.url(&format!("/api/v1/clusters/{id}/connectivity")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["last_reachable"], false);
}

#[tokio::test]
async fn exec_kubeconfigs_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let exec_user = "    exec:\n      command: aws\n      apiVersion: client.authentication.k8s.io/v1beta1";
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": "eks", "credentials": {"kubeconfig": kubeconfig("https://x.example:443", None, exec_user)}}))
        .send()
        .await
        .unwrap();
    let detail = assert_problem(resp, 400).await;
    assert!(detail.contains("never runs programs"), "{detail}");
    let provider = "    auth-provider:\n      name: gcp";
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": "gke", "credentials": {"kubeconfig": kubeconfig("https://x.example:443", None, provider)}}))
        .send()
        .await
        .unwrap();
    assert!(assert_problem(resp, 400).await.contains("auth-provider"));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn bad_registrations_get_messages_a_person_understands() {
    let app = spawn_app().await;
    let post = |body: Value| app.admin.post(app.url("/api/v1/clusters")).json(&body).send();
    let creds = json!({"server": "https://127.0.0.1:1", "token": "t"});
    let cases = [
        (json!({"name": "Bad_Name", "credentials": creds}), "invalid cluster name"),
        (json!({"name": "ok", "labels": {"Bad Key": "x"}, "credentials": creds}), "invalid label key"),
        (
            json!({"name": "ok", "credentials": {"kubeconfig": kubeconfig("https://x:1", None, TOKEN_USER), "context": "dev"}}),
            "no context named `dev` (available: prod, staging)",
        ),
        (json!({"name": "ok", "credentials": {"kubeconfig": ": not yaml ["}}), "not valid YAML"),
        (json!({"name": "ok", "credentials": {"server": "http://plain:80", "token": "t"}}), "must use https"),
        (
            json!({"name": "ok", "credentials": {"server": "https://x:1", "ca_pem": "garbage", "token": "t"}}),
            "CA bundle",
        ),
        (json!({"name": "ok", "credentials": {}}), "kubeconfig"),
        (json!({"name": "ok", "credentails": creds}), "unknown field"),
    ];
    for (body, expected) in cases {
        let resp = post(body.clone()).await.unwrap();
        let detail = assert_problem(resp, 400).await;
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 0);

    app.register_cluster("taken", json!({})).await;
    let resp =
        post(json!({"name": "taken", "check_connectivity": false, "credentials": creds})).await.unwrap();
    assert!(assert_problem(resp, 409).await.contains("already registered"));
}

#[tokio::test]
async fn bodies_over_the_configured_limit_are_refused() {
    let app = spawn_app_with(|s| s.server.body_limit_bytes = 4096).await;
    let big = "x".repeat(10_000);
    let resp = app
        .admin
        .post(app.url("/api/v1/clusters"))
        .json(&json!({"name": "big", "credentials": {"kubeconfig": big}}))
        .send()
        .await
        .unwrap();
    let detail = assert_problem(resp, 413).await;
    assert!(detail.contains("4096 bytes"), "{detail}");
}

#[tokio::test]
async fn a_viewer_cannot_register_change_or_delete_a_cluster() {
    let app = spawn_app().await;
    let cluster = app.register_cluster("fixed", json!({"environment": "prod"})).await;
    let id = cluster["id"].as_str().unwrap();
    let viewer = app.client_with_role(Role::Viewer).await;
    let creds = json!({"server": "https://127.0.0.1:1", "token": "t"});
    let attempts = [
        viewer.post(app.url("/api/v1/clusters")).json(&json!({"name": "new", "credentials": creds})),
        viewer.patch(app.url(&format!("/api/v1/clusters/{id}"))).json(&json!({"enabled": false})),
        viewer.delete(app.url(&format!("/api/v1/clusters/{id}"))),
        viewer.post(app.url(&format!("/api/v1/clusters/{id}/connectivity"))),
        viewer.put(app.url(&format!("/api/v1/clusters/{id}/credentials"))).json(&creds),
        viewer
            .post(app.url("/api/v1/users"))
            .json(&json!({"username": "x", "password": "long-enough-pass", "role": "admin"})),
    ];
    for req in attempts {
        let resp = req.send().await.unwrap();
        assert_problem(resp, 403).await;
    }
    let after: Value =
        viewer.get(app.url(&format!("/api/v1/clusters/{id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(after["enabled"], true);
    assert_eq!(after["updated_at"], cluster["updated_at"]);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn the_cluster_list_is_paginated_and_filterable() {
    let app = spawn_app().await;
    for i in 0..7 {
        let env = if i % 2 == 0 { "prod" } else { "dev" };
        app.register_cluster(&format!("c{i}"), json!({"environment": env})).await;
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = app.url("/api/v1/clusters?limit=3");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app.admin.get(url).send().await.unwrap().json().await.unwrap();
        names.extend(
            page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
    let prod: Value = app
        .admin
        .get(app.url("/api/v1/clusters?label=environment=prod"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let prod: Vec<&str> =
        prod["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(prod, ["c0", "c2", "c4", "c6"]);
    let q: Value = app.admin.get(app.url("/api/v1/clusters?q=5")).send().await.unwrap().json().await.unwrap();
    assert_eq!(q["items"].as_array().unwrap().len(), 1);
    for bad in ["limit=0", "limit=501", "cursor=%%%", "label=novalue", "enabled=maybe"] {
        let resp = app.admin.get(app.url(&format!("/api/v1/clusters?{bad}"))).send().await.unwrap();
        assert_problem(resp, 400).await;
    }
}

#[tokio::test]
async fn an_editor_relabels_disables_and_deletes_a_cluster_keeping_history_unless_asked() {
    let app = spawn_app().await;
    let editor = app.client_with_role(Role::Editor).await;
    let c = app.register_cluster("edit-me", json!({"environment": "dev"})).await;
    let id = c["id"].as_str().unwrap();
    let resp = editor
        .patch(app.url(&format!("/api/v1/clusters/{id}")))
        .json(&json!({"labels": {"environment": "prod"}, "group": "core", "enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let c: Value = resp.json().await.unwrap();
    assert_eq!(c["labels"]["environment"], "prod");
    assert_eq!(c["group"], "core");
    assert_eq!(c["enabled"], false);
    let c: Value = editor
        .patch(app.url(&format!("/api/v1/clusters/{id}")))
        .json(&json!({"group": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(c["group"].is_null());

    // The nodes' SSH port: set, out of range refused, back to the server's default with null.
    let patch = |body: Value| {
        let (editor, url) = (editor.clone(), app.url(&format!("/api/v1/clusters/{id}")));
        async move { editor.patch(url).json(&body).send().await.unwrap() }
    };
    let c: Value = patch(json!({"ssh_port": 2222})).await.json().await.unwrap();
    assert_eq!(c["ssh_port"], 2222);
    assert_eq!(c["labels"]["environment"], "prod", "other fields stay");
    let refused = patch(json!({"ssh_port": 70000})).await;
    assert_eq!(refused.status(), 400);
    let c: Value = patch(json!({"ssh_port": null})).await.json().await.unwrap();
    assert!(c["ssh_port"].is_null(), "{c}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'cluster.update' AND detail ? 'ssh_port'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);

    // Deleting without purge keeps the row (history stays readable) and frees the name.
    assert_eq!(editor.delete(app.url(&format!("/api/v1/clusters/{id}"))).send().await.unwrap().status(), 204);
    assert_eq!(editor.get(app.url(&format!("/api/v1/clusters/{id}"))).send().await.unwrap().status(), 404);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters WHERE deleted_at IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    let again = app.register_cluster("edit-me", json!({})).await;
    let again_id = again["id"].as_str().unwrap();
    let resp = editor
        .delete(app.url(&format!("/api/v1/clusters/{again_id}?purge_history=true")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let gone: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters WHERE id = $1::uuid")
        .bind(again_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(gone, 0);
    let audit: Value = app
        .admin
        .get(app.url("/api/v1/audit?action=cluster.delete"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
}
