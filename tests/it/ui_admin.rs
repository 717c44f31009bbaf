//! The admin pages over HTTP with a logged-in session: users, API tokens, the cluster registry
//! (kubeconfig upload or paste, labels, schedule, check) and the audit log. Viewers (and, outside
//! the registry, editors) get 403; forms without the session's CSRF token change nothing.

use base64::Engine;
use palisade::domain::Role;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{multipart_form, spawn_app, TestApp, ADMIN_PASSWORD};

pub(crate) async fn session(app: &TestApp, role: Role) -> (reqwest::Client, String) {
    if role == Role::Admin {
        return app.login("admin", ADMIN_PASSWORD).await;
    }
    let user = app.create_user(role).await;
    app.login(&user.username, &user.password).await
}

pub(crate) async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let resp = client.get(app.url(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

pub(crate) async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let resp = client.post(app.url(path)).form(form).send().await.unwrap();
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(resp.text().await.unwrap()))
}

fn kubeconfig(server: &crate::tls_fixture::VersionServer) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(&server.ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\n\
         users:\n- name: u\n  user:\n    token: page-token\ncontexts:\n- name: ctx\n  context: {{cluster: c, user: u}}\ncurrent-context: ctx\n",
        server.url
    )
}

#[tokio::test]
async fn a_viewer_gets_403_on_every_admin_page_and_an_editor_only_reaches_the_registry() {
    let app = spawn_app().await;
    let (viewer, _) = session(&app, Role::Viewer).await;
    for path in ["/admin/users", "/admin/tokens", "/admin/clusters", "/admin/audit"] {
        let (status, page) = get(&viewer, &app, path).await;
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("Forbidden"), "{path}: {page}");
    }
    let (_, fleet) = get(&viewer, &app, "/").await;
    assert!(!fleet.contains("href=\"/admin/users\""), "the nav hides Admin from a viewer");

    let (editor, csrf) = session(&app, Role::Editor).await;
    assert_eq!(get(&editor, &app, "/admin/clusters").await.0, 200);
    for path in ["/admin/users", "/admin/tokens", "/admin/audit"] {
        assert_eq!(get(&editor, &app, path).await.0, 403, "{path}");
    }
    let (status, _) = post(
        &editor,
        &app,
        "/admin/users",
        &[
            ("csrf_token", &csrf),
            ("username", "mallory"),
            ("password", "long-enough-pass"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE username = 'mallory'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // A viewer with a valid token still may not change a cluster.
    let c = app.register_cluster("prod-eu", json!({})).await["id"].as_str().unwrap().to_string();
    let (viewer, vcsrf) = session(&app, Role::Viewer).await;
    let (status, _) =
        post(&viewer, &app, &format!("/admin/clusters/{c}/delete"), &[("csrf_token", &vcsrf)]).await;
    assert_eq!(status, 403);
    assert_eq!(app.admin.get(app.url(&format!("/api/v1/clusters/{c}"))).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_admin_adds_a_user_changes_their_role_and_disables_them() {
    let app = spawn_app().await;
    let (admin, csrf) = session(&app, Role::Admin).await;
    let (status, _) = post(
        &admin,
        &app,
        "/admin/users",
        &[("username", "carol"), ("password", "a-long-password"), ("role", "viewer")],
    )
    .await;
    assert_eq!(status, 403, "no CSRF token, no user");
    let (status, page) = post(
        &admin,
        &app,
        "/admin/users",
        &[("csrf_token", &csrf), ("username", "carol"), ("password", "short"), ("role", "viewer")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("12"), "the API's password rule: {page}");
    let (status, location) = post(
        &admin,
        &app,
        "/admin/users",
        &[("csrf_token", &csrf), ("username", "carol"), ("password", "a-long-password"), ("role", "viewer")],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/admin/users?notice=created"));
    let (_, page) = get(&admin, &app, "/admin/users").await;
    assert!(page.contains("carol"));
    let carol: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE username = 'carol'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let (status, _) =
        post(&admin, &app, &format!("/admin/users/{carol}"), &[("csrf_token", &csrf), ("role", "editor")])
            .await;
    assert_eq!(status, 303);
    let (status, _) =
        post(&admin, &app, &format!("/admin/users/{carol}"), &[("csrf_token", &csrf), ("disabled", "true")])
            .await;
    assert_eq!(status, 303);
    let (role, disabled): (String, bool) = sqlx::query_as("SELECT role, disabled FROM users WHERE id = $1")
        .bind(carol)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((role.as_str(), disabled), ("editor", true));

    // The last enabled admin cannot be demoted, as in the API.
    let (status, page) = post(
        &admin,
        &app,
        &format!("/admin/users/{}", app.admin_id),
        &[("csrf_token", &csrf), ("role", "viewer")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(page.contains("last enabled admin"), "{page}");

    let (_, audit) = get(&admin, &app, "/admin/audit?action=user.update").await;
    assert!(audit.contains("carol"), "{audit}");
    let (_, audit) = get(&admin, &app, "/admin/audit?action=no.such").await;
    assert!(audit.contains("No entry with action"), "{audit}");
}

#[tokio::test]
async fn an_admin_creates_a_token_sees_its_secret_once_and_revokes_it() {
    let app = spawn_app().await;
    let (admin, csrf) = session(&app, Role::Admin).await;
    let resp = admin
        .post(app.url("/admin/tokens"))
        .form(&[("csrf_token", csrf.as_str()), ("name", "siem"), ("role", "viewer"), ("expires_days", "30")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let page = resp.text().await.unwrap();
    let start =
        page.find("id=\"token-secret\">").expect("the secret is shown") + "id=\"token-secret\">".len();
    let secret = &page[start..start + page[start..].find('<').unwrap()];
    assert!(secret.starts_with("pal_"), "{secret}");
    let bearer = crate::helpers::bearer_client(secret);
    assert_eq!(bearer.get(app.url("/api/v1/clusters")).send().await.unwrap().status(), 200);

    let (_, list) = get(&admin, &app, "/admin/tokens").await;
    assert!(list.contains("siem"));
    assert!(!list.contains(secret), "the secret is never shown again");
    let id: Uuid = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'siem'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (status, _) =
        post(&admin, &app, &format!("/admin/tokens/{id}/revoke"), &[("csrf_token", "stale")]).await;
    assert_eq!(status, 403);
    let (status, _) =
        post(&admin, &app, &format!("/admin/tokens/{id}/revoke"), &[("csrf_token", &csrf)]).await;
    assert_eq!(status, 303);
    assert_eq!(bearer.get(app.url("/api/v1/clusters")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn an_editor_registers_clusters_from_an_uploaded_and_a_pasted_kubeconfig_and_edits_them() {
    let app = spawn_app().await;
    let server = crate::tls_fixture::spawn_version_server(&["127.0.0.1"]).await;
    let (editor, csrf) = session(&app, Role::Editor).await;
    let yaml = kubeconfig(&server);

    let (ct, body) = multipart_form(&[
        ("csrf_token", &csrf),
        ("name", "uploaded"),
        ("labels", "env=prod"),
        ("kubeconfig_file", &yaml),
        ("kubeconfig", ""),
    ]);
    let resp =
        editor.post(app.url("/admin/clusters")).header("content-type", ct).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let (ct, body) = multipart_form(&[("csrf_token", &csrf), ("name", "pasted"), ("kubeconfig", &yaml)]);
    let resp =
        editor.post(app.url("/admin/clusters")).header("content-type", ct).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let (ct, body) = multipart_form(&[
        ("csrf_token", &csrf),
        ("name", "both"),
        ("kubeconfig_file", &yaml),
        ("kubeconfig", &yaml),
    ]);
    let resp =
        editor.post(app.url("/admin/clusters")).header("content-type", ct).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("not both"));
    let exec = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:6443'}\nusers:\n- name: u\n  user:\n    exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
    let (ct, body) = multipart_form(&[("csrf_token", &csrf), ("name", "plugin"), ("kubeconfig", exec)]);
    let resp =
        editor.post(app.url("/admin/clusters")).header("content-type", ct).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 400, "the API's credential rules refuse exec plugins");

    let (status, page) = get(&editor, &app, "/admin/clusters").await;
    assert_eq!(status, 200);
    assert!(page.contains("uploaded") && page.contains("pasted") && page.contains("env=prod"), "{page}");
    assert!(page.contains("v1.33.1"), "registered and checked: {page}");
    let refused: i64 = sqlx::query_scalar("SELECT count(*) FROM clusters WHERE name IN ('plugin', 'both')")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(refused, 0);

    // Push mode from the same form: no kubeconfig, and the settings page says what comes next.
    let (ct, body) =
        multipart_form(&[("csrf_token", &csrf), ("mode", "push"), ("name", "edge"), ("kubeconfig", &yaml)]);
    let resp =
        editor.post(app.url("/admin/clusters")).header("content-type", ct).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("push-mode cluster has no kubeconfig"));
    let (ct, body) = multipart_form(&[("csrf_token", &csrf), ("mode", "push"), ("name", "edge")]);
    let resp =
        editor.post(app.url("/admin/clusters")).header("content-type", ct).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let to = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?notice=registered-push"), "{to}");
    let (status, page) = get(&editor, &app, &to).await;
    assert!(
        status == 200 && page.contains("registered in push mode") && page.contains("cluster-agent.yaml"),
        "{page}"
    );
    assert!(!page.contains("Check connectivity"), "nothing to check: the server never dials it");

    let id: Uuid = sqlx::query_scalar("SELECT id FROM clusters WHERE name = 'uploaded'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (status, _) = post(
        &editor,
        &app,
        &format!("/admin/clusters/{id}/labels"),
        &[("csrf_token", &csrf), ("labels", "env=staging, team=pay"), ("group", "payments")],
    )
    .await;
    assert_eq!(status, 303);
    let (status, page) = post(
        &editor,
        &app,
        &format!("/admin/clusters/{id}/schedule"),
        &[("csrf_token", &csrf), ("cron", "not a cron")],
    )
    .await;
    assert_eq!(status, 400, "{page}");
    let (status, _) = post(
        &editor,
        &app,
        &format!("/admin/clusters/{id}/schedule"),
        &[("csrf_token", &csrf), ("interval_seconds", "900")],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) =
        post(&editor, &app, &format!("/admin/clusters/{id}/check"), &[("csrf_token", &csrf)]).await;
    assert_eq!(status, 303);
    let (_, page) = get(&editor, &app, &format!("/admin/clusters/{id}")).await;
    assert!(
        page.contains("env=staging, team=pay")
            && page.contains("value=\"payments\"")
            && page.contains("value=\"900\""),
        "{page}"
    );
    let schedule: serde_json::Value = app
        .admin
        .get(app.url(&format!("/api/v1/clusters/{id}/schedule")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(schedule["interval_seconds"], 900);

    // The old registry address sends people to the admin area.
    let resp = editor.get(app.url("/clusters")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/admin/clusters");
}
